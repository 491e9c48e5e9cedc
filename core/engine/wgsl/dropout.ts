// Dropout on the GPU with core/ops/dropout.ts's counter-based generator, bit for bit: the twin
// makes its mask in a JavaScript loop and uploads it, a [B, H, T, T] float32 upload per
// attention layer per step. Here each thread makes its element's bits from (key, index), so
// forward and backward make the same mask and nothing is uploaded.
import * as tf from '@tensorflow/tfjs';
import { f32u, i32u, runKernel, u32u } from './program';

const WORKGROUP = 256;

function apply(x: tf.Tensor, key: number, threshold: number, scale: number): tf.Tensor {
  return runKernel(
    {
      key: 'tunesmith_dropout',
      inputs: ['x'],
      outputShape: [x.size],
      workgroup: WORKGROUP,
      workgroups: Math.ceil(x.size / WORKGROUP),
      uniforms: 'key : u32, threshold : u32, scale : f32, total : i32,',
      // murmur3's finaliser, as mix() in core/ops/dropout.ts.
      prelude: `fn mix(h0 : u32) -> u32 {
    var h = h0;
    h = h ^ (h >> 16u);
    h = h * 0x85ebca6bu;
    h = h ^ (h >> 13u);
    h = h * 0xc2b2ae35u;
    h = h ^ (h >> 16u);
    return h;
  }`,
      body: `
  if (index >= uniforms.total) { return; }
  let bits = mix(mix(u32(index) ^ uniforms.key) + uniforms.key);
  result[index] = x[index] * select(0.0, uniforms.scale, bits >= uniforms.threshold);`,
    },
    [tf.reshape(x, [x.size])],
    [u32u(key), u32u(threshold), f32u(scale), i32u(x.size)],
  ).reshape(x.shape);
}

/** x · (bits(key, i) >= threshold ? scale : 0) element by element, differentiable. */
export function dropoutWebgpu(x: tf.Tensor, key: number, threshold: number, scale: number): tf.Tensor {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [input] = args as [tf.Tensor];
    return { value: tf.tidy(() => apply(input, key, threshold, scale)), gradFunc: (dy: tf.Tensor) => tf.tidy(() => apply(dy, key, threshold, scale)) };
  });
  return op(x);
}
