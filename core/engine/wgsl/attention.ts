// Attention's masked softmax in two WGSL kernels. The plain-tfjs twin (core/ops/attention.ts)
// builds a [1 or B, 1, Tq, Tk] additive mask, then scales, adds ALiBi, adds the mask and takes
// the softmax, each a full [B, H, Tq, Tk] temporary that autodiff keeps for backward. Here
// one kernel reads the raw q·kᵀ scores and writes the probabilities, making the causal and
// padding mask and the ALiBi bias as it goes, with the twin's arithmetic in the twin's order;
// backward needs only the probabilities.
import * as tf from '@tensorflow/tfjs';
import { f32u, i32u, reduceRow, runRowKernel } from './program';

/** As core/ops/attention.ts: zeroes a softmax weight, and adding ALiBi to it cannot overflow. */
const MASKED = -1e9;

export interface SoftmaxMask {
  /** Multiplies the raw scores. */
  scale: number;
  /** [B or 1, H, 1, Tk], added after scaling. */
  alibi?: tf.Tensor;
  /** [B, Tk]: 0 where a key is padding. */
  keyMask?: tf.Tensor;
}

function probabilities(raw: tf.Tensor4D, o: SoftmaxMask): tf.Tensor4D {
  const [b, h, tq, tk] = raw.shape;
  const alibiPerBatch = o.alibi ? o.alibi.shape[0] !== 1 : false;
  // keyMask is read as given (int32 or float32): f32() takes either.
  const inputs = [raw, ...(o.alibi ? [o.alibi] : []), ...(o.keyMask ? [o.keyMask] : [])];
  // score(j) in the twin's order: (raw·scale + alibi) + (causal + padding).
  const score = `fn score(row : i32, j : i32) -> f32 {
    let bh = row / uniforms.tq;
    let i = row - bh * uniforms.tq;
    let batch = bh / uniforms.heads;
    var s = raw[row * uniforms.tk + j] * uniforms.scale;
    ${o.alibi ? `s = s + alibi[(${alibiPerBatch ? 'bh' : '(bh - batch * uniforms.heads)'}) * uniforms.tk + j];` : ''}
    var m = select(0.0, ${MASKED.toExponential()}, j > uniforms.tk - uniforms.tq + i);
    ${o.keyMask ? `m = m + (1.0 - f32(keyMask[batch * uniforms.tk + j])) * ${MASKED.toExponential()};` : ''}
    return s + m;
  }`;
  return runRowKernel(
    {
      key: `tunesmith_masked_softmax_${o.alibi ? (alibiPerBatch ? 'alibiB' : 'alibi1') : ''}_${o.keyMask ? 'pad' : ''}`,
      inputs: ['raw', ...(o.alibi ? ['alibi'] : []), ...(o.keyMask ? ['keyMask'] : [])],
      outputShape: [b, h, tq, tk],
      rows: b * h * tq,
      cols: tk,
      uniforms: 'heads : i32, tq : i32, tk : i32, scale : f32,',
      prelude: score,
      body: `
  var mx = -3.402823e+38f;
  if (valid) { for (var j = tid; j < uniforms.tk; j += WG) { mx = max(mx, score(row, j)); } }
  buf[tid] = mx;
  ${reduceRow((a, c) => `max(${a}, ${c})`)}
  let rowMax = buf[0];
  workgroupBarrier();
  var s = 0.0;
  if (valid) { for (var j = tid; j < uniforms.tk; j += WG) { s += exp(score(row, j) - rowMax); } }
  buf[tid] = s;
  ${reduceRow((a, c) => `${a} + ${c}`)}
  let total = buf[0];
  if (valid) {
    for (var j = tid; j < uniforms.tk; j += WG) { result[row * uniforms.tk + j] = exp(score(row, j) - rowMax) / total; }
  }`,
    },
    inputs,
    [i32u(h), i32u(tq), i32u(tk), f32u(o.scale)],
  ) as tf.Tensor4D;
}

/** d raw = scale · p · (dp − Σⱼ dpⱼ pⱼ), row by row: softmax's gradient times the scale. */
function rawGradient(probs: tf.Tensor4D, dprobs: tf.Tensor4D, scale: number): tf.Tensor4D {
  const [b, h, tq, tk] = probs.shape;
  return runRowKernel(
    {
      key: 'tunesmith_masked_softmax_grad',
      inputs: ['probs', 'dprobs'],
      outputShape: [b, h, tq, tk],
      rows: b * h * tq,
      cols: tk,
      uniforms: 'tk : i32, scale : f32,',
      body: `
  let base = row * uniforms.tk;
  var s = 0.0;
  if (valid) { for (var j = tid; j < uniforms.tk; j += WG) { s += dprobs[base + j] * probs[base + j]; } }
  buf[tid] = s;
  ${reduceRow((a, c) => `${a} + ${c}`)}
  let dot = buf[0];
  if (valid) {
    for (var j = tid; j < uniforms.tk; j += WG) {
      let p = probs[base + j];
      result[base + j] = (dprobs[base + j] * p - p * dot) * uniforms.scale;
    }
  }`,
    },
    [probs, dprobs],
    [i32u(tk), f32u(scale)],
  ) as tf.Tensor4D;
}

/**
 * softmax(raw · scale + alibi + causal and padding mask) over the last axis of raw [B, H, Tq,
 * Tk], where the Tq queries are the last of the Tk positions. Differentiable in raw only:
 * ALiBi and the key mask are constants.
 */
export function maskedSoftmaxWebgpu(raw: tf.Tensor4D, o: SoftmaxMask): tf.Tensor4D {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x, save] = args as [tf.Tensor4D, tf.GradSaveFunc];
    const value = probabilities(x, o);
    save([value]);
    return { value, gradFunc: (dy: tf.Tensor, [p]: tf.Tensor[]) => rawGradient(p as tf.Tensor4D, dy as tf.Tensor4D, o.scale) };
  });
  return op(raw) as tf.Tensor4D;
}
