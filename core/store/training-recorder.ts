// Writes a training run into the experiment store from the trainer's events, so the
// trainer itself never touches SQLite and trains the same with or without a store.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { TrainConfig } from '../train/config';
import type { TrainEvent } from '../train/events';
import { TOKENS_METRIC } from './compare';
import type { MetricsWriter } from './metrics';
import type { RunResult } from './runs';
import type { ExperimentStore } from './store';

/** Identifies the dataset's content, so runs on an edited file do not share its row. */
function fileHash(file: string): string {
  const hash = createHash('sha256');
  const buf = Buffer.alloc(1 << 20);
  const fd = fs.openSync(file, 'r');
  try {
    for (let n; (n = fs.readSync(fd, buf)) > 0; ) hash.update(buf.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
  return hash.digest('hex');
}

export class TrainingRecorder {
  private readonly metrics: MetricsWriter;

  private constructor(
    private readonly store: ExperimentStore,
    private readonly config: TrainConfig,
    readonly runId: string,
    // A resumed run repeats the steps between its checkpoint and where it was stopped; those
    // were stored by the earlier process and are kept as they are. Steps count from 1.
    private readonly metricsThrough = 0,
    private readonly samplesThrough = 0,
  ) {
    this.metrics = store.metricsWriter(runId);
  }

  /** A new running run, with the id `id` if one was chosen before. */
  static begin(store: ExperimentStore, config: TrainConfig, id?: string): TrainingRecorder {
    const run = store.createRun({
      id,
      name: path.basename(config.output_dir),
      method: config.method,
      config,
      model: { source: config.model },
      outputDir: config.output_dir,
      status: 'running',
    });
    return new TrainingRecorder(store, config, run.id);
  }

  /**
   * Records into an existing run (one the app created before starting its worker, or one
   * being resumed), which becomes running in this process with `config`.
   */
  static attach(store: ExperimentStore, config: TrainConfig, runId: string): TrainingRecorder {
    store.resumeRun(runId, config);
    return new TrainingRecorder(store, config, runId, store.lastMetricStep(runId) ?? 0, store.lastSampleStep(runId) ?? 0);
  }

  /** The trainer's event sink. Metrics are committed a logging step at a time, and at every checkpoint. */
  readonly record = (e: TrainEvent): void => {
    switch (e.event) {
      case 'start': {
        const file = this.config.data.train;
        const stats = { train: e.train, validation: e.validation };
        this.store.recordRunStart(this.runId, {
          backend: e.backend,
          dataset: { path: file, format: e.data_format, contentHash: fileHash(file), stats },
          estimatedPeakBytes: e.estimated_peak_bytes,
        });
        break;
      }
      case 'step':
        if (e.step > this.metricsThrough) {
          this.metrics.log(e.step, { loss: e.loss, grad_norm: e.grad_norm, learning_rate: e.learning_rate, tokens_per_second: e.tokens_per_second, [TOKENS_METRIC]: e.tokens_seen }, e.epoch);
        }
        break;
      case 'eval':
        if (e.step > this.metricsThrough) this.metrics.log(e.step, { eval_loss: e.eval_loss, perplexity: e.perplexity }, e.epoch);
        break;
      case 'sample':
        if (e.step > this.samplesThrough) this.store.recordSample(this.runId, { step: e.step, prompt: e.prompt, output: e.output });
        break;
      case 'checkpoint':
        this.metrics.flush();
        this.store.recordCheckpoint(this.runId, { step: e.step, path: e.path, evalLoss: e.eval_loss ?? undefined, isBest: e.is_best });
        break;
      case 'done': {
        const finalMetrics: Record<string, number> = { train_loss: e.train_loss, steps: e.step, seconds: e.seconds, stopped_early: Number(e.stopped_early) };
        if (e.eval_loss !== null) Object.assign(finalMetrics, { eval_loss: e.eval_loss, perplexity: Math.exp(e.eval_loss) });
        if (e.best_step !== null) finalMetrics.best_step = e.best_step;
        if (e.last_loss !== null) finalMetrics.last_loss = e.last_loss;
        finalMetrics.result_step = e.result_step;
        this.end({
          status: 'completed',
          finalMetrics,
          measuredPeakBytes: e.measured_peak_bytes,
          measuredTensorPeakBytes: e.measured_tensor_peak_bytes,
          estimatedPeakBytes: e.estimated_peak_bytes ?? undefined,
        });
        break;
      }
    }
  };

  /** Commits the metrics still buffered, then the run's end. */
  end(result: RunResult): void {
    this.metrics.flush();
    this.store.finishRun(this.runId, result);
  }
}
