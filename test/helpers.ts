// Shared by the tests: where the transformers-made reference fixtures live, and their numbers.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { errorInfo } from '../core/api/errors';

export const FIXTURES = path.resolve(import.meta.dirname, 'fixtures');

export interface ModelReference {
  tokenizer: { text: string; ids: number[]; decoded: string }[];
  forward: {
    input_ids: number[];
    logits_first8_per_position: number[][];
    logsumexp_per_position: number[];
    argmax_per_position: number[];
    mean_loss: number;
  };
  instruction_batch: { batch: { input_ids: number[][]; labels: number[][]; attention_mask: number[][] }; loss: number };
  greedy: { prompt_ids: number[]; max_new_tokens: number; new_ids: number[] };
  lora: { init_adapter: string; trained_adapter: string; forward_mean_loss_after: number; merged_forward_mean_loss: number };
}

export const REFERENCE = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'reference.json'), 'utf8')) as Record<
  'gpt2-tiny' | 'bloom-tiny',
  ModelReference
>;

export function fixture(name: string): string {
  return path.join(FIXTURES, name);
}

export function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tunesmith-test-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Copies a fixture model folder so a test can damage it. */
export function copyFixture(name: string, into: string): string {
  const dest = path.join(into, name);
  fs.cpSync(fixture(name), dest, { recursive: true });
  return dest;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** ‖actual − expected‖ / ‖expected‖. */
export function relativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let diff = 0;
  let norm = 0;
  for (let i = 0; i < expected.length; i++) {
    diff += (actual[i] - expected[i]) ** 2;
    norm += expected[i] ** 2;
  }
  return Math.sqrt(diff / Math.max(norm, 1e-30));
}

export const BIN = path.resolve(import.meta.dirname, '../bin/tunesmith.mjs');

/** The CLI's home in tests, so the runs they train land in a store of their own, never in ~/.tunesmith. */
export const TEST_HOME = fs.mkdtempSync(path.join(os.tmpdir(), 'tunesmith-home-'));
process.on('exit', () => fs.rmSync(TEST_HOME, { recursive: true, force: true }));
export const CLI_ENV = { ...process.env, TUNESMITH_HOME: TEST_HOME };

/** Runs the CLI as a user would, in its own process. */
export function tunesmith(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: CLI_ENV });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** `tunesmith train ... --json-events`, which must succeed; its events in order. */
export function trainEvents(...args: string[]): any[] {
  const r = tunesmith('train', ...args, '--json-events');
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim().split('\n').map((line) => JSON.parse(line));
}

export interface ReferenceBatch {
  input_ids: number[][];
  labels: number[][];
  attention_mask: number[][];
}

/** A reference batch as unpadded `tokenized` JSONL rows; Tunesmith pads them again. */
export function writeTokenized(file: string, batch: ReferenceBatch): string {
  const rows = batch.input_ids.map((ids, i) => {
    const n = batch.attention_mask[i].reduce((a, b) => a + b, 0);
    return JSON.stringify({ input_ids: ids.slice(0, n), labels: batch.labels[i].slice(0, n) });
  });
  fs.writeFileSync(file, `${rows.join('\n')}\n`);
  return file;
}

/** The ApiErrorInfo a promise rejects with; fails the test when it resolves. */
export async function failure(promise: Promise<unknown>) {
  try {
    await promise;
  } catch (err) {
    return errorInfo(err);
  }
  assert.fail('expected a rejection');
}

/** reference.json's training hyperparameters. */
export interface ReferenceHyperparameters {
  lr: number;
  weight_decay: number;
  max_grad_norm: number;
  betas: number[];
  eps: number;
}

/** The config of reference.json's 4-step runs on `dir/train.jsonl` (see writeTokenized), the method left to add. */
export function referenceTrainConfig(model: string, dir: string, hp: ReferenceHyperparameters) {
  return {
    model: fixture(model),
    output_dir: path.join(dir, 'run'),
    data: { train: path.join(dir, 'train.jsonl'), format: 'tokenized' },
    per_device_train_batch_size: 4,
    max_steps: 4,
    shuffle: false,
    learning_rate: hp.lr,
    lr_scheduler_type: 'constant',
    weight_decay: hp.weight_decay,
    max_grad_norm: hp.max_grad_norm,
    adam_beta1: hp.betas[0],
    adam_beta2: hp.betas[1],
    adam_epsilon: hp.eps,
    dropout: 0,
    logging_steps: 1,
  };
}
