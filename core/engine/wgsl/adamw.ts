// AdamW in one WGSL kernel per tensor that updates the parameter and both moments in place.
// The twin (core/train/adamw.ts) makes about ten full-size temporaries per tensor per step and
// assigns three new buffers; for a full fine-tune of GPT-2 124M that is gigabytes of churn
// through tfjs's buffer pool. tfjs programs have one output, so this one is dispatched by
// hand into the backend's own compute pass, in the backend's order.
import * as tf from '@tensorflow/tfjs';
import type { AdamWScalars } from '../native-kernels';
import { f32u, i32u, webgpuBackend } from './program';

const WORKGROUP = 256;

/** The twin's arithmetic in its order, on the twin's float32 constants. */
const SHADER = `
struct Scalars {
  beta1 : f32, oneMinusBeta1 : f32, beta2 : f32, oneMinusBeta2 : f32,
  eps : f32, decayFactor : f32, stepSize : f32, sqrtBias2 : f32,
  gradScale : f32, size : i32, rowLength : i32,
};
@group(0) @binding(0) var<storage, read_write> param : array<f32>;
@group(0) @binding(1) var<storage, read> grad : array<f32>;
@group(0) @binding(2) var<storage, read_write> m : array<f32>;
@group(0) @binding(3) var<storage, read_write> v : array<f32>;
@group(0) @binding(4) var<uniform> s : Scalars;

@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(workgroup_id) group : vec3<u32>, @builtin(local_invocation_index) local : u32) {
  let i = (i32(group.y) * s.rowLength + i32(group.x)) * ${WORKGROUP} + i32(local);
  if (i >= s.size) { return; }
  let g = grad[i] * s.gradScale;
  let decayed = param[i] * s.decayFactor;
  let mi = m[i] * s.beta1 + g * s.oneMinusBeta1;
  let vi = v[i] * s.beta2 + (g * g) * s.oneMinusBeta2;
  m[i] = mi;
  v[i] = vi;
  param[i] = decayed - (mi / (sqrt(vi) / s.sqrtBias2 + s.eps)) * s.stepSize;
}`;

const pipelines = new WeakMap<GPUDevice, GPUComputePipeline>();

function pipeline(device: GPUDevice): GPUComputePipeline {
  let p = pipelines.get(device);
  if (!p) {
    p = device.createComputePipeline({ layout: 'auto', compute: { module: device.createShaderModule({ code: SHADER, label: 'tunesmith_adamw' }), entryPoint: 'main' } });
    pipelines.set(device, p);
  }
  return p;
}

/** One AdamW step on param, m and v in place; g is read only. */
export function adamwUpdateWebgpu(param: tf.Variable, g: tf.Tensor, m: tf.Variable, v: tf.Variable, s: AdamWScalars): void {
  const backend = webgpuBackend();
  const device = backend.device;
  const tensors = [param, g, m, v];
  for (const t of tensors) backend.uploadToGPU(t.dataId);
  const size = param.size;
  const groups = Math.ceil(size / WORKGROUP);
  const rowLength = Math.min(groups, device.limits.maxComputeWorkgroupsPerDimension);
  const uniforms = backend.makeUniforms([
    f32u(s.beta1), f32u(1 - s.beta1), f32u(s.beta2), f32u(1 - s.beta2),
    f32u(s.eps), f32u(s.decayFactor), f32u(s.stepSize), f32u(s.sqrtBias2),
    f32u(s.gradScale), i32u(size), i32u(rowLength),
  ]);
  const p = pipeline(device);
  const bindGroup = device.createBindGroup({
    layout: p.getBindGroupLayout(0),
    entries: [...tensors.map((t, i) => ({ binding: i, resource: { buffer: backend.tensorMap.get(t.dataId).resource! } })), { binding: 4, resource: uniforms }],
  });
  backend.ensureCommandEncoderReady();
  backend.computePassEncoder ??= backend.commandEncoder.beginComputePass();
  backend.computePassEncoder.setPipeline(p);
  backend.computePassEncoder.setBindGroup(0, bindGroup);
  backend.computePassEncoder.dispatchWorkgroups(rowLength, Math.ceil(groups / rowLength));
  // Kept alive until the queue has run, as tfjs does for its own programs' bindings.
  for (const t of tensors) backend.commandQueueOwnedIds.add(t.dataId);
  backend.dispatchCountInPass++;
  if (backend.dispatchCountInPass >= tf.env().getNumber('WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE')) {
    backend.endComputePassEncoder();
    backend.submitQueue();
  }
  // A host copy cached by an earlier read (a checkpoint) is stale now.
  for (const t of [param, m, v]) backend.tensorMap.get(t.dataId).values = null;
}
