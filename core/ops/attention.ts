import { tf } from '../engine/backend';

export interface AttentionOptions {
  /** Multiplies q·kᵀ (1/sqrt(head_dim), possibly divided further by the layer index). */
  scale: number;
  /** BLOOM's ALiBi bias [B or 1, H, 1, Tk], added unscaled to the scores as BLOOM's baddbmm does. */
  alibi?: tf.Tensor;
  /** [B, Tk]: 1 for real tokens, 0 for padding that no query may attend to. */
  keyMask?: tf.Tensor;
  dropout?: (probs: tf.Tensor) => tf.Tensor;
}

/** Large enough to zero a softmax weight, small enough that adding ALiBi cannot overflow. */
const MASKED = -1e9;

/**
 * Causal self-attention on heads already split: q [B, H, Tq, D], k and v [B, H, Tk, D]
 * with Tk ≥ Tq. The queries are the last Tq positions (earlier ones come from the KV
 * cache), so query i may see keys 0 … Tk − Tq + i.
 */
export function causalAttention(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, opts: AttentionOptions): tf.Tensor4D {
  return tf.tidy(() => {
    const [, , tq] = q.shape;
    const tk = k.shape[2];
    let scores: tf.Tensor = tf.mul(tf.matMul(q, k, false, true), opts.scale);
    if (opts.alibi) scores = tf.add(scores, opts.alibi);
    scores = tf.add(scores, additiveMask(tq, tk, opts.keyMask));
    let probs = tf.softmax(scores, -1);
    if (opts.dropout) probs = opts.dropout(probs);
    return tf.matMul(probs, v) as tf.Tensor4D;
  });
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

/** [B, T, H·D] → [B, H, T, D]. */
export function splitHeads(x: tf.Tensor, nHead: number): tf.Tensor4D {
  const [b, t, e] = x.shape;
  return tf.transpose(tf.reshape(x, [b, t, nHead, e / nHead]), [0, 2, 1, 3]);
}

/** [B, H, T, D] → [B, T, H·D]. */
export function mergeHeads(x: tf.Tensor4D): tf.Tensor3D {
  const [b, h, t, d] = x.shape;
  return tf.reshape(tf.transpose(x, [0, 2, 1, 3]), [b, t, h * d]);
}
