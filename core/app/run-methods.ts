// The API members over recorded runs: listing, the run page, comparison, tags, deletion
// and export.
import type { ApiService, RunDetail } from '../api/contract';
import { apiError } from '../api/errors';
import { exportKinds, exportRun } from '../train/export-run';
import { readRunLog } from './run-log';
import { newOrEmptyFolder } from './request-checks';
import type { AppServiceContext } from './service-context';
import type { TrainingManager } from './training-manager';
import { requireRun, runSummary } from './training-methods';

export type RunMethods = Pick<ApiService, 'listRuns' | 'getRun' | 'compareRuns' | 'tagRun' | 'untagRun' | 'deleteRun' | 'exportRun'>;

/** The run page shows the log's end; a long run's whole log would be megabytes. */
export const LOG_LINES = 1000;

export function createRunMethods(ctx: AppServiceContext, training: TrainingManager): RunMethods {
  const notTraining = (runId: string, doing: string) => {
    if (training.isTraining(runId)) throw apiError({ message: `run "${runId}" is training; stop it before ${doing} it`, field: 'runId' });
  };

  return {
    listRuns: async () => ctx.store.listRuns().map((run) => runSummary(ctx, training, run)),

    getRun: async ({ runId }): Promise<RunDetail> => {
      const run = requireRun(ctx, runId);
      const finished = run.status === 'completed' && run.outputDir !== null;
      return {
        run,
        curves: ctx.store.runCurves(runId),
        samples: ctx.store.listSamples(runId),
        checkpoints: ctx.store.listCheckpoints(runId),
        log: run.outputDir ? readRunLog(run.outputDir, LOG_LINES) : [],
        live: training.live(runId),
        exports: finished ? exportKinds(run.outputDir!) : [],
      };
    },

    compareRuns: async ({ runIds }) => ctx.store.compareRuns(runIds),

    tagRun: async ({ runId, tag }) => ctx.store.tagRun(requireRun(ctx, runId).id, tag),

    untagRun: async ({ runId, tag }) => {
      ctx.store.untagRun(requireRun(ctx, runId).id, tag);
    },

    deleteRun: async ({ runId, removeFiles }) => {
      notTraining(requireRun(ctx, runId).id, 'deleting');
      ctx.store.deleteRun(runId, { removeFiles });
    },

    exportRun: async ({ runId, kind, destination }) => {
      const run = requireRun(ctx, runId);
      notTraining(runId, 'exporting');
      const out = newOrEmptyFolder(destination, 'destination');
      const kinds = run.outputDir ? exportKinds(run.outputDir) : [];
      if (kinds.length === 0) throw apiError({ message: `run "${run.name}" has not finished; there is nothing to export yet`, field: 'runId' });
      if (!kinds.includes(kind)) throw apiError({ message: `run "${run.name}" exports as ${kinds.join(' or ')}, not ${kind}`, field: 'kind' });
      await exportRun(run.outputDir!, kind, out);
      return { path: out };
    },
  };
}
