// Runs recorded into a real store, for the runs screens' tests: what the stub host answers is
// what core's store gives for them, so the screens are tested against the shapes they will get.
import path from 'node:path';
import type { LiveProgress, RunDetail, RunSummary } from '../core/api/contract';
import { openStore, type ExperimentStore } from '../core/store';
import type { RunStatus } from '../core/store/types';
import type { TrainEvent } from '../core/train/events';

export interface RunSpec {
  name: string;
  model: string;
  method: 'lora' | 'full';
  learningRate: number;
  /** Steps already logged. */
  steps: number;
  /** Where the loss levels off; runs differ by it. */
  floor: number;
  status: Exclude<RunStatus, 'queued'>;
  evalEvery?: number;
  tokensPerStep?: number;
  samplePrompts?: string[];
  tags?: string[];
  estimatedPeakBytes?: number;
  measuredPeakBytes?: number;
}

/** A training-shaped loss: falls fast, then levels off at `floor`, with a little deterministic wobble. */
export function lossAt(step: number, floor: number): number {
  return floor + 2.2 * Math.exp(-step / 18) + 0.04 * Math.sin(step * 1.7);
}

export function stepEvent(step: number, floor: number, tokensPerSecond = 1500): Extract<TrainEvent, { event: 'step' }> {
  return { event: 'step', step, epoch: step / 40, loss: lossAt(step, floor), grad_norm: 1 + 0.5 * Math.cos(step / 5), learning_rate: 2e-4 * Math.min(1, step / 10), tokens_per_second: tokensPerSecond, tokens_seen: 512 * step };
}

export function openTestStore(dir: string): ExperimentStore {
  return openStore(path.join(dir, 'tunesmith.db'));
}

/** Records a run as the training recorder would have: config, metrics per step, evals, samples, checkpoints, end. */
export function recordRun(store: ExperimentStore, spec: RunSpec): string {
  const config = {
    model: spec.model,
    method: spec.method,
    learning_rate: spec.learningRate,
    num_train_epochs: 3,
    lora: { r: spec.method === 'lora' ? 8 : 0, alpha: 16 },
    data: { train: '/data/alpaca-train.json', max_length: 256, template: 'alpaca' },
    sample_prompts: spec.samplePrompts ?? [],
  };
  const outputDir = `/runs/${spec.name}`;
  const run = store.createRun({ name: spec.name, method: spec.method, config, model: { source: spec.model }, outputDir, status: 'running', estimatedPeakBytes: spec.estimatedPeakBytes });
  const metrics = store.metricsWriter(run.id);
  const evalEvery = spec.evalEvery ?? 10;
  for (let step = 1; step <= spec.steps; step++) {
    const e = stepEvent(step, spec.floor);
    const values: Record<string, number> = { loss: e.loss, grad_norm: e.grad_norm, learning_rate: e.learning_rate, tokens_per_second: e.tokens_per_second };
    if (spec.tokensPerStep) values.tokens_seen = step * spec.tokensPerStep;
    if (step % evalEvery === 0) values.eval_loss = lossAt(step, spec.floor) + 0.15;
    metrics.log(step, values, e.epoch);
    if (step % evalEvery === 0) {
      for (const prompt of spec.samplePrompts ?? []) store.recordSample(run.id, { step, prompt, output: `${spec.name} at step ${step} answers: ${prompt.toLowerCase()}` });
      store.recordCheckpoint(run.id, { step, path: `${outputDir}/checkpoint-${step}`, evalLoss: values.eval_loss });
    }
  }
  metrics.flush();
  for (const tag of spec.tags ?? []) store.tagRun(run.id, tag);
  if (spec.status !== 'running') {
    const last = store.lastMetricValues(run.id);
    store.finishRun(run.id, {
      status: spec.status === 'interrupted' ? 'stopped' : spec.status,
      finalMetrics: spec.status === 'completed' ? { train_loss: last.loss, eval_loss: lossAt(spec.steps, spec.floor) + 0.15, steps: spec.steps, seconds: spec.steps * 2 } : undefined,
      measuredPeakBytes: spec.measuredPeakBytes,
      error: spec.status === 'failed' ? 'Out of memory while allocating the optimizer state\nError: OOM at step 12\n  at train (trainer.ts:210)' : undefined,
    });
    if (spec.status === 'interrupted') store.setRunStatus(run.id, 'interrupted');
  }
  return run.id;
}

export function summaryOf(store: ExperimentStore, id: string, live: LiveProgress | null = null): RunSummary {
  return { ...store.getRun(id)!, lastMetrics: store.lastMetricValues(id), live };
}

export function detailOf(store: ExperimentStore, id: string, extra: Partial<RunDetail> = {}): RunDetail {
  return {
    run: store.getRun(id)!,
    curves: store.runCurves(id),
    samples: store.listSamples(id),
    checkpoints: store.listCheckpoints(id),
    log: [],
    live: null,
    exports: [],
    ...extra,
  };
}
