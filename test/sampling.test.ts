import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applyRepetitionPenalty, pickNextToken, seededRandom, validateSampling, DEFAULT_SAMPLING } from '../core/generate/sampling';
import { alibiSlopes } from '../core/models/bloom';

const LOGITS = Float32Array.from([2, 1, 0.5, -1, 3]);

function counts(opts: Partial<typeof DEFAULT_SAMPLING>, n = 4000, seed = 1): number[] {
  const random = seededRandom(seed);
  const c = new Array(LOGITS.length).fill(0);
  for (let i = 0; i < n; i++) c[pickNextToken(LOGITS, [], { ...DEFAULT_SAMPLING, ...opts }, random)]++;
  return c;
}

test('greedy picks the argmax', () => {
  assert.equal(pickNextToken(LOGITS, [], { ...DEFAULT_SAMPLING, greedy: true }, Math.random), 4);
});

test('top-k keeps only the k best tokens', () => {
  const c = counts({ topK: 2 });
  assert.deepEqual(c.map((x) => x > 0), [true, false, false, false, true]);
});

test('top-p keeps the smallest set whose mass reaches p', () => {
  // softmax([2,1,.5,-1,3]): token 4 has ~0.61, token 0 ~0.22: p = 0.7 needs both, not more.
  const c = counts({ topP: 0.7, topK: 0 });
  assert.deepEqual(c.map((x) => x > 0), [true, false, false, false, true]);
  assert.deepEqual(counts({ topP: 0.5, topK: 0 }).map((x) => x > 0), [false, false, false, false, true]);
});

test('sampling follows the softmax at temperature 1 and sharpens below it', () => {
  const n = 20000;
  const c = counts({ topK: 0 }, n);
  const z = Array.from(LOGITS).reduce((s, v) => s + Math.exp(v), 0);
  Array.from(LOGITS).forEach((v, i) => assert.ok(Math.abs(c[i] / n - Math.exp(v) / z) < 0.02, `token ${i}`));
  assert.ok(counts({ topK: 0, temperature: 0.3 }, n)[4] > c[4]);
});

test('a seed reproduces the same samples', () => {
  assert.deepEqual(counts({ topK: 0 }, 50, 7), counts({ topK: 0 }, 50, 7));
  assert.notDeepEqual(counts({ topK: 0 }, 200, 7), counts({ topK: 0 }, 200, 8));
});

test('repetition penalty divides positive and multiplies negative scores of seen tokens', () => {
  const l = Float32Array.from(LOGITS);
  applyRepetitionPenalty(l, [0, 3, 0], 2);
  assert.deepEqual(Array.from(l), [1, 1, 0.5, -2, 3]);
});

test('impossible sampling settings are refused with the setting named', () => {
  assert.throws(() => validateSampling({ ...DEFAULT_SAMPLING, temperature: 0 }), /temperature/);
  assert.throws(() => validateSampling({ ...DEFAULT_SAMPLING, topP: 1.5 }), /top-p/);
  assert.throws(() => validateSampling({ ...DEFAULT_SAMPLING, topK: -1 }), /top-k/);
});

test('ALiBi slopes follow the paper for powers of two and interleave the next series otherwise', () => {
  // Press et al.: for n heads (a power of two) the slopes are 2^(-8/n · i), i = 1…n.
  const close = (a: number[], b: number[]) => a.length === b.length && a.every((v, i) => Math.abs(v - b[i]) < 1e-12);
  for (const n of [1, 2, 4, 8, 16]) assert.ok(close(alibiSlopes(n), Array.from({ length: n }, (_, i) => 2 ** ((-8 / n) * (i + 1)))), `${n} heads`);
  // 12 heads: the 8-head series, then the odd terms of the 16-head series.
  const twelve = alibiSlopes(12);
  assert.deepEqual(twelve.slice(0, 8), alibiSlopes(8));
  assert.deepEqual(twelve.slice(8), [1, 3, 5, 7].map((k) => alibiSlopes(16)[k - 1]));
  assert.equal(alibiSlopes(6).length, 6);
});
