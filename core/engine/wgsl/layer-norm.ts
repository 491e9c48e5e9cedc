// LayerNorm on the GPU with a written-out backward. tfjs differentiates the twin's moments,
// subtract, rsqrt, multiply and add one by one, keeping each [rows, E] intermediate and
// summing the gamma and beta gradients through broadcasting reductions; here forward keeps
// (mean, 1/std) per row and backward makes dx in one kernel and dgamma, dbeta in another.
import * as tf from '@tensorflow/tfjs';
import { f32u, i32u, reduceRow, runKernel, runRowKernel } from './program';

/** [rows, 2]: mean and 1/sqrt(biased variance + eps), as torch.nn.LayerNorm. */
function rowStats(x: tf.Tensor2D, eps: number): tf.Tensor2D {
  const [rows, cols] = x.shape;
  return runRowKernel(
    {
      key: 'tunesmith_layernorm_stats',
      inputs: ['x'],
      outputShape: [rows, 2],
      rows,
      cols,
      uniforms: 'cols : i32, eps : f32,',
      body: `
  let base = row * uniforms.cols;
  var s = 0.0;
  if (valid) { for (var c = tid; c < uniforms.cols; c += WG) { s += x[base + c]; } }
  buf[tid] = s;
  ${reduceRow((a, b) => `${a} + ${b}`)}
  let mean = buf[0] / f32(uniforms.cols);
  workgroupBarrier();
  var q = 0.0;
  if (valid) { for (var c = tid; c < uniforms.cols; c += WG) { let d = x[base + c] - mean; q += d * d; } }
  buf[tid] = q;
  ${reduceRow((a, b) => `${a} + ${b}`)}
  if (valid && tid == 0) {
    result[row * 2] = mean;
    result[row * 2 + 1] = inverseSqrt(buf[0] / f32(uniforms.cols) + uniforms.eps);
  }`,
    },
    [x],
    [i32u(cols), f32u(eps)],
  ) as tf.Tensor2D;
}

/** y = x̂ · gamma + beta, element by element. */
function normalise(x: tf.Tensor2D, stats: tf.Tensor2D, gamma: tf.Tensor, beta: tf.Tensor): tf.Tensor2D {
  const [rows, cols] = x.shape;
  return runKernel(
    {
      key: 'tunesmith_layernorm_apply',
      inputs: ['x', 'stats', 'gamma', 'beta'],
      outputShape: [rows, cols],
      workgroup: 256,
      workgroups: Math.ceil((rows * cols) / 256),
      uniforms: 'total : i32, cols : i32,',
      body: `
  if (index >= uniforms.total) { return; }
  let row = index / uniforms.cols;
  let c = index - row * uniforms.cols;
  result[index] = (x[index] - stats[row * 2]) * stats[row * 2 + 1] * gamma[c] + beta[c];`,
    },
    [x, stats, gamma, beta],
    [i32u(rows * cols), i32u(cols)],
  ) as tf.Tensor2D;
}

/** dx = rstd · (dx̂ − mean(dx̂) − x̂ · mean(dx̂ · x̂)) with dx̂ = dy · gamma, row by row. */
function inputGradient(x: tf.Tensor2D, stats: tf.Tensor2D, gamma: tf.Tensor, dy: tf.Tensor2D): tf.Tensor2D {
  const [rows, cols] = x.shape;
  return runRowKernel(
    {
      key: 'tunesmith_layernorm_dx',
      inputs: ['x', 'stats', 'gamma', 'dy'],
      outputShape: [rows, cols],
      rows,
      cols,
      uniforms: 'cols : i32,',
      body: `
  let base = row * uniforms.cols;
  var mean = 0.0;
  var rstd = 0.0;
  if (valid) { mean = stats[row * 2]; rstd = stats[row * 2 + 1]; }
  var s = 0.0;
  var sx = 0.0;
  if (valid) {
    for (var c = tid; c < uniforms.cols; c += WG) {
      let g = dy[base + c] * gamma[c];
      s += g;
      sx += g * (x[base + c] - mean) * rstd;
    }
  }
  buf[tid] = s;
  ${reduceRow((a, b) => `${a} + ${b}`)}
  let meanG = buf[0] / f32(uniforms.cols);
  workgroupBarrier();
  buf[tid] = sx;
  ${reduceRow((a, b) => `${a} + ${b}`)}
  let meanGX = buf[0] / f32(uniforms.cols);
  if (valid) {
    for (var c = tid; c < uniforms.cols; c += WG) {
      let xhat = (x[base + c] - mean) * rstd;
      result[base + c] = rstd * (dy[base + c] * gamma[c] - meanG - xhat * meanGX);
    }
  }`,
    },
    [x, stats, gamma, dy],
    [i32u(cols)],
  ) as tf.Tensor2D;
}

/** Rows each thread of the dgamma/dbeta kernel sums. */
const ROW_CHUNK = 256;

/**
 * [2, cols]: Σ_rows dy · x̂ (dgamma) and Σ_rows dy (dbeta). A thread sums one column over a
 * chunk of rows, and tfjs sums the chunks: a thread per column alone would leave most of a GPU
 * idle, and on Mesa's llvmpipe a loop stops after 65535 iterations.
 */
function affineGradients(x: tf.Tensor2D, stats: tf.Tensor2D, dy: tf.Tensor2D): tf.Tensor2D {
  const [rows, cols] = x.shape;
  const chunks = Math.ceil(rows / ROW_CHUNK);
  const partial = runKernel(
    {
      key: 'tunesmith_layernorm_dgamma_dbeta',
      inputs: ['x', 'stats', 'dy'],
      outputShape: [chunks, 2, cols],
      workgroup: 64,
      workgroups: Math.ceil((chunks * cols) / 64),
      uniforms: 'rows : i32, cols : i32, chunks : i32,',
      body: `
  if (index >= uniforms.chunks * uniforms.cols) { return; }
  let chunk = index / uniforms.cols;
  let c = index - chunk * uniforms.cols;
  var dg = 0.0;
  var db = 0.0;
  for (var r = chunk * ${ROW_CHUNK}; r < min(uniforms.rows, (chunk + 1) * ${ROW_CHUNK}); r++) {
    let at = r * uniforms.cols + c;
    let g = dy[at];
    dg += g * (x[at] - stats[r * 2]) * stats[r * 2 + 1];
    db += g;
  }
  result[(chunk * 2) * uniforms.cols + c] = dg;
  result[(chunk * 2 + 1) * uniforms.cols + c] = db;`,
    },
    [x, stats, dy],
    [i32u(rows), i32u(cols), i32u(chunks)],
  );
  return tf.tidy(() => {
    const total = tf.sum(partial, 0) as tf.Tensor2D;
    partial.dispose();
    return total;
  });
}

/** LayerNorm over the last axis of x with weight (gamma) and bias (beta), each [E]. */
export function layerNormWebgpu(x: tf.Tensor, weight: tf.Tensor, bias: tf.Tensor, eps: number): tf.Tensor {
  const cols = x.shape[x.shape.length - 1]!;
  const rows = x.size / cols;
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [input, gamma, beta, save] = args as [tf.Tensor, tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    const flat = tf.reshape(input, [rows, cols]) as tf.Tensor2D;
    const stats = rowStats(flat, eps);
    save([flat, stats, gamma]);
    const value = tf.tidy(() => tf.reshape(normalise(flat, stats, gamma, beta), input.shape));
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [savedX, savedStats, savedGamma] = saved as [tf.Tensor2D, tf.Tensor2D, tf.Tensor];
        return tf.tidy(() => {
          const g = tf.reshape(dy, [rows, cols]) as tf.Tensor2D;
          const dx = tf.reshape(inputGradient(savedX, savedStats, savedGamma, g), x.shape);
          const [dgamma, dbeta] = tf.unstack(affineGradients(savedX, savedStats, g));
          return [dx, tf.reshape(dgamma, weight.shape), tf.reshape(dbeta, bias.shape)];
        });
      },
    };
  });
  return op(x, weight, bias);
}
