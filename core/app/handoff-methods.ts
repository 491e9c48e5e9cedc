// The API members that take a run to Hugging Face Trainer on a bigger machine and bring
// its result back. The engine work runs in a worker (TrainingManager.runTask).
import fs from 'node:fs';
import path from 'node:path';
import type { ApiService, HandoffJob } from '../api/contract';
import { apiError } from '../api/errors';
import { resolveTrainConfig } from '../train/config';
import { newRunId } from '../store/runs';
import { existingFolder, folderToCreate } from './request-checks';
import { runFolder } from './run-folders';
import type { AppServiceContext } from './service-context';
import { draftToConfig } from './train-draft';
import type { TrainingManager } from './training-manager';
import { requireRun, runSummary } from './training-methods';

export type HandoffMethods = Pick<ApiService, 'handOffRun' | 'importRun'>;

export function createHandoffMethods(ctx: AppServiceContext, training: TrainingManager): HandoffMethods {
  return {
    handOffRun: async ({ from, destination }): Promise<HandoffJob> => {
      const out = folderToCreate(destination, 'destination');
      if (fs.existsSync(out) && fs.readdirSync(out).length > 0) throw apiError({ message: `${out}: not empty; choose a new folder for the job`, field: 'destination' });
      const run = from.kind === 'run' ? requireRun(ctx, from.runId) : null;
      const config =
        from.kind === 'run'
          ? resolveTrainConfig(run!.config, `run ${from.runId}'s stored config`)
          : // A draft's job names the folder its run would train into; only its name shows.
            draftToConfig(from.config, runFolder(ctx.home, newRunId()), ctx.modelDir);
      const name = (from.kind === 'run' ? run!.name : from.name.trim()) || 'run';
      await training.runTask({ type: 'start', mode: 'handoff', config, out, runId: run?.id ?? null, name }, 'handoff');
      const job = JSON.parse(fs.readFileSync(path.join(out, 'job.json'), 'utf8')) as { data: { total_steps: number }; notes: string[] };
      return { path: out, totalSteps: job.data.total_steps, notes: job.notes };
    },

    importRun: async ({ folder }) => {
      const outputDir = existingFolder(folder, 'folder');
      const storeFile = ctx.store.file;
      await training.runTask({ type: 'start', mode: 'import', outputDir, storeFile }, 'import');
      const run = ctx.store.findRunByOutputDir(outputDir);
      if (!run) throw apiError({ message: `${outputDir}: the import recorded no run`, field: 'folder' });
      return runSummary(ctx, training, run);
    },
  };
}
