// The API members over recorded runs: listing, the run page, comparison, tags, deletion
// and export.
import type { ApiService, RunDetail } from '../api/contract';
import { apiError } from '../api/errors';
import { ggufSizeEstimates } from '../export/gguf/size';
import { checkExport, ExportRefusal, exportKinds, exportRun, ggufSource } from '../train/export-run';
import { readRunLog } from './run-log';
import { folderToCreate } from './request-checks';
import type { AppServiceContext } from './service-context';
import type { TrainingManager } from './training-manager';
import { requireRun, runSummary } from './training-methods';

export type RunMethods = Pick<ApiService, 'listRuns' | 'getRun' | 'compareRuns' | 'tagRun' | 'untagRun' | 'runFiles' | 'deleteRun' | 'exportRun'>;

/** The run page shows the log's end; a long run's whole log would be megabytes. */
export const LOG_LINES = 1000;

const EXPORT_FIELDS: Record<ExportRefusal['about'], string> = { run: 'runId', kind: 'kind', destination: 'destination' };

export function createRunMethods(ctx: AppServiceContext, training: TrainingManager): RunMethods {
  const notTraining = (runId: string, doing: string) => {
    if (training.isTraining(runId)) throw apiError({ message: `run "${runId}" is training; stop it before ${doing} it`, field: 'runId' });
  };

  return {
    // A run another process trains (the CLI) may have died since the app opened the store: decided the same way as there.
    listRuns: async () => {
      ctx.store.markInterruptedRuns();
      return ctx.store.listRuns().map((run) => runSummary(ctx, training, run));
    },

    getRun: async ({ runId }): Promise<RunDetail> => {
      ctx.store.markInterruptedRuns();
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
        ...(finished ? ggufSizesOf(run.outputDir!) : {}),
      };
    },

    compareRuns: async ({ runIds }) => ctx.store.compareRuns(runIds),

    tagRun: async ({ runId, tag }) => ctx.store.tagRun(requireRun(ctx, runId).id, tag),

    untagRun: async ({ runId, tag }) => {
      ctx.store.untagRun(requireRun(ctx, runId).id, tag);
    },

    runFiles: async ({ runId }) => ctx.store.runFilesToDelete(requireRun(ctx, runId).id),

    deleteRun: async ({ runId, removeFiles }) => {
      notTraining(requireRun(ctx, runId).id, 'deleting');
      ctx.store.deleteRun(runId, { removeFiles });
    },

    exportRun: async ({ runId, kind, destination, quant }) => {
      const run = requireRun(ctx, runId);
      notTraining(runId, 'exporting');
      if (!run.outputDir) throw apiError({ message: `run "${run.name}" has no output folder; there is nothing to export`, field: 'runId' });
      const out = folderToCreate(destination, 'destination');
      try {
        checkExport(run.outputDir, kind, out);
        // Folding an adapter into its base model or quantizing takes minutes for a big one; the copies do not.
        await (kind === 'merged' || kind === 'gguf' ? training.exportInWorker(run.outputDir, kind, out, quant) : exportRun(run.outputDir, kind, out));
      } catch (err) {
        if (err instanceof ExportRefusal) throw apiError({ message: err.message, field: EXPORT_FIELDS[err.about] });
        throw err;
      }
      return { path: out };
    },
  };
}

/** Sizes for the export panel; a run whose base model folder is gone shows none, and its export says why. */
function ggufSizesOf(runDir: string): Pick<RunDetail, 'ggufSizes'> {
  try {
    return { ggufSizes: ggufSizeEstimates(ggufSource(runDir).modelDir) };
  } catch {
    return {};
  }
}
