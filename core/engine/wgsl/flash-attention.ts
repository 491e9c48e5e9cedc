// Causal self-attention in flash style: scores are made tile by tile from q and k in
// registers and shared memory, with an online softmax, so no [B, H, T, T] tensor exists in
// forward or backward; forward keeps only the output and the softmax's max and sum per query. The
// scores use the twin's arithmetic in its order ((q·k·scale + alibi) + (causal + padding)
// with the additive −1e9 mask), so rows whose keys are all padding match it too. q, k and v
// are read straight from the fused projection qkv [B, T, 3E] in either layout.
// Used where the [B, H, T, T] scores cannot be bound at all (flashNeeded). Attention dropout
// is not made here: its mask belongs to the trainer's dropout closure.
import * as tf from '@tensorflow/tfjs';
import { f32u, i32u, reduceRow, runRowKernel, webgpuBackend } from './program';
import { maskInputs, maskScore, type SoftmaxMask } from './attention';

/** A row of the [B, H, T] grid a workgroup owns: its batch, head and position i. */
const HEAD_ROW = `let bh = row / uniforms.t;
  let i = row - bh * uniforms.t;
  let batch = bh / uniforms.heads;
  let h = bh - batch * uniforms.heads;`;

export interface FlashShape extends SoftmaxMask {
  heads: number;
  /** GPT-2 puts all of q, then k, then v along 3E; BLOOM each head's (q, k, v) together. */
  layout: 'gpt2' | 'bloom';
}

/** WGSL for the pieces every kernel here shares: where q/k/v live, and the twin's score. */
function common(o: FlashShape, d: number): string {
  const at = o.layout === 'gpt2' ? `part * uniforms.heads * ${d} + h * ${d} + dd` : `h * ${3 * d} + part * ${d} + dd`;
  return `
const D = ${d};
/** Element dd of head h of part (0 q, 1 k, 2 v) at position t of batch row b. */
fn qkvAt(b : i32, t : i32, part : i32, h : i32, dd : i32) -> f32 {
  return qkv[(b * uniforms.t + t) * 3 * uniforms.heads * D + ${at}];
}
/** The twin's masked score of query i against key j, given q·k. */
fn masked(dot : f32, b : i32, h : i32, i : i32, j : i32) -> f32 {
  var s = dot * uniforms.scale;
  ${maskScore(o, { bh: 'b * uniforms.heads + h', head: 'h', batch: 'b', tk: 'uniforms.t', future: 'j > i' })}
}`;
}

function extraInputs(o: FlashShape): { names: string[]; tensors: tf.Tensor[]; key: string } {
  const mask = maskInputs(o);
  return { ...mask, key: `${o.layout}_${mask.key}` };
}

/**
 * [B, H, T, D + 2]: each query's output over its head dimension, then its softmax's max and
 * sum. Not their logsumexp: at the −1e9 of a row whose keys are all masked, adding log(sum)
 * is lost to float32 rounding, and backward's probabilities with it.
 */
function forward(qkv: tf.Tensor3D, o: FlashShape): tf.Tensor4D {
  const [b, t, e3] = qkv.shape;
  const d = e3 / 3 / o.heads;
  const extra = extraInputs(o);
  return runRowKernel(
    {
      key: `tunesmith_flash_forward_${d}_${extra.key}`,
      inputs: ['qkv', ...extra.names],
      outputShape: [b, o.heads, t, d + 2],
      rows: b * o.heads * t,
      cols: t,
      uniforms: 'heads : i32, t : i32, scale : f32,',
      prelude: `${common(o, d)}
var<workgroup> qs : array<f32, ${d}>;
var<workgroup> ps : array<f32, WG>;
const PER = ${Math.ceil(d / 32)};`,
      body: `
  ${HEAD_ROW}
  for (var dd = tid; dd < D; dd += WG) { if (valid) { qs[dd] = qkvAt(batch, i, 0, h, dd); } }
  workgroupBarrier();
  var m = -3.402823e+38f;
  var l = 0.0;
  var acc : array<f32, PER>;
  for (var start = 0; start < uniforms.t; start += WG) {
    let j = start + tid;
    var s = -3.402823e+38f;
    if (valid && j < uniforms.t) {
      var dot = 0.0;
      for (var dd = 0; dd < D; dd++) { dot += qs[dd] * qkvAt(batch, j, 1, h, dd); }
      s = masked(dot, batch, h, i, j);
    }
    buf[tid] = s;
    ${reduceRow((x, y) => `max(${x}, ${y})`)}
    let newM = max(m, buf[0]);
    workgroupBarrier();
    let p = select(0.0, exp(s - newM), valid && j < uniforms.t);
    buf[tid] = p;
    ps[tid] = p;
    ${reduceRow((x, y) => `${x} + ${y}`)}
    let shrink = exp(m - newM);
    l = l * shrink + buf[0];
    for (var r = 0; r < PER; r++) {
      let dd = tid + r * WG;
      if (dd < D && valid) {
        var sum = 0.0;
        for (var jj = 0; jj < WG && start + jj < uniforms.t; jj++) { sum += ps[jj] * qkvAt(batch, start + jj, 2, h, dd); }
        acc[r] = acc[r] * shrink + sum;
      }
    }
    m = newM;
    workgroupBarrier();
  }
  if (valid) {
    for (var r = 0; r < PER; r++) {
      let dd = tid + r * WG;
      if (dd < D) { result[row * (D + 2) + dd] = acc[r] / l; }
    }
    if (tid == 0) {
      result[row * (D + 2) + D] = m;
      result[row * (D + 2) + D + 1] = l;
    }
  }`,
    },
    [qkv, ...extra.tensors],
    [i32u(o.heads), i32u(t), f32u(o.scale)],
  ) as tf.Tensor4D;
}

/**
 * Per query row (dq) or per key row (dk | dv): P and dS remade from q, k, the softmax's max
 * and sum ([rows, 2]) and Δ = dO·O per query. `rowsAreKeys` picks which; the other side is walked tile by tile.
 */
function backward(qkv: tf.Tensor3D, o: FlashShape, dOut: tf.Tensor4D, stats: tf.Tensor, delta: tf.Tensor, rowsAreKeys: boolean): tf.Tensor4D {
  const [b, t, e3] = qkv.shape;
  const d = e3 / 3 / o.heads;
  const extra = extraInputs(o);
  const width = rowsAreKeys ? 2 * d : d;
  // This row's own vector (q for dq, k for dk|dv) is `mine`; the walked side's index is `other`.
  const [qi, kj] = rowsAreKeys ? ['other', 'i'] : ['i', 'other'];
  return runRowKernel(
    {
      key: `tunesmith_flash_backward_${rowsAreKeys ? 'dkdv' : 'dq'}_${d}_${extra.key}`,
      inputs: ['qkv', 'dOut', 'stats', 'delta', ...extra.names],
      outputShape: [b, o.heads, t, width],
      rows: b * o.heads * t,
      cols: t,
      uniforms: 'heads : i32, t : i32, scale : f32,',
      prelude: `${common(o, d)}
var<workgroup> mine : array<f32, ${d}>;
var<workgroup> mineV : array<f32, ${d}>;
var<workgroup> ds : array<f32, WG>;
var<workgroup> pm : array<f32, WG>;
const PER = ${Math.ceil(d / 32)};`,
      body: `
  ${HEAD_ROW}
  // dq: this query's q and dO; dk|dv: this key's k and v.
  for (var dd = tid; dd < D; dd += WG) {
    if (valid) {
      ${rowsAreKeys ? 'mine[dd] = qkvAt(batch, i, 1, h, dd); mineV[dd] = qkvAt(batch, i, 2, h, dd);' : 'mine[dd] = qkvAt(batch, i, 0, h, dd); mineV[dd] = dOut[row * D + dd];'}
    }
  }
  workgroupBarrier();
  var acc : array<f32, PER>;
  var accV : array<f32, PER>;
  for (var start = 0; start < uniforms.t; start += WG) {
    let other = start + tid;
    var dsv = 0.0;
    var p = 0.0;
    if (valid && other < uniforms.t) {
      let qRow = (bh * uniforms.t + ${qi});
      var dot = 0.0;
      var dpv = 0.0;
      for (var dd = 0; dd < D; dd++) {
        ${rowsAreKeys
          ? 'dot += qkvAt(batch, other, 0, h, dd) * mine[dd]; dpv += dOut[qRow * D + dd] * mineV[dd];'
          : 'dot += mine[dd] * qkvAt(batch, other, 1, h, dd); dpv += mineV[dd] * qkvAt(batch, other, 2, h, dd);'}
      }
      p = exp(masked(dot, batch, h, ${qi}, ${kj}) - stats[qRow * 2]) / stats[qRow * 2 + 1];
      dsv = p * (dpv - delta[qRow]);
    }
    ds[tid] = dsv;
    pm[tid] = p;
    workgroupBarrier();
    for (var r = 0; r < PER; r++) {
      let dd = tid + r * WG;
      if (dd < D && valid) {
        for (var jj = 0; jj < WG && start + jj < uniforms.t; jj++) {
          ${rowsAreKeys
            ? `acc[r] += ds[jj] * qkvAt(batch, start + jj, 0, h, dd);
          accV[r] += pm[jj] * dOut[(bh * uniforms.t + start + jj) * D + dd];`
            : 'acc[r] += ds[jj] * qkvAt(batch, start + jj, 1, h, dd);'}
        }
      }
    }
    workgroupBarrier();
  }
  if (valid) {
    for (var r = 0; r < PER; r++) {
      let dd = tid + r * WG;
      if (dd < D) {
        result[row * ${width} + dd] = acc[r] * uniforms.scale;
        ${rowsAreKeys ? `result[row * ${width} + D + dd] = accV[r];` : ''}
      }
    }
  }`,
    },
    [qkv, dOut, stats, delta, ...extra.tensors],
    [i32u(o.heads), i32u(t), f32u(o.scale)],
  ) as tf.Tensor4D;
}

/** [B, H, T, D] parts back into the layout of qkv [B, T, 3E]. */
function joinQkv(parts: tf.Tensor4D[], layout: FlashShape['layout']): tf.Tensor3D {
  const [b, h, t, d] = parts[0].shape;
  const byPosition = parts.map((p) => tf.transpose(p, [0, 2, 1, 3])); // [B, T, H, D]
  if (layout === 'gpt2') return tf.concat(byPosition.map((p) => tf.reshape(p, [b, t, h * d])), -1) as tf.Tensor3D;
  return tf.reshape(tf.stack(byPosition, 3), [b, t, 3 * h * d]) as tf.Tensor3D;
}

/**
 * Whether whole-sequence attention needs this kernel: when a [B, H, T, T] tensor is larger
 * than the device binds at once, the masked-softmax path cannot run. Below that it is the
 * faster of the two where measured (llvmpipe, GPT-2 b2 seq 128: 0.8 s against 5.3 s forward
 * and backward): one workgroup per query row re-reads k and v that tfjs's tiled matrix
 * products share between rows. No GPU has measured them yet.
 */
export function flashNeeded(batch: number, heads: number, t: number): boolean {
  return batch * heads * t * t * 4 > webgpuBackend().device.limits.maxStorageBufferBindingSize;
}

/** Whole-sequence causal attention from qkv [B, T, 3E] to [B, T, E], heads merged, differentiable in qkv. */
export function flashAttentionWebgpu(qkv: tf.Tensor3D, o: FlashShape): tf.Tensor3D {
  const [b, t, e3] = qkv.shape;
  const d = e3 / 3 / o.heads;
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x, save] = args as [tf.Tensor3D, tf.GradSaveFunc];
    const packed = forward(x, o);
    const out = tf.slice(packed, [0, 0, 0, 0], [b, o.heads, t, d]) as tf.Tensor4D;
    const stats = tf.reshape(tf.slice(packed, [0, 0, 0, d], [b, o.heads, t, 2]), [b * o.heads * t, 2]);
    packed.dispose();
    // ALiBi and the key mask too: saved tensors outlive the forward pass; closures over the
    // originals would not (the model frees them when its forward returns).
    save([x, out, stats, ...extraInputs(o).tensors]);
    const value = tf.tidy(() => tf.reshape(tf.transpose(out, [0, 2, 1, 3]), [b, t, e3 / 3]) as tf.Tensor3D);
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [savedX, savedOut, savedStats, ...rest] = saved as [tf.Tensor3D, tf.Tensor4D, tf.Tensor, ...tf.Tensor[]];
        const withSaved = { ...o, alibi: o.alibi ? rest.shift() : undefined, keyMask: o.keyMask ? rest.shift() : undefined };
        return tf.tidy(() => {
          const dOut = tf.transpose(tf.reshape(dy, [b, t, o.heads, d]), [0, 2, 1, 3]) as tf.Tensor4D;
          const delta = tf.reshape(tf.sum(tf.mul(dOut, savedOut), -1), [b * o.heads * t]);
          const dq = backward(savedX, withSaved, dOut, savedStats, delta, false);
          const dkdv = backward(savedX, withSaved, dOut, savedStats, delta, true);
          const [dk, dv] = tf.split(dkdv, 2, -1) as tf.Tensor4D[];
          return joinQkv([dq, dk, dv], o.layout);
        });
      },
    };
  });
  return op(qkv) as tf.Tensor3D;
}
