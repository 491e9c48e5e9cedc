// Shared by the tests: where the transformers-made reference fixtures live, and their numbers.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const FIXTURES = path.resolve(import.meta.dirname, '../../shared/fixtures');

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
