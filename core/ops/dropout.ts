// Dropout whose mask comes from a counter-based generator: element i of call c in a run
// with seed s keeps its value when bits(key(s, c), i) >= rate·2³². Any element's bit can be
// made alone and in any order, so the native kernel makes them on every thread, backward
// regenerates the mask instead of keeping it, and a resumed run (which restores c) repeats
// the stream exactly. This file holds the reference generator; core/native/src/kernels.h
// has the same function, and test/native-ops.test.ts compares the two bit for bit.
import { activeKernels, tf } from '../engine/backend';
import type { DropoutParams } from '../engine/native-kernels';
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

/** One call of a run's dropout stream: its rate, the run's seed and the call's number. */
export interface DropoutDraw {
  rate: number;
  seed: number;
  call: number;
}

/** A run's dropout stream (the trainer's SeededDropout): each draw takes the next call number. */
export interface DropoutStream {
  draw(rate: number): DropoutDraw;
}

/** x through the stream's next dropout call (x itself at rate 0, which takes no call). */
export function dropoutFrom(stream: DropoutStream, x: tf.Tensor, rate: number): tf.Tensor {
  if (rate <= 0) return x;
  const { seed, call } = stream.draw(rate);
  return dropout(x, rate, seed, call);
}

/** What a kernel needs to make one call's mask itself. */
export function dropoutParams({ rate, seed, call }: DropoutDraw): DropoutParams {
  if (!(rate >= 0 && rate < 1)) throw new Error(`dropout rate must be in [0, 1), got ${rate}`);
  return { key: dropoutKey(seed, call), threshold: Math.min(2 ** 32 - 1, Math.floor(rate * 2 ** 32)), scale: Math.fround(1 / (1 - rate)) };
}

/** x with each element kept and scaled by 1/(1 − rate), or zeroed, by call `call` of a run seeded `seed`. */
export function dropout(x: tf.Tensor, rate: number, seed: number, call: number): tf.Tensor {
  return activeKernels() ? dropoutNative(x, rate, seed, call) : dropoutReference(x, rate, seed, call);
}

/** The plain-tfjs twin: the mask made element by element in JavaScript, then a multiply. */
export function dropoutReference(x: tf.Tensor, rate: number, seed: number, call: number): tf.Tensor {
  const { key, threshold, scale } = dropoutParams({ rate, seed, call });
  const mask = new Float32Array(x.size);
  for (let i = 0; i < mask.length; i++) mask[i] = dropoutBits(key, i) >= threshold ? scale : 0;
  return tf.tidy(() => tf.mul(x, tensorOf(mask, x.shape)));
}

export function dropoutNative(x: tf.Tensor, rate: number, seed: number, call: number): tf.Tensor {
  const k = activeKernels()!;
  const { key, threshold, scale } = dropoutParams({ rate, seed, call });
  const apply = (t: tf.Tensor) => {
    const out = new Float32Array(t.size);
    k.dropout(f32(t), key, threshold, scale, out);
    return tensorOf(out, t.shape);
  };
  return fused([x], () => ({ value: apply(x), gradFunc: (dy) => [apply(dy)] }));
}
