// Stopping a run through its AbortSignal (the app's Stop button) saves a checkpoint where it
// stopped, so a resume continues from that step exactly as if it had never stopped.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { listCheckpoints } from '../core/train/checkpoint';
import { resolveTrainConfig } from '../core/train/config';
import type { TrainEvent } from '../core/train/events';
import { runTraining } from '../core/train/trainer';
import { fixture, REFERENCE, tempDir, writeTokenized, type ReferenceBatch } from './helpers';

function config(dir: string, out: string) {
  const { batch } = (REFERENCE['bloom-tiny'] as unknown as { full_finetune: { batch: ReferenceBatch } }).full_finetune;
  return resolveTrainConfig({
    model: fixture('bloom-tiny'),
    output_dir: path.join(dir, out),
    method: 'full',
    data: { train: writeTokenized(path.join(dir, 'train.jsonl'), batch), format: 'tokenized' },
    per_device_train_batch_size: 2,
    max_steps: 7,
    learning_rate: 1e-3,
    dropout: 0.1,
    logging_steps: 1,
    save_steps: 5,
    seed: 11,
  });
}

const losses = (events: TrainEvent[]) => new Map(events.flatMap((e) => (e.event === 'step' ? [[e.step, e.loss]] : [])));

test('a stopped run checkpoints the step it stopped at; resuming from it repeats the uninterrupted run', async (t) => {
  const dir = tempDir(t);
  const whole: TrainEvent[] = [];
  await runTraining(config(dir, 'whole'), (e) => whole.push(e));

  const cfg = config(dir, 'stopped');
  const stop = new AbortController();
  const first: TrainEvent[] = [];
  const reason = new Error('stop pressed');
  const emit = (e: TrainEvent) => {
    first.push(e);
    if (e.event === 'step' && e.step === 3) stop.abort(reason);
  };
  await assert.rejects(runTraining(cfg, emit, { signal: stop.signal }), (err) => err === reason);
  assert.deepEqual(listCheckpoints(cfg.output_dir).map((c) => c.step), [3], 'saved at the stop, before save_steps came round');
  const saved = first.filter((e) => e.event === 'checkpoint');
  assert.deepEqual(saved.map((e) => e.step), [3], 'the checkpoint is reported, so a store records it');

  const resumed: TrainEvent[] = [];
  await runTraining(cfg, (e) => resumed.push(e), { resumeFrom: cfg.output_dir });
  const start = resumed[0];
  assert.ok(start.event === 'start' && start.resumed_from === path.join(cfg.output_dir, 'checkpoint-3'));
  const want = losses(whole);
  const got = losses(resumed);
  assert.deepEqual([...got.keys()], [4, 5, 6, 7]);
  for (const [step, loss] of got) assert.ok(Math.abs(loss - want.get(step)!) < 1e-6, `step ${step}: ${loss} vs ${want.get(step)}`);
});

test('a stop right after resuming writes no second checkpoint of the same step', async (t) => {
  const dir = tempDir(t);
  const cfg = config(dir, 'run');
  const stop = new AbortController();
  await assert.rejects(runTraining(cfg, (e) => e.event === 'step' && e.step === 2 && stop.abort(), { signal: stop.signal }));
  const again = new AbortController();
  again.abort();
  const events: TrainEvent[] = [];
  await assert.rejects(runTraining(cfg, (e) => events.push(e), { resumeFrom: cfg.output_dir, signal: again.signal }));
  assert.deepEqual(events.map((e) => e.event), ['start']);
  assert.deepEqual(listCheckpoints(cfg.output_dir).map((c) => c.step), [2]);
});
