// Σ g² over every gradient, the global norm gradient clipping needs, without the twin's
// squared copy of each gradient: in its tidy those copies are all alive at once, a second
// set of gradients (500 MB for a full fine-tune of GPT-2 124M). Here each thread sums the
// squares of a run of elements and only those partial sums are kept.
import * as tf from '@tensorflow/tfjs';
import { i32u, runKernel } from './program';

/** Elements each thread sums. */
const RUN = 256;

/** [⌈n / RUN⌉] partial sums of squares of x's elements. */
function partialSums(x: tf.Tensor): tf.Tensor1D {
  const parts = Math.ceil(x.size / RUN);
  return runKernel(
    {
      key: 'tunesmith_sum_squares',
      inputs: ['x'],
      outputShape: [parts],
      workgroup: 64,
      workgroups: Math.ceil(parts / 64),
      uniforms: 'total : i32, parts : i32,',
      body: `
  if (index >= uniforms.parts) { return; }
  var s = 0.0;
  for (var i = index * ${RUN}; i < min(uniforms.total, (index + 1) * ${RUN}); i++) { s += x[i] * x[i]; }
  result[index] = s;`,
    },
    [tf.reshape(x, [x.size])],
    [i32u(x.size), i32u(parts)],
  ) as tf.Tensor1D;
}

export function gradSumSquaresWebgpu(grads: tf.Tensor[]): number {
  return tf.tidy(() => tf.addN(grads.map((g) => tf.sum(partialSums(g))))).dataSync()[0];
}
