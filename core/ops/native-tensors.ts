// Glue between tfjs tensors and the compiled kernels: the cpu backend keeps each tensor's
// values in a plain Float32Array, which the kernels read and write in place.
import { tf } from '../engine/backend';

/** The Float32Array behind a cpu-backend tensor: shared, not copied, so never write to it. */
export function f32(t: tf.Tensor): Float32Array {
  const data = t.dataSync();
  if (!(data instanceof Float32Array)) throw new Error(`expected a float32 tensor, got ${t.dtype}`);
  return data;
}

/** The ids behind an int32 tensor, converted only when they are stored otherwise. */
export function i32(t: tf.Tensor): Int32Array {
  const data = t.dataSync();
  return data instanceof Int32Array ? data : Int32Array.from(data as ArrayLike<number>);
}

export function tensorOf<R extends tf.Rank>(data: Float32Array, shape: number[]): tf.Tensor<R> {
  return tf.tensor(data, shape as tf.ShapeMap[R], 'float32') as tf.Tensor<R>;
}

/**
 * Whether backprop can want this weight's gradient. Frozen weights (LoRA's base model) are
 * plain tensors, so their gradients, often the largest matmuls, are never computed.
 */
export function isTrained(t: tf.Tensor | undefined): t is tf.Tensor {
  return t instanceof tf.Variable && t.trainable;
}

export interface Fused<T extends tf.Tensor> {
  value: T;
  /** One gradient per differentiable input, in order. */
  gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor[];
}

/**
 * A fused op under tf.customGrad, differentiable in `inputs` only. Buffers the forward pass
 * keeps for backward go through `save` so tfjs accounts for and frees them.
 */
export function fused<T extends tf.Tensor>(inputs: tf.Tensor[], body: (save: tf.GradSaveFunc) => Fused<T>): T {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => body(args[args.length - 1] as tf.GradSaveFunc));
  return op(...inputs) as T;
}
