// Checkpoints, exact resume, extension, save_total_limit, atomic writes, early stopping
// and samples, through `tunesmith train` on bloom-tiny (its small vocabulary keeps it fast).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { SafetensorsFile } from '../core/checkpoint/safetensors';
import { resolveCheckpoint } from '../core/train/checkpoint';
import { fixture, REFERENCE, tempDir, trainEvents, writeTokenized, type ReferenceBatch } from './helpers';

function setup(dir: string): string {
  const { batch } = (REFERENCE['bloom-tiny'] as unknown as { full_finetune: { batch: ReferenceBatch } }).full_finetune;
  return writeTokenized(path.join(dir, 'train.jsonl'), batch);
}

function config(dir: string, data: string, out: string, extra: Record<string, unknown> = {}): string {
  const file = path.join(dir, `${path.basename(out)}.json`);
  fs.writeFileSync(file, JSON.stringify({
    model: fixture('bloom-tiny'),
    output_dir: out,
    method: 'full',
    data: { train: data, format: 'tokenized' },
    per_device_train_batch_size: 2,
    num_train_epochs: 3,
    learning_rate: 1e-3,
    dropout: 0.1,
    logging_steps: 1,
    save_steps: 2,
    seed: 7,
    ...extra,
  }));
  return file;
}

const losses = (events: { event: string; step: number; loss: number }[]) =>
  Object.fromEntries(events.filter((e) => e.event === 'step').map((e) => [e.step, e.loss]));

function readAll(file: string): Map<string, Float32Array> {
  const f = new SafetensorsFile(file);
  const out = new Map(f.list().map((t) => [t.name, f.read(t.name)]));
  f.close();
  return out;
}

test('a resumed run repeats the uninterrupted run step for step, and --resume extends a finished run', (t) => {
  const dir = tempDir(t);
  const data = setup(dir);
  const a = path.join(dir, 'a');
  const full = trainEvents('--config', config(dir, data, a));
  assert.deepEqual(fs.readdirSync(a).filter((n) => n.startsWith('checkpoint-')).sort(), ['checkpoint-2', 'checkpoint-4', 'checkpoint-6']);

  // Resume from step 2 in a fresh folder: dropout stream, shuffled order and moments continue.
  const c = path.join(dir, 'c');
  fs.mkdirSync(c);
  fs.cpSync(path.join(a, 'checkpoint-2'), path.join(c, 'checkpoint-2'), { recursive: true });
  const resumed = trainEvents('--config', config(dir, data, c), '--resume', c);
  assert.equal(resumed[0].resumed_from, path.join(c, 'checkpoint-2'));
  const want = losses(full);
  const got = losses(resumed);
  assert.deepEqual(Object.keys(got), ['3', '4', '5', '6']);
  for (const step of [3, 4, 5, 6]) assert.ok(Math.abs(got[step] - want[step]) < 1e-6, `step ${step}: ${got[step]} vs ${want[step]}`);
  const wa = readAll(path.join(a, 'final/model.safetensors'));
  const wc = readAll(path.join(c, 'final/model.safetensors'));
  for (const [name, v] of wa) assert.ok(v.every((x, i) => Math.abs(x - wc.get(name)![i]) < 1e-6), name);

  // Four epochs instead of three: continues from the end of the finished run.
  const extended = trainEvents('--config', config(dir, data, a, { num_train_epochs: 4 }), '--resume', a);
  assert.deepEqual(Object.keys(losses(extended)), ['7', '8']);
});

test('save_total_limit keeps the newest checkpoints; half-written ones are never picked up', (t) => {
  const dir = tempDir(t);
  const data = setup(dir);
  const out = path.join(dir, 'run');
  trainEvents('--config', config(dir, data, out, { save_steps: 1, save_total_limit: 2 }));
  assert.deepEqual(fs.readdirSync(out).filter((n) => n.startsWith('checkpoint-')).sort(), ['checkpoint-5', 'checkpoint-6']);
  // A crash mid-write leaves a .partial folder, or a folder without its state file written last.
  fs.mkdirSync(path.join(out, '.checkpoint-7.partial'));
  fs.mkdirSync(path.join(out, 'checkpoint-8'));
  fs.writeFileSync(path.join(out, 'checkpoint-8', 'trainable.safetensors'), 'half');
  assert.equal(resolveCheckpoint(out), path.join(out, 'checkpoint-6'));
});

test('load_best_model_at_end (on by default) hands over the best evaluation\'s weights after the full run; turned off, the last step\'s', (t) => {
  const dir = tempDir(t);
  const data = setup(dir);
  const settings = { data: { train: data, validation: data, format: 'tokenized' }, learning_rate: 1, dropout: 0, eval_steps: 1, save_steps: 0 };
  const out = path.join(dir, 'best');
  const events = trainEvents('--config', config(dir, data, out, settings));
  const evals = events.filter((e) => e.event === 'eval');
  const done = events.at(-1);
  const best = evals.reduce((b, e) => (e.eval_loss < b.eval_loss ? e : b));
  assert.equal(done.stopped_early, false);
  assert.equal(evals.at(-1).step, done.step, 'the run went on to its end');
  assert.ok(best.step < done.step, 'this learning rate makes the last evaluation worse than the best');
  assert.equal(done.result_step, best.step);
  assert.equal(done.eval_loss, best.eval_loss, 'the result is reported with its own eval loss');
  const exported = readAll(path.join(out, 'final/model.safetensors'));
  const kept = readAll(path.join(out, `checkpoint-${best.step}`, 'trainable.safetensors'));
  for (const [name, v] of kept) assert.deepEqual(exported.get(name), v, name);

  const lastOut = path.join(dir, 'last');
  const lastEvents = trainEvents('--config', config(dir, data, lastOut, { ...settings, load_best_model_at_end: false }));
  const lastDone = lastEvents.at(-1);
  assert.equal(lastDone.result_step, lastDone.step);
  assert.equal(lastDone.eval_loss, lastEvents.filter((e) => e.event === 'eval').at(-1).eval_loss);
  assert.deepEqual(fs.readdirSync(lastOut).filter((n) => n.startsWith('checkpoint-')), [], 'no checkpoint is written for it');
  const lastWeights = readAll(path.join(lastOut, 'final/model.safetensors'));
  assert.ok([...kept].some(([name, v]) => JSON.stringify(lastWeights.get(name)) !== JSON.stringify(v)), 'the last step\'s weights differ from the best\'s');
});

test('early stopping keeps and exports the best checkpoint; samples are generated at each evaluation', (t) => {
  const dir = tempDir(t);
  const data = setup(dir);
  const out = path.join(dir, 'run');
  // A learning rate this large wrecks the model after its first update, so eval loss rises.
  const events = trainEvents('--config', config(dir, data, out, {
    data: { train: data, validation: data, format: 'tokenized' },
    learning_rate: 1,
    dropout: 0,
    eval_steps: 1,
    save_steps: 0,
    early_stopping_patience: 1,
    sample_prompts: ['Human: hi'],
  }));
  const evals = events.filter((e) => e.event === 'eval');
  const done = events.at(-1);
  assert.equal(done.stopped_early, true);
  assert.ok(evals.length < 6, 'stopped before the end');
  const best = evals.reduce((b, e) => (e.eval_loss < b.eval_loss ? e : b));
  assert.equal(done.best_step, best.step);
  const exported = readAll(path.join(out, 'final/model.safetensors'));
  const kept = readAll(path.join(out, `checkpoint-${best.step}`, 'trainable.safetensors'));
  for (const [name, v] of kept) assert.deepEqual(exported.get(name), v, name);
  const samples = events.filter((e) => e.event === 'sample');
  assert.equal(samples.length, evals.length);
  assert.equal(typeof samples[0].output, 'string');
});
