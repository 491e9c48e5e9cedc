// The API members that check, time and train configs: the wizard's estimate and warmup,
// and starting, stopping, resuming and extending runs.
import type { ApiService, RunSummary, TrainConfigDraft } from '../api/contract';
import { apiError } from '../api/errors';
import type { GpuLimits } from '../memory/device';
import { IMPORTED_TAG } from '../handoff/trainer-state';
import type { Run } from '../store/index';
import { newRunId } from '../store/runs';
import { listCheckpoints } from '../train/checkpoint';
import { resolveTrainConfig, type TrainConfig } from '../train/config';
import { checkConfig, estimateConfigMemory } from './memory-estimate';
import { runFolder } from './run-folders';
import type { AppServiceContext } from './service-context';
import { draftToConfig } from './train-draft';
import type { TrainingManager } from './training-manager';

export type TrainingMethods = Pick<ApiService, 'estimateMemory' | 'checkRun' | 'measureWarmup' | 'startRun' | 'stopRun' | 'resumeRun' | 'extendRun'>;

/** A stored run, as the run list shows it. */
export function runSummary(ctx: AppServiceContext, training: TrainingManager, run: Run): RunSummary {
  return { ...run, lastMetrics: ctx.store.lastMetricValues(run.id), live: training.live(run.id) };
}

export function requireRun(ctx: AppServiceContext, runId: string): Run {
  const run = ctx.store.getRun(runId);
  if (!run) throw apiError({ message: `no run with id "${runId}"`, field: 'runId' });
  return run;
}

/** A stored run's config, which the CLI may have written: read as strictly as a new one. */
function storedConfig(run: Run): TrainConfig {
  return resolveTrainConfig(run.config, `run ${run.id}'s stored config`);
}

/** `trainingGpu`: the GPU the run will train on, or undefined where it trains on the CPU. */
export function createTrainingMethods(ctx: AppServiceContext, training: TrainingManager, trainingGpu: () => Promise<GpuLimits | undefined>): TrainingMethods {
  // Estimates and warmups need a config but write nowhere that lasts.
  const checkDraft = (draft: TrainConfigDraft) => draftToConfig(draft, runFolder(ctx.home, 'draft'), ctx.modelDir);

  /** Trains the stored run again with `config` (its own, or with more epochs). */
  const restart = (run: Run, config: TrainConfig): RunSummary => {
    if (training.isTraining(run.id) || run.status === 'running') throw apiError({ message: `run "${run.name}" is already training`, field: 'runId' });
    // A run stopped before its first step has no checkpoint; it starts over in the same row.
    const resume = listCheckpoints(config.output_dir).length > 0;
    const running = ctx.store.resumeRun(run.id, config);
    training.start(run.id, config, resume);
    return runSummary(ctx, training, running);
  };

  return {
    estimateMemory: async ({ config }) => estimateConfigMemory(checkDraft(config), { gpu: await trainingGpu() }),

    checkRun: async ({ config }) => checkConfig(checkDraft(config)),

    measureWarmup: async ({ config }) => training.warmup(checkDraft(config)),

    startRun: async ({ name, config: draft }) => {
      if (!name.trim()) throw apiError({ message: 'give the run a name', field: 'name' });
      const id = newRunId();
      const config = draftToConfig(draft, runFolder(ctx.home, id), ctx.modelDir);
      // The wizard checked before enabling Start; a CLI-made or stale draft is checked again here.
      const refusal = checkConfig(config).issues.find((issue) => issue.severity === 'error');
      if (refusal) throw apiError({ message: refusal.message, field: `config.${refusal.field}` });
      const run = ctx.store.createRun({ id, name: name.trim(), method: config.method, config, model: { source: draft.model }, outputDir: config.output_dir, status: 'running' });
      training.start(id, config, false);
      return runSummary(ctx, training, run);
    },

    stopRun: async ({ runId }) => training.stop(requireRun(ctx, runId).id),

    resumeRun: async ({ runId }) => {
      const run = requireRun(ctx, runId);
      if (run.status === 'completed') throw apiError({ message: `run "${run.name}" has finished; extend it to train more`, field: 'runId' });
      return restart(run, storedConfig(run));
    },

    extendRun: async ({ runId, extraEpochs }) => {
      const run = requireRun(ctx, runId);
      if (run.status !== 'completed') throw apiError({ message: `run "${run.name}" is ${run.status}; only a finished run can be extended (resume it instead)`, field: 'runId' });
      if (!(extraEpochs > 0)) throw apiError({ message: `extra epochs must be more than 0; got ${extraEpochs}`, field: 'extraEpochs' });
      if (run.tags.includes(IMPORTED_TAG)) {
        throw apiError({ message: `run "${run.name}" was trained by Hugging Face Trainer, whose checkpoints Tunesmith does not resume; hand it off again to train more`, field: 'runId' });
      }
      const config = storedConfig(run);
      if (config.max_steps > 0) {
        throw apiError({ message: `run "${run.name}" was limited to ${config.max_steps} steps (max_steps), not epochs; start a new run to train longer`, field: 'extraEpochs' });
      }
      if (listCheckpoints(config.output_dir).length === 0) {
        throw apiError({ message: `run "${run.name}" has no checkpoint to continue from (it was trained with save_steps 0)`, field: 'runId' });
      }
      return restart(run, { ...config, num_train_epochs: config.num_train_epochs + extraEpochs });
    },
  };
}
