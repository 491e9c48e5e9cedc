// Every native kernel against its plain-tfjs twin on awkward shapes (odd sizes, batch 1,
// one position, head counts that are not powers of two): forward values and gradients
// within 1e-5 of the largest reference magnitude. Skipped where the addon is not built,
// unless TUNESMITH_REQUIRE_NATIVE is set (CI sets it, so a broken build fails there).
import assert from 'node:assert/strict';
import { before, describe, test, type TestContext } from 'node:test';
import { activeKernels, initBackend, tf } from '../core/engine/backend';
import { activateNative, activateReference } from '../core/ops/activations';
import { selfAttention, selfAttentionReference, type AttentionOptions } from '../core/ops/attention';
import { withBf16Autocast } from '../core/ops/bf16';
import { causalLmLossSumNative, causalLmLossSumReference } from '../core/ops/cross-entropy';
import { dropoutBits, dropoutKey, dropoutNative, dropoutReference } from '../core/ops/dropout';
import { embeddingLookupNative, embeddingLookupReference, TiedGradient } from '../core/ops/embedding';
import { layerNormNative, layerNormReference } from '../core/ops/layer-norm';
import { linearNative, linearReference, type LoraPair, type WeightLayout } from '../core/ops/linear';
import { adamwUpdateNative, adamwUpdateReference, gradSumSquares, gradSumSquaresReference } from '../core/train/adamw';
import type { Activation } from '../core/models/config';
import { QKV_LAYOUT } from '../core/engine/native-kernels';
import { relativeError } from './helpers';

let native = false;
before(async () => {
  const { name } = await initBackend(process.env.TUNESMITH_REQUIRE_NATIVE ? 'native' : undefined);
  native = name === 'native';
});

const TOLERANCE = 1e-5;

/** Seeded uniform values in [-scale, scale), so a failure reproduces. */
function random(shape: number[], seed: number, scale = 1): tf.Tensor {
  let s = seed >>> 0 || 1;
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    data[i] = (s / 2 ** 32 - 0.5) * 2 * scale;
  }
  return tf.tensor(data, shape);
}

function trained(t: tf.Tensor): tf.Variable {
  return tf.variable(t, true);
}

function assertClose(actual: tf.Tensor, expected: tf.Tensor, what: string): void {
  assert.deepEqual(actual.shape, expected.shape, `${what}: shape`);
  const a = actual.dataSync();
  const e = expected.dataSync();
  let worst = 0;
  let scale = 0;
  for (let i = 0; i < e.length; i++) {
    worst = Math.max(worst, Math.abs(a[i] - e[i]));
    scale = Math.max(scale, Math.abs(e[i]));
  }
  assert.ok(worst <= TOLERANCE * Math.max(scale, 1e-3), `${what}: max difference ${worst} against magnitude ${scale}`);
}

/**
 * Value and gradients of sum(f(inputs) · probe) for both twins; the probe weights every
 * output element differently so no gradient entry can hide.
 */
function compareTwins(inputs: tf.Tensor[], nativeOp: (...x: tf.Tensor[]) => tf.Tensor, referenceOp: (...x: tf.Tensor[]) => tf.Tensor, what: string): void {
  tf.tidy(() => {
    const probeShape = referenceOp(...inputs).shape;
    const probe = random(probeShape, 97);
    const loss = (op: (...x: tf.Tensor[]) => tf.Tensor) => (...x: tf.Tensor[]) => tf.sum(tf.mul(op(...x), probe)) as tf.Scalar;
    assertClose(nativeOp(...inputs), referenceOp(...inputs), `${what} forward`);
    const gotGrads = tf.grads(loss(nativeOp))(inputs);
    const wantGrads = tf.grads(loss(referenceOp))(inputs);
    wantGrads.forEach((g, i) => assertClose(gotGrads[i], g, `${what} gradient of input ${i}`));
  });
}

function nativeTest(name: string, fn: (t: TestContext) => void): void {
  test(name, (t) => {
    if (!native) return t.skip('native kernels not built');
    fn(t);
  });
}

/** [B, T] key mask with row r's last r (right) or first 2r + 1 (left) positions padding. */
function paddingMask(b: number, t: number, side: 'left' | 'right'): tf.Tensor2D {
  const real = (r: number, j: number) => (side === 'right' ? j < t - r : j > 2 * r);
  return tf.tensor2d(Array.from({ length: b }, (_, r) => Array.from({ length: t }, (_, j) => (real(r, j) ? 1 : 0))), undefined, 'int32');
}

describe('native kernels match their tfjs twins', () => {
  nativeTest('the native backend is the cpu backend with kernels loaded', () => {
    assert.equal(tf.getBackend(), 'cpu');
    assert.ok(activeKernels());
    assert.match(activeKernels()!.info().blas, /accelerate|avx512|avx2|neon|portable/);
  });

  nativeTest('LayerNorm: odd widths, one row, trained and frozen scales', () => {
    for (const [shape, eps] of [[[3, 5, 7], 1e-5], [[1, 1, 33], 1e-6], [[2, 9, 768], 1e-5]] as [number[], number][]) {
      const cols = shape[shape.length - 1];
      const x = random(shape, 1, 3);
      const w = trained(random([cols], 2));
      const b = trained(random([cols], 3));
      compareTwins([x, w, b], (...a) => layerNormNative(a[0], a[1], a[2], eps), (...a) => layerNormReference(a[0], a[1], a[2], eps), `layerNorm ${shape}`);
      const frozen = random([cols], 4);
      compareTwins([x], (xx) => layerNormNative(xx, frozen, frozen, eps), (xx) => layerNormReference(xx, frozen, frozen, eps), `frozen layerNorm ${shape}`);
      tf.dispose([x, w, b, frozen]);
    }
  });

  nativeTest('activations: gelu_new, BLOOM gelu, exact gelu, relu', () => {
    const x = random([3, 7, 129], 5, 6);
    for (const kind of ['gelu_new', 'gelu_bloom', 'gelu', 'relu'] as Activation[]) {
      compareTwins([x], (a) => activateNative(kind, a), (a) => activateReference(kind, a), kind);
    }
    x.dispose();
  });

  nativeTest('embedding lookup and its scatter-add gradient, with repeated ids', () => {
    const table = trained(random([11, 13], 6));
    const ids = tf.tensor2d([[3, 3, 0, 10], [7, 3, 1, 10]], undefined, 'int32');
    compareTwins([table], (t) => embeddingLookupNative(t, ids), (t) => embeddingLookupReference(t, ids), 'embedding');
    const frozen = random([11, 13], 7);
    assertClose(embeddingLookupNative(frozen, ids), embeddingLookupReference(frozen, ids), 'frozen embedding');
    tf.dispose([table, ids, frozen]);
  });

  nativeTest('a tied embedding and head sum their gradients in one buffer, bit for bit as tfjs sums two', () => {
    const table = trained(random([11, 13], 8));
    const ids = tf.tensor2d([[3, 3, 0, 10], [7, 3, 1, 10]], undefined, 'int32');
    // lookup → head over the same table: the head's dW and the lookup's scatter-add meet in one gradient.
    const tiedModel = (tied?: TiedGradient) => (t: tf.Tensor) => linearNative(tf.tanh(embeddingLookupNative(t, ids, tied)), t, undefined, 'out_in', undefined, undefined, false, tied);
    compareTwins([table], tiedModel(new TiedGradient()), (t) => linearReference(tf.tanh(embeddingLookupReference(t, ids)), t, undefined, 'out_in'), 'tied embedding');
    const gradient = (op: (t: tf.Tensor) => tf.Tensor) => tf.grad((t: tf.Tensor) => tf.sum(tf.mul(op(t), random([2, 4, 11], 9))))(table).dataSync();
    assert.deepEqual(gradient(tiedModel(new TiedGradient())), gradient(tiedModel()), 'one buffer vs tfjs adding the two');
    tf.dispose([table, ids]);
  });

  nativeTest('linear: both weight layouts, with and without bias, LoRA with dropout, frozen base', () => {
    // One call of a run's stream: the kernel makes its mask, the twin its reference generator's.
    const drop = () => ({ rate: 0.25, seed: 11, call: 5 });
    const cases: { layout: WeightLayout; rows: number[]; inDim: number; outDim: number; bias: boolean; lora: boolean; dropout: boolean; frozen: boolean }[] = [
      { layout: 'in_out', rows: [2, 5], inDim: 7, outDim: 9, bias: true, lora: false, dropout: false, frozen: false },
      { layout: 'out_in', rows: [1, 1], inDim: 17, outDim: 3, bias: false, lora: false, dropout: false, frozen: false },
      { layout: 'in_out', rows: [3, 4], inDim: 12, outDim: 30, bias: true, lora: true, dropout: true, frozen: true },
      { layout: 'out_in', rows: [2, 3], inDim: 10, outDim: 6, bias: true, lora: true, dropout: false, frozen: false },
    ];
    for (const [i, c] of cases.entries()) {
      const what = `linear case ${i} (${c.layout}${c.lora ? ', LoRA' : ''}${c.dropout ? ' + dropout' : ''}${c.frozen ? ', frozen base' : ''})`;
      const x = random([...c.rows, c.inDim], 20 + i);
      const wShape = c.layout === 'in_out' ? [c.inDim, c.outDim] : [c.outDim, c.inDim];
      const weight = c.frozen ? random(wShape, 30 + i) : trained(random(wShape, 30 + i));
      const bias = c.bias ? (c.frozen ? random([c.outDim], 40 + i) : trained(random([c.outDim], 40 + i))) : undefined;
      const r = 3;
      const inputs: tf.Tensor[] = [x];
      if (!c.frozen) inputs.push(weight, ...(bias ? [bias] : []));
      const pairOf = (a: tf.Tensor[]): LoraPair | undefined => (c.lora ? { a: a[a.length - 2], b: a[a.length - 1], scale: 2 } : undefined);
      if (c.lora) inputs.push(trained(random([r, c.inDim], 50 + i)), trained(random([c.outDim, r], 60 + i)));
      const dropout = c.dropout ? drop : undefined;
      compareTwins(
        inputs,
        (...a) => linearNative(a[0], c.frozen ? weight : a[1], bias && !c.frozen ? a[2] : bias, c.layout, pairOf(a), dropout),
        (...a) => linearReference(a[0], c.frozen ? weight : a[1], bias && !c.frozen ? a[2] : bias, c.layout, pairOf(a), dropout),
        what,
      );
      tf.dispose([...inputs, weight, ...(bias ? [bias] : [])]);
    }
  });

  nativeTest('attention: GPT-2 and BLOOM layouts, 3 and 5 heads, ALiBi, padding on either side, dropout, T 1 to 130', () => {
    // pad: 'right' leaves padded queries real keys to see; 'left' makes the first rows see only
    // padding (the twin's softmax then spreads over every masked key, future ones included).
    const cases: { layout: 'gpt2' | 'bloom'; b: number; t: number; h: number; d: number; alibi: boolean; pad?: 'left' | 'right'; dropout: boolean }[] = [
      { layout: 'gpt2', b: 2, t: 7, h: 3, d: 5, alibi: false, dropout: false },
      { layout: 'gpt2', b: 1, t: 1, h: 5, d: 4, alibi: false, dropout: false },
      { layout: 'gpt2', b: 3, t: 6, h: 3, d: 4, alibi: false, pad: 'right', dropout: true },
      { layout: 'bloom', b: 2, t: 9, h: 5, d: 3, alibi: true, pad: 'right', dropout: false },
      { layout: 'bloom', b: 1, t: 4, h: 3, d: 8, alibi: true, dropout: true },
      { layout: 'gpt2', b: 2, t: 130, h: 2, d: 8, alibi: false, pad: 'left', dropout: true },
      { layout: 'bloom', b: 2, t: 130, h: 3, d: 4, alibi: true, pad: 'left', dropout: true },
      { layout: 'bloom', b: 1, t: 1, h: 2, d: 3, alibi: true, dropout: true },
    ];
    for (const [i, c] of cases.entries()) {
      const what = `attention case ${i} (${c.layout}, B${c.b} T${c.t} H${c.h} D${c.d}${c.alibi ? ', ALiBi' : ''}${c.pad ? `, ${c.pad} padding` : ''}${c.dropout ? ', dropout' : ''})`;
      const qkv = random([c.b, c.t, 3 * c.h * c.d], 70 + i, 2) as tf.Tensor3D;
      const keyMask = c.pad ? paddingMask(c.b, c.t, c.pad) : undefined;
      const alibi = c.alibi ? random([c.b, c.h, 1, c.t], 80 + i) : undefined;
      const opts: AttentionOptions = { nHead: c.h, layout: c.layout, scale: 1 / Math.sqrt(c.d), alibi, keyMask, dropout: c.dropout ? { rate: 0.2, seed: 5, call: i } : undefined };
      compareTwins([qkv], (q) => selfAttention(q as tf.Tensor3D, opts).y, (q) => selfAttentionReference(q as tf.Tensor3D, opts).y, what);
      tf.dispose([qkv, ...(keyMask ? [keyMask] : []), ...(alibi ? [alibi] : [])]);
    }
  });

  nativeTest('attention dropout: the kernel drops exactly the probabilities the twin drops', () => {
    // With v one-hot per key (D = T), output row i is row i of the dropped-out probabilities,
    // so its zeros are the dropped elements (the causal mask's zeros are the same in both).
    for (const layout of ['gpt2', 'bloom'] as const) {
      tf.tidy(() => {
        const [b, h, t] = [2, 3, 70];
        const q = random([b, t, h, 1, t], 3);
        const k = random([b, t, h, 1, t], 4);
        const v = tf.tile(tf.reshape(tf.eye(t), [1, t, 1, 1, t]), [b, 1, h, 1, 1]);
        // [B, T, H, 3, D] is BLOOM's layout; GPT-2's is [B, T, 3, H, D].
        const perHead = tf.concat([q, k, v], 3);
        const fused = (layout === 'gpt2' ? tf.transpose(perHead, [0, 1, 3, 2, 4]) : perHead).reshape([b, t, 3 * h * t]) as tf.Tensor3D;
        const opts: AttentionOptions = { nHead: h, layout, scale: 0.3, dropout: { rate: 0.3, seed: 9, call: 2 } };
        const got = selfAttention(fused, opts).y.dataSync();
        const want = selfAttentionReference(fused, opts).y.dataSync();
        let dropped = 0;
        for (let i = 0; i < want.length; i++) {
          assert.equal(got[i] === 0, want[i] === 0, `${layout}: element ${i} kept by one twin only`);
          if (want[i] === 0) dropped++;
        }
        // Below the diagonal, about 30% of b·h·t·(t+1)/2 probabilities are dropped.
        const visible = b * h * ((t * (t + 1)) / 2);
        assert.ok(Math.abs(dropped - (want.length - visible) - 0.3 * visible) < 0.05 * visible, `${layout}: ${dropped} zeros`);
      });
    }
  });

  nativeTest('attention under bf16 autocast matches its emulation (bf16-rounded products, fp32 softmax)', (t) => {
    if (!activeKernels()!.info().bf16) return t.skip(`no bf16 kernel: ${activeKernels()!.info().bf16Refusal}`);
    for (const [i, layout] of (['gpt2', 'bloom'] as const).entries()) {
      const [b, h, d, tt] = [2, 3, 16, 67];
      const qkv = random([b, tt, 3 * h * d], 40 + i, 2) as tf.Tensor3D;
      const keyMask = paddingMask(b, tt, 'right');
      const alibi = layout === 'bloom' ? random([b, h, 1, tt], 50) : undefined;
      const opts: AttentionOptions = { nHead: h, layout, scale: 1 / Math.sqrt(d), alibi, keyMask, dropout: { rate: 0.1, seed: 3, call: 7 } };
      const probe = random([b, tt, h * d], 97);
      const run = (op: typeof selfAttention) =>
        withBf16Autocast(true, () => ({
          y: op(qkv, opts).y.dataSync(),
          grad: tf.grad((x: tf.Tensor) => tf.sum(tf.mul(op(x as tf.Tensor3D, opts).y, probe)) as tf.Scalar)(qkv).dataSync(),
        }));
      const got = run(selfAttention);
      const want = run(selfAttentionReference);
      const fp32 = selfAttentionReference(qkv, opts).y.dataSync();
      // A probability on a bf16 rounding boundary may round either way after fp32-level differences in exp.
      assert.ok(relativeError(got.y, want.y) < 1e-3, `${layout} forward: ${relativeError(got.y, want.y)}`);
      assert.ok(relativeError(got.grad, want.grad) < 1e-3, `${layout} gradient: ${relativeError(got.grad, want.grad)}`);
      // ...and bf16 is really on: the emulation differs from fp32 by bf16's rounding, far above that.
      assert.ok(relativeError(want.y, fp32) > 1e-3, `${layout}: bf16 and fp32 agree to ${relativeError(want.y, fp32)}`);
      tf.dispose([qkv, keyMask, probe, ...(alibi ? [alibi] : [])]);
    }
  });

  nativeTest('attention with a KV cache: new positions against the past, the grown cache returned', () => {
    for (const layout of ['gpt2', 'bloom'] as const) {
      tf.tidy(() => {
        const [b, h, d, past, t] = [2, 3, 4, 5, 2];
        const pastCache = { k: random([b, h, past, d], 1) as tf.Tensor4D, v: random([b, h, past, d], 2) as tf.Tensor4D };
        const qkv = random([b, t, 3 * h * d], 3) as tf.Tensor3D;
        const keyMask = tf.tensor2d([[1, 1, 1, 1, 1, 1, 1], [0, 0, 1, 1, 1, 1, 1]], undefined, 'int32');
        const alibi = layout === 'bloom' ? random([b, h, 1, past + t], 4) : undefined;
        const opts: AttentionOptions = { nHead: h, layout, scale: 0.5, keyMask, alibi, past: pastCache, keepCache: true };
        const got = selfAttention(qkv, opts);
        const want = selfAttentionReference(qkv, opts);
        assertClose(got.y, want.y, `${layout} decode output`);
        assertClose(got.cache!.k, want.cache!.k, `${layout} present keys`);
        assertClose(got.cache!.v, want.cache!.v, `${layout} present values`);
      });
    }
  });

  nativeTest('cross-entropy: ignored labels, one row, sum and gradient', () => {
    const cases = [
      { b: 2, t: 5, v: 37, labels: [[1, 2, -100, 4, 36], [0, -100, -100, 9, 9]] },
      { b: 1, t: 2, v: 50, labels: [[-100, 49]] },
    ];
    for (const c of cases) {
      const logits = random([c.b, c.t, c.v], 90, 8) as tf.Tensor3D;
      compareTwins([logits], (z) => causalLmLossSumNative(z as tf.Tensor3D, c.labels).sum, (z) => causalLmLossSumReference(z as tf.Tensor3D, c.labels).sum, `cross-entropy B${c.b} T${c.t}`);
      assert.equal(causalLmLossSumNative(logits, c.labels).tokens, causalLmLossSumReference(logits, c.labels).tokens);
      logits.dispose();
    }
  });

  nativeTest('cross-entropy: the gradient overwrites logits nothing holds, and only those', () => {
    const labels = [[1, 2, -100, 4, 36], [0, -100, -100, 9, 9]];
    const x = random([2, 5, 37], 91, 4);
    // Logits made inside the forward (as the LM head's are) are disposed before backward runs.
    const made = (z: tf.Tensor) => tf.mul(z, 1.5) as tf.Tensor3D;
    compareTwins([x], (z) => causalLmLossSumNative(made(z), labels).sum, (z) => causalLmLossSumReference(made(z), labels).sum, 'cross-entropy of made logits');
    let kept: tf.Tensor | undefined;
    const keptGrad = tf.grad((z: tf.Tensor) => causalLmLossSumNative((kept = tf.keep(made(z))) as tf.Tensor3D, labels).sum)(x);
    const deadGrad = tf.grad((z: tf.Tensor) => causalLmLossSumNative(made(z), labels).sum)(x);
    assert.deepEqual(deadGrad.dataSync(), keptGrad.dataSync(), 'in place vs a fresh buffer');
    assert.deepEqual(kept!.dataSync(), made(x).dataSync(), 'logits the caller kept are untouched');
    tf.dispose([x, kept!, keptGrad, deadGrad]);
  });

  nativeTest('global gradient norm and the AdamW update with decay and clipping', () => {
    const grads = [random([5, 7], 10, 4), random([7], 11, 4), random([1000], 12)];
    const want = gradSumSquaresReference(grads);
    assert.ok(Math.abs(gradSumSquares(grads) - want) <= TOLERANCE * want);
    const run = (update: typeof adamwUpdateNative) => {
      const param = trained(random([9, 11], 1));
      const m = tf.variable(tf.zeros([9, 11]), false);
      const v = tf.variable(tf.zeros([9, 11]), false);
      for (let step = 1; step <= 3; step++) {
        const g = random([9, 11], 20 + step, 4);
        update(param, g, m, v, { beta1: 0.9, beta2: 0.95, eps: 1e-6, decayFactor: 1 - 1e-2 * 0.1, stepSize: 1e-2 / (1 - 0.9 ** step), sqrtBias2: Math.sqrt(1 - 0.95 ** step), gradScale: 0.3 });
        g.dispose();
      }
      return [param, m, v];
    };
    const got = run(adamwUpdateNative);
    const expected = run(adamwUpdateReference);
    ['weight', 'first moment', 'second moment'].forEach((what, i) => assertClose(got[i], expected[i], `AdamW ${what} after 3 steps`));
    tf.dispose([...grads, ...got, ...expected]);
  });

  nativeTest('same-shape adds run natively and broadcasts still work', () => {
    tf.tidy(() => {
      const a = random([4, 6], 1);
      const b = random([4, 6], 2);
      const row = random([6], 3);
      const sum = tf.add(a, b).dataSync();
      const av = a.dataSync();
      const bv = b.dataSync();
      sum.forEach((v, i) => assert.equal(v, Math.fround(av[i] + bv[i])));
      const broadcast = tf.add(a, row).dataSync();
      const rv = row.dataSync();
      broadcast.forEach((v, i) => assert.equal(v, Math.fround(av[i] + rv[i % 6])));
    });
  });

  nativeTest('dropout: the kernel makes the twin\'s mask bit for bit, forward and backward', () => {
    tf.tidy(() => {
      // 114k elements: more than one thread's share, so every thread's first index is checked.
      const x = random([3, 37, 1029], 8, 2);
      const probe = random([3, 37, 1029], 9);
      for (const [rate, seed, call] of [[0.1, 42, 0], [0.5, 7, 123456], [0.9, 2 ** 31 + 5, 3]]) {
        const same = (a: tf.Tensor, b: tf.Tensor, what: string) => {
          const av = a.dataSync();
          const bv = b.dataSync();
          for (let i = 0; i < av.length; i++) if (!Object.is(av[i], bv[i])) assert.fail(`${what} rate ${rate}: element ${i} is ${av[i]}, twin ${bv[i]}`);
        };
        same(dropoutNative(x, rate, seed, call), dropoutReference(x, rate, seed, call), 'forward');
        const grad = (op: typeof dropoutNative) => tf.grad((v: tf.Tensor) => tf.sum(tf.mul(op(v, rate, seed, call), probe)))(x);
        same(grad(dropoutNative), grad(dropoutReference), 'gradient');
      }
    });
  });
});

describe('dropout generator', () => {
  nativeTest('every kernel that makes a mask refuses a key or threshold that is not a 32-bit unsigned integer, naming the field', () => {
    const k = activeKernels()!;
    const x = new Float32Array(4);
    const out = new Float32Array(4);
    assert.throws(() => k.dropout(x, 2 ** 32, 0, 2, out), /key and threshold must be 32-bit unsigned integers/);
    assert.throws(() => k.dropout(x, 1, 0.5, 2, out), /key and threshold must be 32-bit unsigned integers/);
    // One head of 2 dims over 2 positions: qkv [1, 2, 3·2].
    const shape = { batch: 1, heads: 1, headDim: 2, tq: 2, tk: 2, layout: QKV_LAYOUT.gpt2, scale: 1, alibi: null, alibiPerBatch: false, keyMask: null, bf16: false };
    const attend = (dropout: { key: number; threshold: number; scale: number }) => () =>
      k.attentionForward({ ...shape, dropout }, new Float32Array(12), new Float32Array(4), new Float32Array(4));
    assert.throws(attend({ key: 2 ** 32, threshold: 0, scale: 1 }), /attention\.dropout\.key must be a 32-bit unsigned integer/);
    assert.throws(attend({ key: 1, threshold: 0.5, scale: 1 }), /attention\.dropout\.threshold must be a 32-bit unsigned integer/);
    // A 2 → 2 projection of one row with a rank-1 adapter.
    const lora = { a: new Float32Array(2), b: new Float32Array(2), dropout: { key: 1, threshold: -1, scale: 1 }, scale: 1, r: 1 };
    assert.throws(
      () => k.linearForward(new Float32Array(2), new Float32Array(4), null, true, 1, 2, 2, lora, new Float32Array(1), new Float32Array(2)),
      /lora\.dropout\.threshold must be a 32-bit unsigned integer/,
    );
  });

  test('keeps 1 − rate of the elements, scaled by 1/(1 − rate), and each call draws a new mask', () => {
    const n = 200_000;
    for (const rate of [0.1, 0.5]) {
      const key = dropoutKey(1, 0);
      const threshold = Math.floor(rate * 2 ** 32);
      let kept = 0;
      for (let i = 0; i < n; i++) if (dropoutBits(key, i) >= threshold) kept++;
      // Binomial(n, 1 − rate): five standard deviations is under 0.6% of n.
      assert.ok(Math.abs(kept / n - (1 - rate)) < 0.006, `rate ${rate}: kept ${kept / n}`);
    }
    const x = tf.ones([1000]);
    const a = dropoutReference(x, 0.5, 1, 0).dataSync();
    const again = dropoutReference(x, 0.5, 1, 0).dataSync();
    const nextCall = dropoutReference(x, 0.5, 1, 1).dataSync();
    const otherSeed = dropoutReference(x, 0.5, 2, 0).dataSync();
    assert.deepEqual(again, a);
    assert.ok(new Set(a).size === 2 && a.includes(2) && a.includes(0));
    const differ = (b: ArrayLike<number>) => Array.from(a).filter((v, i) => v !== b[i]).length;
    // Independent masks at rate 0.5 differ in about half the elements.
    assert.ok(differ(nextCall) > 400 && differ(otherSeed) > 400, `${differ(nextCall)} ${differ(otherSeed)}`);
    tf.dispose(x);
  });
});
