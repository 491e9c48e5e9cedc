import { tf } from '../engine/backend';
import type { Activation } from '../models/config';

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
