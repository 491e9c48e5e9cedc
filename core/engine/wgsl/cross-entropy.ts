// Cross-entropy over the vocabulary in two WGSL kernels: forward reads each row of logits once
// for its max and once for its sum of exponentials, and keeps only (logsumexp, loss) per row;
// backward writes the gradient straight from the logits and that logsumexp. tfjs's generic
// path keeps a [B·T, V] softmax, a one-hot scatter and their difference alive at once: at
// GPT-2's 50257-wide vocabulary those are each 200 MB for b8 × seq 128.
import * as tf from '@tensorflow/tfjs';
import { i32u, reduceRow, runKernel, runRowKernel } from './program';

/** Per row [logsumexp, weight · (logsumexp − logit at the target)]: [rows, 2]. */
function rowLosses(logits: tf.Tensor2D, targets: tf.Tensor1D, weights: tf.Tensor1D): tf.Tensor2D {
  const [rows, vocab] = logits.shape;
  return runRowKernel(
    {
      key: 'tunesmith_ce_forward',
      inputs: ['logits', 'targets', 'weights'],
      outputShape: [rows, 2],
      rows,
      cols: vocab,
      uniforms: 'vocab : i32,',
      body: `
  let base = row * uniforms.vocab;
  var m = -3.402823e+38f;
  if (valid) { for (var c = tid; c < uniforms.vocab; c += WG) { m = max(m, logits[base + c]); } }
  buf[tid] = m;
  ${reduceRow((a, b) => `max(${a}, ${b})`)}
  let rowMax = buf[0];
  workgroupBarrier();
  var s = 0.0;
  if (valid) { for (var c = tid; c < uniforms.vocab; c += WG) { s += exp(logits[base + c] - rowMax); } }
  buf[tid] = s;
  ${reduceRow((a, b) => `${a} + ${b}`)}
  if (valid && tid == 0) {
    let lse = rowMax + log(buf[0]);
    result[row * 2] = lse;
    result[row * 2 + 1] = weights[row] * (lse - logits[base + targets[row]]);
  }`,
    },
    [logits, targets, weights],
    [i32u(vocab)],
  ) as tf.Tensor2D;
}

/** d(sum)/dlogits = (softmax − one-hot(target)) · weight · dy, element by element: [rows, V]. */
function logitsGradient(logits: tf.Tensor2D, targets: tf.Tensor1D, weights: tf.Tensor1D, stats: tf.Tensor2D, dy: tf.Tensor1D): tf.Tensor2D {
  const [rows, vocab] = logits.shape;
  const wg = 256;
  return runKernel(
    {
      key: 'tunesmith_ce_backward',
      inputs: ['logits', 'targets', 'weights', 'stats', 'dy'],
      outputShape: [rows, vocab],
      workgroup: wg,
      workgroups: Math.ceil((rows * vocab) / wg),
      uniforms: 'total : i32, vocab : i32,',
      body: `
  if (index >= uniforms.total) { return; }
  let row = index / uniforms.vocab;
  let col = index - row * uniforms.vocab;
  let scale = weights[row] * dy[0];
  let p = exp(logits[index] - stats[row * 2]);
  result[index] = select(p, p - 1.0, col == targets[row]) * scale;`,
    },
    [logits, targets, weights, stats, dy],
    [i32u(rows * vocab), i32u(vocab)],
  ) as tf.Tensor2D;
}

/**
 * Σ over rows of weight · (logsumexp(logits[row]) − logits[row, target[row]]), logits
 * [B, T, V]; targets and weights [B·T] (weight 0 skips a row).
 */
export function crossEntropySumWebgpu(logits: tf.Tensor3D, targets: Int32Array, weights: Float32Array): tf.Scalar {
  const [b, t, v] = logits.shape;
  const loss = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x, save] = args as [tf.Tensor3D, tf.GradSaveFunc];
    const target = tf.tensor1d(targets, 'int32');
    const weight = tf.tensor1d(weights);
    const flat = tf.reshape(x, [b * t, v]) as tf.Tensor2D;
    const stats = rowLosses(flat, target, weight);
    save([flat, target, weight, stats]);
    const value = tf.tidy(() => tf.sum(tf.slice(stats, [0, 1], [b * t, 1])) as tf.Scalar);
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [savedFlat, savedTarget, savedWeight, savedStats] = saved as [tf.Tensor2D, tf.Tensor1D, tf.Tensor1D, tf.Tensor2D];
        return tf.tidy(() => tf.reshape(logitsGradient(savedFlat, savedTarget, savedWeight, savedStats, tf.reshape(dy, [1])), [b, t, v]));
      },
    };
  });
  return loss(logits) as tf.Scalar;
}
