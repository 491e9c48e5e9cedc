// Attention's masked softmax in two WGSL kernels. The plain-tfjs twin (core/ops/attention.ts)
// builds a [1 or B, 1, Tq, Tk] additive mask, then scales, adds ALiBi, adds the mask and takes
// the softmax, each a full [B, H, Tq, Tk] temporary that autodiff keeps for backward. Here
// one kernel reads the raw q·kᵀ scores and writes the probabilities, making the causal and
// padding mask and the ALiBi bias as it goes, with the twin's arithmetic in the twin's order;
// backward needs only the probabilities.
import * as tf from '@tensorflow/tfjs';
import { f32u, i32u, reduceRow, runRowKernel } from './program';

/** The additive mask, here and in the twin (core/ops/attention.ts): large enough to zero a softmax weight, small enough that adding ALiBi cannot overflow. */
export const MASKED = -1e9;

export interface SoftmaxMask {
  /** Multiplies the raw scores. */
  scale: number;
  /** [B or 1, H, 1, Tk], added after scaling. */
  alibi?: tf.Tensor;
  /** [B, Tk]: 0 where a key is padding. */
  keyMask?: tf.Tensor;
}

/** The optional ALiBi and key-mask inputs of a kernel that masks scores, and their part of its key. */
export function maskInputs(o: SoftmaxMask): { names: string[]; tensors: tf.Tensor[]; key: string } {
  return {
    names: [...(o.alibi ? ['alibi'] : []), ...(o.keyMask ? ['keyMask'] : [])],
    // keyMask is read as given (int32 or float32): f32() takes either.
    tensors: [...(o.alibi ? [o.alibi] : []), ...(o.keyMask ? [o.keyMask] : [])],
    key: `${o.alibi ? (o.alibi.shape[0] !== 1 ? 'alibiB' : 'alibi1') : ''}_${o.keyMask ? 'pad' : ''}`,
  };
}

/**
 * WGSL that turns the scaled score `s` of query i against key j into the twin's masked one,
 * in the twin's order: s + alibi, then + (causal + padding). Each kernel names where its
 * indices live: the (batch·H + head) row `bh`, the `head`, the `batch`, the key count `tk`,
 * and `future`, true where key j comes after query i.
 */
export function maskScore(o: SoftmaxMask, at: { bh: string; head: string; batch: string; tk: string; future: string }): string {
  const alibiRow = o.alibi && o.alibi.shape[0] !== 1 ? at.bh : at.head;
  return `${o.alibi ? `s = s + alibi[(${alibiRow}) * ${at.tk} + j];` : ''}
    var m = select(0.0, ${MASKED.toExponential()}, ${at.future});
    ${o.keyMask ? `m = m + (1.0 - f32(keyMask[${at.batch} * ${at.tk} + j])) * ${MASKED.toExponential()};` : ''}
    return s + m;`;
}

function probabilities(raw: tf.Tensor4D, o: SoftmaxMask): tf.Tensor4D {
  const [b, h, tq, tk] = raw.shape;
  const mask = maskInputs(o);
  const score = `fn score(row : i32, j : i32) -> f32 {
    let bh = row / uniforms.tq;
    let i = row - bh * uniforms.tq;
    let batch = bh / uniforms.heads;
    var s = raw[row * uniforms.tk + j] * uniforms.scale;
    ${maskScore(o, { bh: 'bh', head: '(bh - batch * uniforms.heads)', batch: 'batch', tk: 'uniforms.tk', future: 'j > uniforms.tk - uniforms.tq + i' })}
  }`;
  return runRowKernel(
    {
      key: `tunesmith_masked_softmax_${mask.key}`,
      inputs: ['raw', ...mask.names],
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
    [raw, ...mask.tensors],
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
