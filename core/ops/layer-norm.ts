import { activeKernels, tensorsOnGpu, tf } from '../engine/backend';
import { layerNormWebgpu } from '../engine/wgsl/layer-norm';
import { f32, fused, isTrained, tensorOf } from './native-tensors';

/** LayerNorm over the last axis with the biased variance, as torch.nn.LayerNorm. */
export function layerNorm(x: tf.Tensor, weight: tf.Tensor, bias: tf.Tensor, eps: number): tf.Tensor {
  if (activeKernels()) return layerNormNative(x, weight, bias, eps);
  return tensorsOnGpu() ? layerNormWebgpu(x, weight, bias, eps) : layerNormReference(x, weight, bias, eps);
}

/** The plain-tfjs twin: runs on every backend and is the native kernel's test oracle. */
export function layerNormReference(x: tf.Tensor, weight: tf.Tensor, bias: tf.Tensor, eps: number): tf.Tensor {
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(x, -1, true);
    const normed = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps)));
    return tf.add(tf.mul(normed, weight), bias);
  });
}

export function layerNormNative(x: tf.Tensor, weight: tf.Tensor, bias: tf.Tensor, eps: number): tf.Tensor {
  const k = activeKernels()!;
  const cols = x.shape[x.shape.length - 1]!;
  const rows = x.size / cols;
  const trainGamma = isTrained(weight);
  const trainBeta = isTrained(bias);
  const inputs = [x, ...(trainGamma ? [weight] : []), ...(trainBeta ? [bias] : [])];
  return fused(inputs, (save) => {
    const xs = f32(x);
    const gamma = f32(weight);
    const y = new Float32Array(x.size);
    const mean = new Float32Array(rows);
    const rstd = new Float32Array(rows);
    k.layerNormForward(xs, gamma, f32(bias), rows, cols, eps, y, mean, rstd);
    save([tensorOf(mean, [rows]), tensorOf(rstd, [rows])]);
    return {
      value: tensorOf(y, x.shape),
      gradFunc: (dy, [savedMean, savedRstd]) => {
        const dx = new Float32Array(x.size);
        const dgamma = trainGamma ? new Float32Array(cols) : null;
        const dbeta = trainBeta ? new Float32Array(cols) : null;
        k.layerNormBackward(xs, gamma, f32(savedMean), f32(savedRstd), f32(dy), rows, cols, dx, dgamma, dbeta);
        return [tensorOf(dx, x.shape), ...(dgamma ? [tensorOf(dgamma, [cols])] : []), ...(dbeta ? [tensorOf(dbeta, [cols])] : [])];
      },
    };
  });
}
