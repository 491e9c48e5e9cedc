// Turning examples into batches: the validation split, each epoch's order, and padding.
// Every random choice comes from the seed, so a run can be repeated or resumed exactly.
import { seededRandom } from '../generate/sampling';
import { DataError } from './errors';
import { IGNORE_INDEX, type Example } from './records';

export interface Batch {
  input_ids: number[][];
  labels: number[][];
  attention_mask: number[][];
}

/** Right padding to the longest row; padding is masked out of attention and loss. */
export function padBatch(examples: readonly Example[], padId: number): Batch {
  const width = Math.max(...examples.map((e) => e.input_ids.length));
  const pad = (row: readonly number[], value: number): number[] => [...row, ...new Array<number>(width - row.length).fill(value)];
  return {
    input_ids: examples.map((e) => pad(e.input_ids, padId)),
    labels: examples.map((e) => pad(e.labels, IGNORE_INDEX)),
    attention_mask: examples.map((e) => pad(new Array<number>(e.input_ids.length).fill(1), 0)),
  };
}

/**
 * Holds out ceil(fraction × n) examples, as HF's `train_test_split` counts them, chosen by
 * the seed; both parts keep the file's order.
 */
export function splitValidation<T>(examples: readonly T[], fraction: number, seed: number): { train: T[]; validation: T[] } {
  if (fraction <= 0) return { train: [...examples], validation: [] };
  const held = Math.ceil(fraction * examples.length);
  if (held >= examples.length) {
    throw new DataError(`a validation split of ${fraction} leaves no training examples out of ${examples.length}`);
  }
  const isHeld = new Array<boolean>(examples.length).fill(false);
  for (const i of shuffled(examples.length, seededRandom(seed)).slice(0, held)) isHeld[i] = true;
  return { train: examples.filter((_, i) => !isHeld[i]), validation: examples.filter((_, i) => isHeld[i]) };
}

/** A fresh permutation per epoch, the same for the same (seed, epoch). */
export function epochOrder(n: number, epoch: number, seed: number, shuffle: boolean): number[] {
  return shuffle ? shuffled(n, seededRandom(epochSeed(seed, epoch))) : Array.from({ length: n }, (_, i) => i);
}

/** Consecutive slices of `order`; the last batch may be smaller, as a DataLoader without drop_last. */
export function batches(order: readonly number[], batchSize: number): number[][] {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`batch size must be a whole number > 0, got ${batchSize}`);
  const out: number[][] = [];
  for (let i = 0; i < order.length; i += batchSize) out.push(order.slice(i, i + batchSize));
  return out;
}

function shuffled(n: number, random: () => number): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

/** Hashes (seed, epoch) into one seed (murmur3's finaliser), so neighbouring epochs and seeds give unrelated orders. */
function epochSeed(seed: number, epoch: number): number {
  let h = (seed ^ Math.imul(epoch + 1, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
