import { tf } from '../engine/backend';

/**
 * How a checkpoint stores a projection: GPT-2's Conv1D keeps [in, out], torch's
 * nn.Linear (BLOOM) keeps [out, in]. Weights stay in their checkpoint layout so
 * export writes them back untouched.
 */
export type WeightLayout = 'in_out' | 'out_in';

/** A LoRA pair on one projection, in PEFT's layout: A is [r, in], B is [out, r]. */
export interface LoraPair {
  a: tf.Tensor;
  b: tf.Tensor;
  scale: number;
}

/**
 * y = x·W + b, plus the LoRA path (dropout(x)·Aᵀ)·Bᵀ·scale without ever forming A·B,
 * so a frozen base weight is read, never copied.
 */
export function linear(
  x: tf.Tensor,
  weight: tf.Tensor,
  bias: tf.Tensor | undefined,
  layout: WeightLayout,
  lora?: LoraPair,
  loraDropout: (t: tf.Tensor) => tf.Tensor = (t) => t,
): tf.Tensor {
  return tf.tidy(() => {
    const inDim = x.shape[x.shape.length - 1]!;
    const lead = x.shape.slice(0, -1);
    const x2 = tf.reshape(x, [-1, inDim]);
    let y = tf.matMul(x2, weight, false, layout === 'out_in');
    if (bias) y = tf.add(y, bias);
    if (lora) {
      const down = tf.matMul(loraDropout(x2), lora.a, false, true);
      y = tf.add(y, tf.mul(tf.matMul(down, lora.b, false, true), lora.scale));
    }
    return tf.reshape(y, [...lead, -1]);
  });
}
