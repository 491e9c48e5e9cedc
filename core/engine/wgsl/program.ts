// How Tunesmith's WGSL kernels run inside tfjs's webgpu backend: a program in the shape of
// the backend's own (tfjs-backend-webgpu/dist/*_webgpu.js), run by its runWebGPUProgram, so
// that buffers, uniforms, pipelines and the command queue stay the backend's. Inputs are read
// by name as flat arrays (`logits[i]`); the output is `result`.
import * as tf from '@tensorflow/tfjs';

type Uniform = { type: 'float32' | 'int32' | 'uint32'; data: number[] };

/** The parts of tfjs's WebGPUBackend these kernels use (not in its typings). */
export interface WebgpuBackend {
  device: GPUDevice;
  tensorMap: { get(dataId: object): { values: unknown; resource: GPUBuffer | null } };
  runWebGPUProgram(program: object, inputs: tf.TensorInfo[], dtype: tf.DataType, uniforms?: Uniform[], output?: tf.TensorInfo): tf.TensorInfo;
  makeUniforms(uniforms: Uniform[]): GPUBufferBinding;
  uploadToGPU(dataId: object): void;
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  submitQueue(): void;
  commandEncoder: GPUCommandEncoder;
  computePassEncoder: GPUComputePassEncoder | null;
  commandQueueOwnedIds: WeakSet<object>;
  dispatchCountInPass: number;
}

export function webgpuBackend(): WebgpuBackend {
  if (tf.getBackend() !== 'webgpu') throw new Error(`a WGSL kernel was called on the ${tf.getBackend()} backend`);
  return tf.backend() as unknown as WebgpuBackend;
}

/**
 * Threads per workgroup for a kernel that reduces rows of `cols` in one workgroup: enough to
 * cover the row (idle threads still wait at every barrier), at most 256 (fewer passes over a
 * 50257-wide row), within the device's limit (128 in compatibility mode); a power of two.
 */
function rowWorkgroup(cols: number): number {
  const limits = webgpuBackend().device.limits;
  const cap = Math.min(256, limits.maxComputeInvocationsPerWorkgroup, limits.maxComputeWorkgroupSizeX, 2 ** Math.ceil(Math.log2(Math.max(32, cols))));
  return 2 ** Math.floor(Math.log2(cap));
}

export interface KernelSpec {
  /** Names the pipeline in tfjs's cache, with everything the code depends on besides ranks and dtypes. */
  key: string;
  inputs: string[];
  outputShape: number[];
  /** Threads per workgroup (one dimension). */
  workgroup: number;
  /** Workgroups to launch; tfjs folds more than the device's per-dimension limit into y and z. */
  workgroups: number;
  /** WGSL struct members, `name : f32, ...`, whose values runKernel is given in the same order. */
  uniforms?: string;
  /** The body of `fn main(index : i32)`: index is the global thread number. */
  body: string;
  /** Code outside main: workgroup arrays, helper functions. */
  prelude?: string;
}

/** The program object runWebGPUProgram compiles: tfjs prepends its bindings and uniforms. */
function program(spec: KernelSpec) {
  return {
    variableNames: spec.inputs,
    outputShape: spec.outputShape,
    shaderKey: spec.key,
    dispatchLayout: { x: spec.outputShape.map((_, i) => i) },
    dispatch: [spec.workgroups, 1, 1] as [number, number, number],
    workgroupSize: [spec.workgroup, 1, 1] as [number, number, number],
    uniforms: spec.uniforms,
    getUserCode: () => `${spec.prelude ?? ''}\nfn main(index : i32) {\n${spec.body}\n}`,
  };
}

/** Runs one kernel; the result is a new tensor of `dtype` in spec.outputShape. */
export function runKernel(spec: KernelSpec, inputs: tf.Tensor[], uniforms: Uniform[] = [], dtype: tf.DataType = 'float32'): tf.Tensor {
  const info = webgpuBackend().runWebGPUProgram(program(spec), inputs, dtype, uniforms);
  return tf.engine().makeTensorFromTensorInfo(info);
}

/** What a row kernel is given: one workgroup per row, `rows` of them. */
export type RowKernelSpec = Omit<KernelSpec, 'workgroup' | 'workgroups'> & { rows: number; /** Row length, which sizes the workgroup. */ cols: number };

/**
 * A kernel that reduces each of `rows` rows in one workgroup through `buf`. Its body starts
 * with `tid` (the thread in the workgroup), `row` and `valid` (false on the spare workgroups
 * tfjs launches when it folds a long dispatch into two dimensions: every thread still has to
 * reach each barrier); `uniforms.rows` comes first.
 */
export function runRowKernel({ cols, ...spec }: RowKernelSpec, inputs: tf.Tensor[], uniforms: Uniform[] = []): tf.Tensor {
  const wg = rowWorkgroup(cols);
  return runKernel(
    {
      ...spec,
      key: `${spec.key}_${wg}`,
      workgroup: wg,
      workgroups: spec.rows,
      uniforms: `rows : i32, ${spec.uniforms ?? ''}`,
      prelude: `var<workgroup> buf : array<f32, ${wg}>;\nconst WG = ${wg};\n${spec.prelude ?? ''}`,
      body: `
  let tid = i32(localId.x);
  let row = index / WG;
  let valid = row < uniforms.rows;
${spec.body}`,
    },
    inputs,
    [i32u(spec.rows), ...uniforms],
  );
}

/** Uniform values by WGSL type; counts and sizes are i32, as in tfjs's own kernels. */
export const f32u = (...data: number[]): Uniform => ({ type: 'float32', data });
export const i32u = (...data: number[]): Uniform => ({ type: 'int32', data });
export const u32u = (...data: number[]): Uniform => ({ type: 'uint32', data });

/**
 * Tree reduction in a row kernel's body: each thread has put its value in `buf[tid]`; every
 * thread then sees the result in `buf[0]`. `op` combines two values.
 */
export function reduceRow(op: (a: string, b: string) => string): string {
  return `
  workgroupBarrier();
  for (var half = WG / 2; half > 0; half = half >> 1) {
    if (tid < half) { buf[tid] = ${op('buf[tid]', 'buf[tid + half]')}; }
    workgroupBarrier();
  }`;
}
