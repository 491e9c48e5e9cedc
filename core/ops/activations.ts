import { activeKernels, tf } from '../engine/backend';
import { ACTIVATION_KIND } from '../engine/native-kernels';
import type { Activation } from '../models/config';
import { f32, fused, tensorOf } from './native-tensors';

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

/** GPT-2's `gelu_new`: the tanh approximation with sqrt(2/pi) at full precision. */
export function geluNew(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const inner = tf.mul(tf.add(x, tf.mul(tf.pow(x, 3), 0.044715)), SQRT_2_OVER_PI);
    return tf.mul(tf.mul(x, 0.5), tf.add(tf.tanh(inner), 1));
  });
}

/** BLOOM's GELU: the same curve written with the truncated constant 0.79788456 its code uses. */
export function geluBloom(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const inner = tf.mul(tf.mul(x, 0.79788456), tf.add(tf.mul(tf.square(x), 0.044715), 1));
    return tf.mul(tf.mul(x, 0.5), tf.add(tf.tanh(inner), 1));
  });
}

/** The exact erf GELU (`activation_function: "gelu"`). */
export function geluExact(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1)));
}

export function activate(kind: Activation, x: tf.Tensor): tf.Tensor {
  return activeKernels() ? activateNative(kind, x) : activateReference(kind, x);
}

/** The plain-tfjs twins: they run on every backend and are the native kernel's test oracle. */
export function activateReference(kind: Activation, x: tf.Tensor): tf.Tensor {
  switch (kind) {
    case 'gelu_new':
      return geluNew(x);
    case 'gelu_bloom':
      return geluBloom(x);
    case 'gelu':
      return geluExact(x);
    case 'relu':
      return tf.relu(x);
  }
}

export function activateNative(kind: Activation, x: tf.Tensor): tf.Tensor {
  const k = activeKernels()!;
  const code = ACTIVATION_KIND[kind];
  return fused([x], () => {
    const xs = f32(x);
    const y = new Float32Array(x.size);
    k.activationForward(code, xs, y);
    return {
      value: tensorOf(y, x.shape),
      gradFunc: (dy) => {
        const dx = new Float32Array(x.size);
        k.activationBackward(code, xs, f32(dy), dx);
        return [tensorOf(dx, x.shape)];
      },
    };
  });
}
