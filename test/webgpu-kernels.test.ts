// Tunesmith's WGSL kernels (core/engine/wgsl) against their plain-tfjs twins on the same
// webgpu backend: values and gradients, on odd sizes that leave workgroups part-filled.
// Runs on whatever adapter Dawn gives (Mesa's llvmpipe without a GPU); skipped, with the
// reason, where none can be made.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { initBackend, tf } from '../core/engine/backend';
import { adamwUpdateWebgpu } from '../core/engine/wgsl/adamw';
import { maskedSoftmaxWebgpu } from '../core/engine/wgsl/attention';
import { flashAttentionWebgpu } from '../core/engine/wgsl/flash-attention';
import { crossEntropySumWebgpu } from '../core/engine/wgsl/cross-entropy';
import { dropoutWebgpu } from '../core/engine/wgsl/dropout';
import { layerNormWebgpu } from '../core/engine/wgsl/layer-norm';
import { gradSumSquaresWebgpu } from '../core/engine/wgsl/sum-squares';
import { selfAttentionReference, selfAttentionWebgpu, type AttentionOptions } from '../core/ops/attention';
import { causalLmLossSumReference, causalLmLossSumWebgpu } from '../core/ops/cross-entropy';
import { dropoutBits, dropoutKey, dropoutReference } from '../core/ops/dropout';
import { layerNormReference } from '../core/ops/layer-norm';
import { adamwUpdateReference, gradSumSquaresReference } from '../core/train/adamw';
import { maxAbsDiff } from './helpers';

const skip = await initBackend('webgpu').then(
  () => false as const,
  (err: Error) => `no WebGPU adapter can be made here (${err.message})`,
);

/** Deterministic values in about [-range, range]: sin of the index, so no seed is involved. */
function wave(shape: number[], range = 1, phase = 0): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(Float32Array.from({ length: n }, (_, i) => range * Math.sin(1.3 * i + phase)), shape);
}

function close(actual: tf.Tensor, expected: tf.Tensor, tol: number, what: string): void {
  assert.deepEqual(actual.shape, expected.shape, `${what}: shape`);
  const diff = maxAbsDiff(actual.dataSync(), expected.dataSync());
  assert.ok(diff <= tol, `${what}: max diff ${diff} > ${tol}`);
}

describe('WGSL kernels match their tfjs twins on webgpu', { skip }, () => {
  test('cross-entropy over the vocabulary: sum and gradient, with skipped labels', () => {
    const [b, t, v] = [3, 5, 1031];
    const logits = tf.mul(wave([b, t, v], 4), 1) as tf.Tensor3D;
    const labels = [
      [1, 2, 3, -100, 1030],
      [7, -100, 9, 10, 0],
      [-100, -100, 5, 6, 1029],
    ];
    const twin = tf.valueAndGrad((x: tf.Tensor) => causalLmLossSumReference(x as tf.Tensor3D, labels).sum)(logits);
    const ours = tf.valueAndGrad((x: tf.Tensor) => causalLmLossSumWebgpu(x as tf.Tensor3D, labels).sum)(logits);
    close(ours.value, twin.value, 1e-4, 'loss sum');
    close(ours.grad, twin.grad, 1e-6, 'dlogits');
    assert.equal(causalLmLossSumWebgpu(logits, labels).tokens, causalLmLossSumReference(logits, labels).tokens);
    // No label counted: zero, as the twin.
    assert.equal(causalLmLossSumWebgpu(logits, labels.map((r) => r.map(() => -100))).sum.dataSync()[0], 0);
    // Weights and targets given directly: a row's weight multiplies its term.
    const w = new Float32Array(b * t).fill(0);
    w[4] = 1;
    const one = crossEntropySumWebgpu(logits, new Int32Array(b * t).fill(3), w).dataSync()[0];
    const row = logits.slice([0, 4, 0], [1, 1, v]);
    const want = tf.sub(tf.logSumExp(row), row.slice([0, 0, 3], [1, 1, 1]).reshape([])).dataSync()[0];
    assert.ok(Math.abs(one - want) <= 1e-5, `${one} vs ${want}`);
  });

  for (const c of [
    { name: 'GPT-2 style, causal only', b: 2, heads: 3, t: 7, d: 5, layout: 'gpt2' as const },
    { name: 'BLOOM style, ALiBi per batch and padding', b: 2, heads: 2, t: 9, d: 3, layout: 'bloom' as const, alibi: 'batch', pad: true },
    { name: 'one ALiBi row for all, padding', b: 3, heads: 2, t: 5, d: 4, layout: 'bloom' as const, alibi: 'shared', pad: true },
    // A head wider than the 32-thread workgroup a short row gets; keys in several tiles.
    { name: 'GPT-2 head width 64, 20 positions', b: 1, heads: 2, t: 20, d: 64, layout: 'gpt2' as const },
    { name: 'keys in several workgroup tiles', b: 1, heads: 1, t: 300, d: 8, layout: 'bloom' as const, alibi: 'shared', pad: true },
  ]) {
    test(`attention (${c.name}): masked-softmax and flash kernels, output and d qkv as the twin's`, () => {
      const e = c.heads * c.d;
      const qkv = wave([c.b, c.t, 3 * e], 2) as tf.Tensor3D;
      const alibi = c.alibi ? wave([c.alibi === 'batch' ? c.b : 1, c.heads, 1, c.t], 0.5, 0.3) : undefined;
      // Left padding: the first key of the last row is padding, as a batch of uneven prompts has.
      const keyMask = c.pad ? tf.tensor2d(Array.from({ length: c.b * c.t }, (_, i) => (i === (c.b - 1) * c.t || i === (c.b - 1) * c.t + 1 ? 0 : 1)), [c.b, c.t], 'int32') : undefined;
      const o: AttentionOptions = { nHead: c.heads, layout: c.layout, scale: 1 / Math.sqrt(c.d) / 1.5, alibi, keyMask };
      const weights = wave([c.b, c.t, e], 1, 0.7);
      const loss = (f: typeof selfAttentionReference) => (x: tf.Tensor) => tf.sum(tf.mul(f(x as tf.Tensor3D, o).y, weights)) as tf.Scalar;
      const twin = tf.valueAndGrad(loss(selfAttentionReference))(qkv);
      const ours = tf.valueAndGrad(loss(selfAttentionWebgpu))(qkv);
      close(selfAttentionWebgpu(qkv, o).y, selfAttentionReference(qkv, o).y, 1e-5, 'y');
      close(ours.grad, twin.grad, 1e-5, 'dqkv');
      // Flash-style, which runs where the scores are too large to bind.
      const flash = { ...o, heads: c.heads };
      const viaFlash = tf.valueAndGrad((x: tf.Tensor) => tf.sum(tf.mul(flashAttentionWebgpu(x as tf.Tensor3D, flash), weights)) as tf.Scalar)(qkv);
      close(flashAttentionWebgpu(qkv, flash), selfAttentionReference(qkv, o).y, 1e-5, 'y, flash');
      close(viaFlash.grad, twin.grad, 1e-5, 'dqkv, flash');
    });
  }

  test('attention dropout on webgpu: the twin\'s mask, so output and d qkv match the twin with its JS-made mask', () => {
    const [b, heads, t, d] = [2, 2, 6, 4];
    const qkv = wave([b, t, 3 * heads * d], 2) as tf.Tensor3D;
    const base = { nHead: heads, layout: 'gpt2' as const, scale: 1 / Math.sqrt(d) };
    // One call of the stream: the webgpu path makes its mask in WGSL, the twin in JavaScript.
    const o: AttentionOptions = { ...base, dropout: { rate: 0.25, seed: 99, call: 3 } };
    const weights = wave([b, t, heads * d], 1, 0.2);
    const loss = (f: typeof selfAttentionReference, o: AttentionOptions) => (x: tf.Tensor) => tf.sum(tf.mul(f(x as tf.Tensor3D, o).y, weights)) as tf.Scalar;
    close(selfAttentionWebgpu(qkv, o).y, selfAttentionReference(qkv, o).y, 1e-5, 'y');
    close(tf.grad(loss(selfAttentionWebgpu, o))(qkv), tf.grad(loss(selfAttentionReference, o))(qkv), 1e-5, 'dqkv');
  });

  test('masked softmax with earlier positions (generation): queries see the past and themselves only', () => {
    const raw = wave([1, 2, 3, 8], 3) as tf.Tensor4D;
    const probs = maskedSoftmaxWebgpu(raw, { scale: 0.5 }).arraySync() as number[][][][];
    const scores = (raw.arraySync() as number[][][][])[0];
    for (let h = 0; h < 2; h++) {
      for (let i = 0; i < 3; i++) {
        const seen = 8 - 3 + i + 1;
        const exps = scores[h][i].slice(0, seen).map((s) => Math.exp(0.5 * s));
        const total = exps.reduce((a, x) => a + x, 0);
        const want = [...exps.map((x) => x / total), ...Array(8 - seen).fill(0)];
        assert.ok(maxAbsDiff(probs[0][h][i], want) <= 1e-6, `head ${h}, query ${i}`);
      }
    }
  });

  test('LayerNorm: output and gradients of x, gamma and beta', () => {
    // 70001 rows: more workgroups than one dispatch dimension takes, so tfjs folds them into two.
    for (const [rows, cols] of [[7, 13], [3, 300], [70001, 3]] as const) {
      const x = wave([1, rows, cols], 3, 0.1);
      const gamma = wave([cols], 1, 0.5);
      const beta = wave([cols], 0.2, 1.1);
      const dy = wave([1, rows, cols], 1, 2.0);
      const f = (ln: typeof layerNormReference) => (a: tf.Tensor, g: tf.Tensor, bb: tf.Tensor) => tf.sum(tf.mul(ln(a, g, bb, 1e-5), dy)) as tf.Scalar;
      close(layerNormWebgpu(x, gamma, beta, 1e-5), layerNormReference(x, gamma, beta, 1e-5), 1e-5, `y ${rows}x${cols}`);
      const twin = tf.grads(f(layerNormReference))([x, gamma, beta]);
      const ours = tf.grads(f(layerNormWebgpu))([x, gamma, beta]);
      close(ours[0], twin[0], 1e-4, `dx ${rows}x${cols}`);
      // Sums over the rows, in another order than the twin's: n terms gather about n·ε of rounding.
      const summed = 1e-4 + rows * 2 ** -24 * 8;
      close(ours[1], twin[1], summed, `dgamma ${rows}x${cols}`);
      close(ours[2], twin[2], summed, `dbeta ${rows}x${cols}`);
    }
  });

  test('AdamW: param, m and v updated in place as the twin, a stale host copy dropped', () => {
    const n = 1000;
    const scalars = { beta1: 0.9, beta2: 0.999, eps: 1e-8, decayFactor: 1 - 1e-3 * 0.01, stepSize: 1e-3 / (1 - 0.9 ** 2), sqrtBias2: Math.sqrt(1 - 0.999 ** 2), gradScale: 0.7 };
    const start = () => [tf.variable(wave([n], 1)), tf.variable(wave([n], 0.1, 1)), tf.variable(tf.abs(wave([n], 0.01, 2)))];
    const g = wave([n], 2, 3);
    const [p1, m1, v1] = start();
    const [p2, m2, v2] = start();
    const ids = [p2, m2, v2].map((t) => t.dataId);
    p2.dataSync(); // caches a host copy that the in-place update must not leave behind
    adamwUpdateReference(p1, g, m1, v1, scalars);
    adamwUpdateWebgpu(p2, g, m2, v2, scalars);
    assert.deepEqual([p2, m2, v2].map((t) => t.dataId), ids, 'same buffers');
    close(m2, m1, 1e-7, 'm');
    close(v2, v1, 1e-7, 'v');
    close(p2, p1, 1e-6, 'param');
    tf.dispose([p1, m1, v1, p2, m2, v2, g]);
  });

  test('sum of squares over gradients (clipping\'s norm), as the twin, on sizes that end mid-run', () => {
    const grads = [wave([1000], 2), wave([3, 257], 1, 0.3), wave([1], 5, 1), wave([70, 7], 0.01, 2)];
    const ours = gradSumSquaresWebgpu(grads);
    const twin = gradSumSquaresReference(grads);
    assert.ok(Math.abs(ours / twin - 1) <= 1e-6, `${ours} vs ${twin}`);
  });

  test('dropout: the twin\'s counter-based mask bit for bit, forward and backward', () => {
    const x = wave([3, 5, 67], 1, 0.4);
    const [rate, seed, call] = [0.3, 1234, 17];
    const key = dropoutKey(seed, call);
    const threshold = Math.floor(rate * 2 ** 32);
    const scale = Math.fround(1 / (1 - rate));
    const ours = dropoutWebgpu(x, key, threshold, scale);
    const twin = dropoutReference(x, rate, seed, call);
    assert.equal(maxAbsDiff(ours.dataSync(), twin.dataSync()), 0);
    const kept = Array.from(ours.dataSync(), (y) => y !== 0).filter(Boolean).length;
    assert.equal(kept, Array.from({ length: x.size }, (_, i) => dropoutBits(key, i) >= threshold).filter(Boolean).length);
    const dTwin = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(dropoutReference(a, rate, seed, call), x)))(x);
    const dOurs = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(dropoutWebgpu(a, key, threshold, scale), x)))(x);
    assert.equal(maxAbsDiff(dOurs.dataSync(), dTwin.dataSync()), 0);
  });
});
