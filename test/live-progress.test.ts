// The run page's live progress: step, epoch, speed and an ETA from this process's pace.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { advanceProgress, loadingProgress } from '../core/train/live-progress';
import { progressPrinter } from '../core/cli/train-command';
import { formatDuration } from '../core/units';
import type { TrainEvent } from '../core/train/events';

const start = (total: number): TrainEvent => ({
  event: 'start',
  backend: 'cpu',
  resumed_from: '/run/checkpoint-10',
  method: 'lora',
  total_steps: total,
  trainable_parameters: 1,
  data_format: 'alpaca',
  train: { examples: 1, tokens: 1, label_tokens: 1, truncated: 0, skipped: 0 },
  validation: null,
  estimated_peak_bytes: 2 ** 30,
});
const step = (n: number, epoch: number): TrainEvent => ({ event: 'step', step: n, epoch, loss: 1, grad_norm: 1, learning_rate: 1, tokens_per_second: 250, tokens_seen: 64 * n });

test('a resumed run: the ETA extrapolates the steps this process took, not the ones before the checkpoint', () => {
  const loading = loadingProgress();
  assert.equal(loading.live.etaSeconds, null);
  const started = advanceProgress(loading, start(50), 1_000, 10);
  assert.deepEqual(started.live, { step: 10, totalSteps: 50, epoch: 0, tokensPerSecond: 0, etaSeconds: null });
  // 4 steps in 6 s (from the start event at 1 s to 7 s): 1.5 s each, 36 to go.
  const later = advanceProgress(started, step(14, 1.4), 7_000);
  assert.deepEqual(later.live, { step: 14, totalSteps: 50, epoch: 1.4, tokensPerSecond: 250, etaSeconds: (6 / 4) * 36 });
  const done = advanceProgress(later, step(50, 5), 61_000);
  assert.equal(done.live.etaSeconds, 0);
  assert.equal(advanceProgress(done, { event: 'eval', step: 50, epoch: 5, eval_loss: 1, perplexity: Math.E }, 62_000), done, 'other events change nothing');
});

test("the CLI's progress bar: a resumed run's ETA comes from this process's pace too", () => {
  const lines: string[] = [];
  let written = '';
  const clock = [1_000, 7_000];
  const show = progressPrinter((s) => (written = s), (line) => lines.push(line), 10, () => clock.shift()!);
  show(start(50));
  show(step(14, 1.4));
  assert.equal(lines.length, 1, 'the start event has a line of its own');
  assert.ok(written.endsWith(`14/50 loss 1.0000 250.0 tok/s ETA ${formatDuration((6 / 4) * 36)}`), written);
});
