import { activeKernels, tensorsOnGpu, tf } from '../engine/backend';
import { MASKED, maskedSoftmaxWebgpu } from '../engine/wgsl/attention';
import { flashAttentionWebgpu, flashNeeded } from '../engine/wgsl/flash-attention';
import { QKV_LAYOUT, type AttentionShape } from '../engine/native-kernels';
import { bf16Autocast, bf16KernelPresent, matMulAutocast } from './bf16';
import { dropout, dropoutParams, dropoutReference, type DropoutCall } from './dropout';
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
  /**
   * Dropout on the attention probabilities (training only): one call of the run's stream, its
   * mask over the [B, H, Tq, Tk] probabilities made inside the kernel (by the twin, in JavaScript).
   */
  dropout?: DropoutCall;
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
 * positions (earlier ones come from `past`), so query i may see keys 0 … T_past + i. Under bf16
 * autocast q·kᵀ and p·v take bf16-rounded inputs (fp32 accumulation); mask, softmax and dropout stay fp32.
 */
export function selfAttention(qkv: tf.Tensor3D, o: AttentionOptions): AttentionResult {
  const kernels = activeKernels();
  const bf16 = bf16Autocast();
  // Under bf16 autocast without a bf16 kernel (other backends) the twin emulates it.
  if (!kernels) return tensorsOnGpu() && !bf16 ? selfAttentionWebgpu(qkv, o) : selfAttentionReference(qkv, o);
  if (bf16 && !bf16KernelPresent()) return selfAttentionReference(qkv, o);
  return o.past || o.keepCache ? attentionDecodeNative(qkv, o, bf16) : { y: attentionTrainNative(qkv, o, bf16) };
}

/**
 * The plain-tfjs twin: runs on every backend and is the native kernel's test oracle (under bf16
 * autocast, its emulation: the products' inputs rounded, forward and backward).
 */
export function selfAttentionReference(qkv: tf.Tensor3D, o: AttentionOptions): AttentionResult {
  const bf16 = bf16Autocast();
  const [q, k, v] = splitQkv(qkv, o.nHead, o.layout);
  const kv = o.past ? { k: tf.concat([o.past.k, k], 2), v: tf.concat([o.past.v, v], 2) } : { k, v };
  const y = tf.tidy(() => {
    const [, , tq] = q.shape;
    const tk = kv.k.shape[2];
    let scores = matMulAutocast(q, kv.k, false, true, bf16, o.scale);
    if (o.alibi) scores = tf.add(scores, o.alibi);
    scores = tf.add(scores, additiveMask(tq, tk, o.keyMask));
    let probs = tf.softmax(scores, -1);
    if (o.dropout) probs = dropoutReference(probs, o.dropout.rate, o.dropout.seed, o.dropout.call);
    return mergeHeads(matMulAutocast(probs, kv.v, false, false, bf16) as tf.Tensor4D);
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
    if (o.dropout) probs = dropout(probs, o.dropout.rate, o.dropout.seed, o.dropout.call);
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

function nativeShape(qkv: tf.Tensor3D, o: AttentionOptions, tk: number, bf16: boolean): AttentionShape {
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
    dropout: o.dropout ? dropoutParams(o.dropout.rate, o.dropout.seed, o.dropout.call) : null,
    bf16,
  };
}

/**
 * Whole sequences with a gradient, flash-style: backward recomputes the probabilities (and the
 * dropout mask) from qkv and each row's softmax max and 1/sum, the only thing kept besides qkv.
 */
function attentionTrainNative(qkv: tf.Tensor3D, o: AttentionOptions, bf16: boolean): tf.Tensor3D {
  const k = activeKernels()!;
  const [batch, t, e3] = qkv.shape;
  return fused([qkv], (save) => {
    const shape = nativeShape(qkv, o, t, bf16);
    const qkvData = f32(qkv);
    const stats = new Float32Array(batch * o.nHead * t * 2);
    const y = new Float32Array(batch * t * (e3 / 3));
    k.attentionForward(shape, qkvData, stats, y);
    save([tensorOf(stats, [batch, o.nHead, t, 2])]);
    return {
      value: tensorOf<tf.Rank.R3>(y, [batch, t, e3 / 3]),
      gradFunc: (dy, [savedStats]) => {
        const dqkv = new Float32Array(qkv.size);
        k.attentionBackward(shape, qkvData, f32(savedStats), f32(dy), dqkv);
        return [tensorOf(dqkv, qkv.shape)];
      },
    };
  });
}

/** Generation: new positions against the cache, no gradient, the grown cache returned. */
function attentionDecodeNative(qkv: tf.Tensor3D, o: AttentionOptions, bf16: boolean): AttentionResult {
  const k = activeKernels()!;
  const [batch, tq, e3] = qkv.shape;
  const headDim = e3 / 3 / o.nHead;
  const tk = (o.past?.k.shape[2] ?? 0) + tq;
  const presentK = new Float32Array(batch * o.nHead * tk * headDim);
  const presentV = new Float32Array(presentK.length);
  const y = new Float32Array(batch * tq * (e3 / 3));
  k.attentionDecode(nativeShape(qkv, o, tk, bf16), f32(qkv), o.past ? f32(o.past.k) : null, o.past ? f32(o.past.v) : null, presentK, presentV, y);
  const cacheShape = [batch, o.nHead, tk, headDim];
  return {
    y: tensorOf(y, [batch, tq, e3 / 3]),
    cache: o.keepCache ? { k: tensorOf(presentK, cacheShape), v: tensorOf(presentV, cacheShape) } : undefined,
  };
}
