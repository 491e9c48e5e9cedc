import { activeKernels, tensorsOnGpu, tf } from '../engine/backend';
import { maskedSoftmaxWebgpu } from '../engine/wgsl/attention';
import { flashAttentionWebgpu, flashNeeded } from '../engine/wgsl/flash-attention';
import { QKV_LAYOUT, type AttentionShape } from '../engine/native-kernels';
import { f32, fused, tensorOf } from './native-tensors';

/** One layer's cached keys and values, [B, H, T_past, D] each. */
export interface LayerCache {
  k: tf.Tensor4D;
  v: tf.Tensor4D;
}

/**
 * How the fused q|k|v projection is laid out along its 3·E features: GPT-2 puts all of q,
 * then k, then v; BLOOM puts each head's (q, k, v) together.
 */
export type QkvLayout = keyof typeof QKV_LAYOUT;

export interface AttentionOptions {
  nHead: number;
  layout: QkvLayout;
  /** Multiplies q·kᵀ (1/sqrt(head_dim), possibly divided further by the layer index). */
  scale: number;
  /** BLOOM's ALiBi bias [B or 1, H, 1, Tk], added unscaled to the scores as BLOOM's baddbmm does. */
  alibi?: tf.Tensor;
  /** [B, Tk]: 1 for real tokens, 0 for padding that no query may attend to. */
  keyMask?: tf.Tensor;
  /** Dropout on the attention probabilities (training only). */
  dropout?: (probs: tf.Tensor) => tf.Tensor;
  /** Keys and values of earlier positions (generation). */
  past?: LayerCache;
  /** Return this layer's keys and values for the next call. */
  keepCache?: boolean;
}

export interface AttentionResult {
  /** [B, T, E], heads merged, ready for the output projection. */
  y: tf.Tensor3D;
  cache?: LayerCache;
}

/**
 * Causal self-attention from the fused projection qkv [B, T, 3E]. The queries are the last T
 * positions (earlier ones come from `past`), so query i may see keys 0 … T_past + i.
 */
export function selfAttention(qkv: tf.Tensor3D, o: AttentionOptions): AttentionResult {
  if (!activeKernels()) return tensorsOnGpu() ? selfAttentionWebgpu(qkv, o) : selfAttentionReference(qkv, o);
  return o.past || o.keepCache ? attentionDecodeNative(qkv, o) : { y: attentionTrainNative(qkv, o) };
}

/** Large enough to zero a softmax weight, small enough that adding ALiBi cannot overflow. */
const MASKED = -1e9;

/** The plain-tfjs twin: runs on every backend and is the native kernel's test oracle. */
export function selfAttentionReference(qkv: tf.Tensor3D, o: AttentionOptions): AttentionResult {
  const [q, k, v] = splitQkv(qkv, o.nHead, o.layout);
  const kv = o.past ? { k: tf.concat([o.past.k, k], 2), v: tf.concat([o.past.v, v], 2) } : { k, v };
  const y = tf.tidy(() => {
    const [, , tq] = q.shape;
    const tk = kv.k.shape[2];
    let scores: tf.Tensor = tf.mul(tf.matMul(q, kv.k, false, true), o.scale);
    if (o.alibi) scores = tf.add(scores, o.alibi);
    scores = tf.add(scores, additiveMask(tq, tk, o.keyMask));
    let probs = tf.softmax(scores, -1);
    if (o.dropout) probs = o.dropout(probs);
    return mergeHeads(tf.matMul(probs, kv.v) as tf.Tensor4D);
  });
  return { y, cache: o.keepCache ? (kv as LayerCache) : undefined };
}

/**
 * The twin with its mask, scale, ALiBi and softmax in one WGSL kernel, dropout applying the
 * trainer's own mask to the probabilities; flash-style (no [B, H, T, T] tensor at all) for
 * whole sequences without dropout whose scores are too large to bind.
 */
export function selfAttentionWebgpu(qkv: tf.Tensor3D, o: AttentionOptions): AttentionResult {
  const [batch, t] = qkv.shape;
  if (!o.past && !o.keepCache && !o.dropout && flashNeeded(batch, o.nHead, t)) return { y: flashAttentionWebgpu(qkv, { ...o, heads: o.nHead }) };
  const [q, k, v] = splitQkv(qkv, o.nHead, o.layout);
  const kv = o.past ? { k: tf.concat([o.past.k, k], 2), v: tf.concat([o.past.v, v], 2) } : { k, v };
  const y = tf.tidy(() => {
    let probs: tf.Tensor = maskedSoftmaxWebgpu(tf.matMul(q, kv.k, false, true), o);
    if (o.dropout) probs = o.dropout(probs);
    return mergeHeads(tf.matMul(probs, kv.v) as tf.Tensor4D);
  });
  return { y, cache: o.keepCache ? (kv as LayerCache) : undefined };
}

/** [B, T, 3E] → q, k, v, each [B, H, T, D]. */
function splitQkv(qkv: tf.Tensor3D, nHead: number, layout: QkvLayout): tf.Tensor4D[] {
  const [b, t, e3] = qkv.shape;
  const d = e3 / 3 / nHead;
  if (layout === 'gpt2') {
    return tf.split(qkv, 3, -1).map((part) => tf.transpose(tf.reshape(part, [b, t, nHead, d]), [0, 2, 1, 3]) as tf.Tensor4D);
  }
  const perHead = tf.reshape(qkv, [b, t, nHead, 3, d]);
  return tf.split(perHead, 3, 3).map((part) => tf.transpose(tf.reshape(part, [b, t, nHead, d]), [0, 2, 1, 3]) as tf.Tensor4D);
}

/** [B, H, T, D] → [B, T, H·D]. */
function mergeHeads(x: tf.Tensor4D): tf.Tensor3D {
  const [b, h, t, d] = x.shape;
  return tf.reshape(tf.transpose(x, [0, 2, 1, 3]), [b, t, h * d]);
}

/** 0 where a query may look, MASKED elsewhere: [1 or B, 1, Tq, Tk]. */
function additiveMask(tq: number, tk: number, keyMask?: tf.Tensor): tf.Tensor {
  const past = tk - tq;
  const causal = new Float32Array(tq * tk);
  for (let i = 0; i < tq; i++) {
    for (let j = past + i + 1; j < tk; j++) causal[i * tk + j] = MASKED;
  }
  const mask = tf.tensor4d(causal, [1, 1, tq, tk]);
  if (!keyMask) return mask;
  const padding = tf.reshape(tf.mul(tf.sub(1, tf.cast(keyMask, 'float32')), MASKED), [keyMask.shape[0], 1, 1, tk]);
  return tf.add(mask, padding);
}

function nativeShape(qkv: tf.Tensor3D, o: AttentionOptions, tk: number, dropMask: Float32Array | null): AttentionShape {
  const [batch, tq, e3] = qkv.shape;
  return {
    batch,
    heads: o.nHead,
    headDim: e3 / 3 / o.nHead,
    tq,
    tk,
    layout: QKV_LAYOUT[o.layout],
    scale: o.scale,
    alibi: o.alibi ? f32(o.alibi) : null,
    alibiPerBatch: o.alibi ? o.alibi.shape[0] !== 1 : false,
    keyMask: o.keyMask ? Float32Array.from(o.keyMask.dataSync()) : null,
    dropMask,
  };
}

/** Whole sequences with a gradient: only the probabilities are kept for backward. */
function attentionTrainNative(qkv: tf.Tensor3D, o: AttentionOptions): tf.Tensor3D {
  const k = activeKernels()!;
  const [batch, t, e3] = qkv.shape;
  return fused([qkv], (save) => {
    // The trainer's seeded dropout applied to ones is exactly the mask it would apply to the probabilities.
    const dropMask = o.dropout ? f32(o.dropout(tf.ones([batch, o.nHead, t, t]))) : null;
    const shape = nativeShape(qkv, o, t, dropMask);
    const qkvData = f32(qkv);
    const probs = new Float32Array(batch * o.nHead * t * t);
    const y = new Float32Array(batch * t * (e3 / 3));
    k.attentionForward(shape, qkvData, probs, y);
    save([tensorOf(probs, [batch, o.nHead, t, t])]);
    return {
      value: tensorOf<tf.Rank.R3>(y, [batch, t, e3 / 3]),
      gradFunc: (dy, [savedProbs]) => {
        const dqkv = new Float32Array(qkv.size);
        k.attentionBackward(shape, qkvData, f32(savedProbs), f32(dy), dqkv);
        return [tensorOf(dqkv, qkv.shape)];
      },
    };
  });
}

/** Generation: new positions against the cache, no gradient, the grown cache returned. */
function attentionDecodeNative(qkv: tf.Tensor3D, o: AttentionOptions): AttentionResult {
  const k = activeKernels()!;
  const [batch, tq, e3] = qkv.shape;
  const headDim = e3 / 3 / o.nHead;
  const tk = (o.past?.k.shape[2] ?? 0) + tq;
  const presentK = new Float32Array(batch * o.nHead * tk * headDim);
  const presentV = new Float32Array(presentK.length);
  const y = new Float32Array(batch * tq * (e3 / 3));
  k.attentionDecode(nativeShape(qkv, o, tk, null), f32(qkv), o.past ? f32(o.past.k) : null, o.past ? f32(o.past.v) : null, presentK, presentV, y);
  const cacheShape = [batch, o.nHead, tk, headDim];
  return {
    y: tensorOf(y, [batch, tq, e3 / 3]),
    cache: o.keepCache ? { k: tensorOf(presentK, cacheShape), v: tensorOf(presentV, cacheShape) } : undefined,
  };
}
