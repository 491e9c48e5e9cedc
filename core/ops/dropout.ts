// Dropout whose mask comes from a counter-based generator: element i of call c in a run
// with seed s keeps its value when bits(key(s, c), i) >= rate·2³². Any element's bit can be
// made alone and in any order, so the native kernel makes them on every thread, backward
// regenerates the mask instead of keeping it, and a resumed run (which restores c) repeats
// the stream exactly. This file holds the reference generator; core/native/src/kernels.h
// has the same function, and test/native-ops.test.ts compares the two bit for bit.
import { activeKernels, tensorsOnGpu, tf } from '../engine/backend';
import type { DropoutParams } from '../engine/native-kernels';
import { dropoutWebgpu } from '../engine/wgsl/dropout';
import { f32, fused, tensorOf } from './native-tensors';

/** murmur3's 32-bit finaliser. */
function mix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The key of one dropout call: its run's seed and its number in the run. */
export function dropoutKey(seed: number, call: number): number {
  return mix((Math.imul(seed >>> 0, 0x9e3779b9) ^ mix((call + 0x632be5ab) >>> 0)) >>> 0);
}

/** 32 random bits for element `i` of the call with this key (kernels.h dropout_bits). */
export function dropoutBits(key: number, i: number): number {
  return mix((mix((i ^ key) >>> 0) + key) >>> 0);
}

/** One call of a run's dropout stream: all a kernel needs to make the call's mask itself. */
export interface DropoutCall {
  rate: number;
  seed: number;
  call: number;
}

/**
 * A run's dropout stream (the trainer's SeededDropout): each draw takes the next call number,
 * whether a kernel makes the call's mask inside (attention, LoRA input) or `dropoutFrom` applies it as an op.
 */
export interface DropoutStream {
  draw(rate: number): DropoutCall;
}

/** x through the stream's next dropout call (x itself at rate 0, which takes no call). */
export function dropoutFrom(stream: DropoutStream, x: tf.Tensor, rate: number): tf.Tensor {
  if (rate <= 0) return x;
  const { seed, call } = stream.draw(rate);
  return dropout(x, rate, seed, call);
}

/** What the kernels take: the call's key, the keep threshold on its bits and the scale of kept values. */
export function dropoutParams(rate: number, seed: number, call: number): DropoutParams {
  if (!(rate >= 0 && rate < 1)) throw new Error(`dropout rate must be in [0, 1), got ${rate}`);
  return { key: dropoutKey(seed, call), threshold: Math.min(2 ** 32 - 1, Math.floor(rate * 2 ** 32)), scale: Math.fround(1 / (1 - rate)) };
}

/** x with each element kept and scaled by 1/(1 − rate), or zeroed, by call `call` of a run seeded `seed`. */
export function dropout(x: tf.Tensor, rate: number, seed: number, call: number): tf.Tensor {
  if (activeKernels()) return dropoutNative(x, rate, seed, call);
  if (!tensorsOnGpu()) return dropoutReference(x, rate, seed, call);
  const { key, threshold, scale } = dropoutParams(rate, seed, call);
  return dropoutWebgpu(x, key, threshold, scale);
}

/** The plain-tfjs twin: the mask made element by element in JavaScript, then a multiply. */
export function dropoutReference(x: tf.Tensor, rate: number, seed: number, call: number): tf.Tensor {
  return tf.tidy(() => tf.mul(x, tensorOf(dropoutMask(x.size, dropoutParams(rate, seed, call)), x.shape)));
}

/** The call's mask over its first `size` elements: scale where kept, 0 where dropped. */
function dropoutMask(size: number, { key, threshold, scale }: DropoutParams): Float32Array {
  const mask = new Float32Array(size);
  for (let i = 0; i < size; i++) mask[i] = dropoutBits(key, i) >= threshold ? scale : 0;
  return mask;
}

export function dropoutNative(x: tf.Tensor, rate: number, seed: number, call: number): tf.Tensor {
  const k = activeKernels()!;
  const { key, threshold, scale } = dropoutParams(rate, seed, call);
  const apply = (t: tf.Tensor) => {
    const out = new Float32Array(t.size);
    k.dropout(f32(t), key, threshold, scale, out);
    return tensorOf(out, t.shape);
  };
  return fused([x], () => ({ value: apply(x), gradFunc: (dy) => [apply(dy)] }));
}
