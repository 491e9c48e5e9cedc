// tfjs's `webgpu` backend on Dawn's Node binding (the optional `webgpu` package), for training
// on any vendor's GPU without CUDA, or on Chromium's own WebGPU where the engine runs in a page
// (the desktop app's GPU window, main/gpu-window.ts). Loaded only when the webgpu backend is
// tried: nothing here runs on the CPU path.
import * as tf from '@tensorflow/tfjs';
import fs from 'node:fs';

/** The adapter the webgpu backend runs on, as `tunesmith info`, Settings and run records show it. */
export interface GpuAdapter {
  vendor: string;
  architecture: string;
  /** The driver's name for the device (`llvmpipe (LLVM 15.0.6, 256 bits)`, `NVIDIA GeForce RTX 4090`, ...). */
  description: string;
  /** Dawn's backend: the platform's own (Vulkan, Metal, D3D12) or OpenGL ES; `chromium`: the page's navigator.gpu. */
  api: 'default' | 'opengles' | 'chromium';
  /** A CPU rasteriser (llvmpipe, lavapipe, SwiftShader, WARP): correct but slower than our CPU kernels. */
  software: boolean;
  /** The device's limits, raised to the adapter's own (WebGPU's defaults are 256 MiB and 128 MiB). */
  maxBufferSize: number;
  maxStorageBufferBindingSize: number;
  /**
   * Device-local memory from Dawn's memory heaps, where the binding reports them; null where
   * not: WebGPU itself has no such field, and dawn.node 0.6 has the feature but no JS field.
   */
  memoryBytes: number | null;
}

/** Names of CPU rasterisers; some (Mesa's) do not set isFallbackAdapter. */
const SOFTWARE_DEVICE = /llvmpipe|lavapipe|softpipe|swiftshader|microsoft basic render|\bwarp\b/i;

/** Whether an adapter is a CPU rasteriser, which automatic choice must never take. */
export function isSoftwareAdapter(info: { device: string; description: string; isFallbackAdapter?: boolean }): boolean {
  return Boolean(info.isFallbackAdapter) || SOFTWARE_DEVICE.test(`${info.device} ${info.description}`);
}

type WebgpuModule = { create(options: string[]): GPU; globals: Record<string, unknown> };

/** Why a webgpu start failed, worded for `tunesmith info` and Settings ("GPU not used: ..."). */
export class GpuUnavailable extends Error {}

/**
 * Finds an adapter, opens a device with the adapter's higher limits and registers tfjs's
 * `webgpu` backend on it. Only a hardware adapter is taken unless `allowSoftware` (a forced
 * TUNESMITH_BACKEND=webgpu): a software one would train slower than the native kernels.
 */
export async function startWebgpu(allowSoftware: boolean): Promise<GpuAdapter> {
  const found = await (pageGpu() ? findPageAdapter(pageGpu()!, allowSoftware) : findDawnAdapter(allowSoftware));
  const { adapter, summary } = found;
  const limits = adapter.limits;
  const device = await adapter.requestDevice({
    requiredFeatures: adapter.features.has('timestamp-query') ? ['timestamp-query'] : [],
    // tfjs's own list, plus the two that decide whether GPT-2's 154 MB embedding can be bound.
    requiredLimits: {
      maxComputeWorkgroupStorageSize: limits.maxComputeWorkgroupStorageSize,
      maxComputeWorkgroupsPerDimension: limits.maxComputeWorkgroupsPerDimension,
      maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
      maxBufferSize: limits.maxBufferSize,
      maxComputeWorkgroupSizeX: limits.maxComputeWorkgroupSizeX,
      maxComputeInvocationsPerWorkgroup: limits.maxComputeInvocationsPerWorkgroup,
      // AddN binds every input at once; more per stage means fewer passes summing gradients.
      maxStorageBuffersPerShaderStage: limits.maxStorageBuffersPerShaderStage,
    },
  });
  const errors = watchErrors(device);
  summary.maxBufferSize = device.limits.maxBufferSize;
  summary.maxStorageBufferBindingSize = device.limits.maxStorageBufferBindingSize;
  // tfjs checks navigator.gpu when it loads and when its backend is built; Node 20 has no navigator.
  const nav = ((globalThis as { navigator?: object }).navigator ??= {}) as { gpu?: GPU };
  if (!nav.gpu) Object.defineProperty(nav, 'gpu', { value: found.gpu, configurable: true });
  const { WebGPUBackend } = await import('@tensorflow/tfjs-backend-webgpu');
  // Importing it registered a factory that would ask for its own adapter; ours uses this device.
  if (tf.findBackendFactory('webgpu')) tf.removeBackend('webgpu');
  tf.registerBackend('webgpu', () => {
    const backend = new WebGPUBackend(device, adapter.info);
    const internals = backend as unknown as WebgpuBackendInternals;
    // In a page tfjs's own synchronous read works (through an OffscreenCanvas); it only needs
    // Dawn's errors thrown at it, as the Node read does.
    if (found.pump) readSynchronously(internals, found.pump, errors);
    else throwErrorsAtReads(internals, errors);
    return backend;
  });
  splitWideAddN();
  return summary;
}

interface FoundAdapter {
  gpu: GPU;
  adapter: GPUAdapter;
  summary: GpuAdapter;
  /** Runs Dawn's event loop once, for reads that wait in place; absent in a page, where Chromium runs it. */
  pump?: () => void;
}

/**
 * Chromium's own WebGPU, where the engine runs in a page: the desktop app's GPU window (Electron
 * refuses dawn.node) and the headless-Chromium test. A page has a `window`; Node, even after
 * Dawn's GPU was put on its navigator below, has not.
 */
function pageGpu(): GPU | undefined {
  const g = globalThis as { window?: unknown; navigator?: { gpu?: GPU } };
  return g.window === globalThis ? g.navigator?.gpu : undefined;
}

async function findPageAdapter(gpu: GPU, allowSoftware: boolean): Promise<FoundAdapter> {
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' }).catch(() => null);
  if (!adapter) throw new GpuUnavailable('Chromium found no WebGPU adapter (no GPU driver it accepts, or WebGPU is blocked for this GPU)');
  const summary = summarise(adapter, 'chromium');
  if (summary.software && !allowSoftware) throw new GpuUnavailable(`the only WebGPU adapter is a software one (${summary.description}), slower than the CPU`);
  return { gpu, adapter, summary };
}

async function findDawnAdapter(allowSoftware: boolean): Promise<FoundAdapter> {
  // Electron's V8 sandbox forbids the external ArrayBuffers dawn.node maps GPU memory into: the
  // first read would abort the process. There the GPU is Chromium's own, in a renderer.
  if (process.versions.electron) {
    // In the app's GPU window, no navigator.gpu means Chromium does not offer WebGPU here (on
    // Linux it does so for some GPUs and drivers only).
    throw new GpuUnavailable(
      'window' in globalThis
        ? "Chromium offers no WebGPU on this computer (navigator.gpu is missing: it is not enabled for this GPU, driver or system)"
        : 'Dawn for Node cannot run inside Electron (its V8 sandbox forbids external buffers); the app trains on the GPU in a window of its own instead',
    );
  }
  if (!allowSoftware && vulkanLoaderMissing()) throw new GpuUnavailable('no Vulkan loader (libvulkan.so.1) is installed, so no GPU can be reached');
  const dawn = await importDawn();
  Object.assign(globalThis, dawn.globals);
  const pump = captureEventPump();
  return { ...(await findAdapter(dawn, allowSoftware)), pump };
}

/**
 * A WebGPU validation error does not throw where the bad call was made: Dawn reports it to
 * the device, and by default prints it to stdout (where `--json-events` goes). It is kept
 * here and thrown at the next read, so a broken kernel fails the run instead of yielding zeros.
 */
function watchErrors(device: GPUDevice): { first: string | null } {
  const seen = { first: null as string | null };
  device.onuncapturederror = (event) => {
    event.preventDefault();
    const { message } = event.error;
    // The one a user can act on: a tensor (the vocabulary embedding, the logits) too big to bind.
    const binding = /maximum storage buffer binding size \((\d+)\)/.exec(message);
    seen.first ??= binding
      ? `a tensor is larger than this GPU binds at once (${Math.round(Number(binding[1]) / 2 ** 20)} MiB); use a smaller batch or sequence, or a GPU with a larger maxStorageBufferBindingSize. ${message.split('\n')[0]}`
      : message;
  };
  return seen;
}

/**
 * tfjs's AddN binds all its inputs in one shader, and the gradient-norm sum has one per
 * trainable tensor: past the device's storage buffers per stage (8 in compatibility mode),
 * the pipeline is invalid. Wider sums are done in groups that fit, then summed again.
 */
function splitWideAddN(): void {
  const original = tf.getKernel('AddN', 'webgpu');
  if (!original || (original as { split?: true }).split) return;
  const kernelFunc: tf.KernelFunc = (args) => {
    const inputs = args.inputs as unknown as tf.TensorInfo[];
    const backend = args.backend as unknown as { device: GPUDevice; disposeData(id: object): void };
    const width = Math.max(2, backend.device.limits.maxStorageBuffersPerShaderStage - 1);
    if (inputs.length <= width) return original.kernelFunc(args);
    const partials: tf.TensorInfo[] = [];
    for (let i = 0; i < inputs.length; i += width) {
      partials.push(original.kernelFunc({ ...args, inputs: inputs.slice(i, i + width) as unknown as tf.NamedTensorInfoMap }) as tf.TensorInfo);
    }
    const out = kernelFunc({ ...args, inputs: partials as unknown as tf.NamedTensorInfoMap }) as tf.TensorInfo;
    for (const p of partials) backend.disposeData(p.dataId);
    return out;
  };
  tf.unregisterKernel('AddN', 'webgpu');
  tf.registerKernel({ kernelName: 'AddN', backendName: 'webgpu', kernelFunc, split: true } as tf.KernelConfig);
}

async function importDawn(): Promise<WebgpuModule> {
  try {
    return (await import('webgpu')) as unknown as WebgpuModule;
  } catch (err) {
    const reason = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw new GpuUnavailable(`the optional "webgpu" package (Dawn) is not installed or does not load here: ${reason}`);
  }
}

/**
 * On Linux a GPU is reached through Vulkan; without its loader Dawn can only print a warning
 * about it, so the probe is not worth loading Dawn for.
 */
function vulkanLoaderMissing(): boolean {
  if (process.platform !== 'linux') return false;
  const dirs = [...(process.env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean), '/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib', '/usr/local/lib', '/lib/x86_64-linux-gnu', '/lib64'];
  return !dirs.some((d) => fs.existsSync(`${d}/libvulkan.so.1`));
}

async function findAdapter(dawn: WebgpuModule, allowSoftware: boolean): Promise<{ gpu: GPU; adapter: GPUAdapter; summary: GpuAdapter }> {
  // The platform's own API first (Vulkan, Metal, D3D12): that is where GPUs are fast.
  const gpu = dawn.create([]);
  const native = vulkanLoaderMissing() ? null : await gpu.requestAdapter({ powerPreference: 'high-performance' }).catch(() => null);
  const nativeSummary = native && summarise(native, 'default');
  if (native && nativeSummary && (!nativeSummary.software || allowSoftware)) return { gpu, adapter: native, summary: nativeSummary };
  if (!allowSoftware) {
    throw new GpuUnavailable(nativeSummary ? `the only WebGPU adapter is a software one (${nativeSummary.description}), slower than the CPU` : 'no hardware GPU adapter was found (Vulkan, Metal or D3D12)');
  }
  // Mesa's llvmpipe through EGL without a display: the software adapter the tests run on.
  process.env.EGL_PLATFORM ??= 'surfaceless';
  const gl = dawn.create(['backend=opengles']);
  const adapter = await gl.requestAdapter({ featureLevel: 'compatibility' } as GPURequestAdapterOptions).catch(() => null);
  if (!adapter) throw new GpuUnavailable('no WebGPU adapter: no GPU driver, and no OpenGL ES through EGL (on Debian/Ubuntu: apt-get install libegl-dev libegl-mesa0 libgl1-mesa-dri)');
  return { gpu: gl, adapter, summary: summarise(adapter, 'opengles') };
}

function summarise(adapter: GPUAdapter, api: GpuAdapter['api']): GpuAdapter {
  const info = adapter.info;
  // Mesa puts the renderer (llvmpipe ...) in `device` and the GL version in `description`;
  // Chromium leaves both empty unless asked, so there the architecture names it.
  const description = info.device || info.description || (api === 'chromium' ? info.architecture : '');
  return {
    vendor: info.vendor,
    architecture: info.architecture,
    description,
    api,
    software: isSoftwareAdapter(info),
    maxBufferSize: adapter.limits.maxBufferSize,
    maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
    memoryBytes: deviceLocalBytes(adapter),
  };
}

/** WGPUHeapProperty_DeviceLocal in Dawn's webgpu.h. */
const DEVICE_LOCAL = 0x1;

/** The sum of the adapter's device-local heaps, where Dawn's 'adapter-properties-memory-heaps' reaches JS. */
function deviceLocalBytes(adapter: GPUAdapter): number | null {
  const heaps = (adapter.info as { memoryHeaps?: { size: number | bigint; properties: number }[] }).memoryHeaps;
  if (!adapter.features.has('adapter-properties-memory-heaps') || !Array.isArray(heaps)) return null;
  const local = heaps.filter((h) => h.properties & DEVICE_LOCAL);
  return local.length ? local.reduce((sum, h) => sum + Number(h.size), 0) : null;
}

/** One line: what the adapter is and the limits that decide what fits. */
export function describeAdapter(a: GpuAdapter): string {
  const mib = (n: number) => `${Math.round(n / 2 ** 20)} MiB`;
  const who = [a.vendor, a.architecture].filter(Boolean).join(' ');
  const api = a.api === 'opengles' ? 'OpenGL ES' : a.api === 'chromium' ? 'Chromium' : 'native API';
  const memory = a.memoryBytes ? `${mib(a.memoryBytes)} memory` : a.software ? 'memory: RAM' : 'memory unknown';
  return `${a.description || who || 'unknown adapter'}${who && a.description ? ` (${who})` : ''}, ${api}${a.software ? ', software' : ''}; ${memory}, buffers up to ${mib(a.maxBufferSize)}, bindings up to ${mib(a.maxStorageBufferBindingSize)}`;
}

/** tfjs's own synchronous read (a page's), with the errors reported since the last read thrown first and after. */
function throwErrorsAtReads(backend: WebgpuBackendInternals, errors: { first: string | null }): void {
  const original = backend.readSync.bind(backend);
  backend.readSync = (dataId) => {
    throwReported(errors);
    const values = original(dataId);
    throwReported(errors);
    return values;
  };
}

/** Throws the error Dawn reported since the last read, once. */
function throwReported(errors: { first: string | null }): void {
  const message = errors.first;
  errors.first = null;
  if (message) throw new Error(`webgpu: ${message}`);
}

// ---------------------------------------------------------------- synchronous reads

/**
 * Dawn resolves buffer mappings only when its events are processed, which dawn.node does from
 * a native function it hands to `setImmediate`. Remembering that function lets a read wait for
 * its mapping in place, so the engine's synchronous reads (a step's loss, a sampled token, a
 * checkpoint's weights) work on the GPU as on the CPU, without rewriting them all as async.
 */
function captureEventPump(): () => void {
  const state = globalThis as { __tunesmithDawnPump?: { fn?: () => void } };
  if (!state.__tunesmithDawnPump) {
    const holder: { fn?: () => void } = {};
    const real = globalThis.setImmediate;
    const wrapped = ((fn: (...a: unknown[]) => void, ...args: unknown[]) => {
      if (typeof fn === 'function' && Function.prototype.toString.call(fn).includes('[native code]')) holder.fn = fn as () => void;
      return real(fn, ...args);
    }) as typeof setImmediate;
    globalThis.setImmediate = Object.assign(wrapped, real);
    state.__tunesmithDawnPump = holder;
  }
  const holder = state.__tunesmithDawnPump;
  return () => {
    if (!holder.fn) throw new Error('webgpu: Dawn has not scheduled event processing; cannot wait for a GPU read');
    holder.fn();
  };
}

/** The parts of tfjs's WebGPUBackend that a synchronous read uses (not in its typings). */
interface WebgpuBackendInternals {
  tensorMap: { get(dataId: object): { values: tf.backend_util.BackendValues | null; dtype: tf.DataType; resource: GPUBuffer } };
  bufferManager: { acquireBuffer(size: number, usage: number): GPUBuffer; releaseBuffer(buffer: GPUBuffer): void };
  commandEncoder: GPUCommandEncoder;
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  submitQueue(): void;
  convertAndCacheOnCPU(dataId: object, values: tf.backend_util.BackendValues): tf.backend_util.BackendValues;
  readSync(dataId: object): tf.backend_util.BackendValues;
}

/**
 * tfjs's own readSync goes through an OffscreenCanvas, which Node has not. This one copies the
 * tensor's buffer to a mappable one, as its async read does, and pumps Dawn until it is mapped.
 */
function readSynchronously(backend: WebgpuBackendInternals, pump: () => void, errors: { first: string | null }): void {
  const original = backend.readSync.bind(backend);
  backend.readSync = (dataId) => {
    throwReported(errors);
    const data = backend.tensorMap.get(dataId);
    if (data.values != null || data.dtype === 'string' || data.dtype === 'complex64') return original(dataId);
    const size = data.resource.size;
    const staging = backend.bufferManager.acquireBuffer(size, GPUBufferUsage.COPY_DST | GPUBufferUsage.MAP_READ);
    backend.ensureCommandEncoderReady();
    backend.endComputePassEncoder();
    backend.commandEncoder.copyBufferToBuffer(data.resource, 0, staging, 0, size);
    backend.submitQueue();
    // A failed mapping rejects (seen later, hence the empty catch) and leaves it unmapped.
    staging.mapAsync(GPUMapMode.READ).catch(() => {});
    while (staging.mapState === 'pending') pump();
    if (staging.mapState !== 'mapped') throw new Error('webgpu: reading a tensor back from the GPU failed (was the device lost?)');
    const bytes = staging.getMappedRange().slice(0);
    staging.unmap();
    backend.bufferManager.releaseBuffer(staging);
    throwReported(errors);
    return backend.convertAndCacheOnCPU(dataId, tf.util.convertBackendValuesAndArrayBuffer(bytes, data.dtype));
  };
}

// ---------------------------------------------------------------- tensors too big to bind

/** The parts of tfjs's WebGPUBackend that reading a tensor's buffer uses. */
interface WebgpuBuffers {
  device: GPUDevice;
  tensorMap: { get(dataId: object): { resource: GPUBuffer } };
  uploadToGPU(dataId: object): void;
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  submitQueue(): void;
}

const rowChunks = new WeakMap<object, tf.Tensor2D[]>();

/**
 * A [rows, width] tensor larger than the device binds at once (GPT-2's 154 MB embedding on a
 * 128 MiB adapter) as row blocks that each fit, copied buffer to buffer (copies have no binding
 * limit); null when it fits or another backend runs. Cached per tensor data: meant for frozen
 * weights (LoRA's base, generation), whose data never changes.
 */
export function bindableRowBlocks(t: tf.Tensor): tf.Tensor2D[] | null {
  if (tf.getBackend() !== 'webgpu' || t.rank !== 2 || t.dtype !== 'float32') return null;
  const backend = tf.backend() as unknown as WebgpuBuffers;
  const limit = backend.device.limits.maxStorageBufferBindingSize;
  const [rows, width] = t.shape as [number, number];
  const rowBytes = width * 4;
  if (rows * rowBytes <= limit) return null;
  const cached = rowChunks.get(t.dataId);
  if (cached) return cached;
  backend.uploadToGPU(t.dataId);
  // Writes to the source that tfjs has encoded but not submitted must land first.
  backend.ensureCommandEncoderReady();
  backend.endComputePassEncoder();
  backend.submitQueue();
  const source = backend.tensorMap.get(t.dataId).resource;
  const perBlock = Math.floor(limit / rowBytes);
  const blocks: tf.Tensor2D[] = [];
  for (let start = 0; start < rows; start += perBlock) {
    const n = Math.min(perBlock, rows - start);
    const buffer = backend.device.createBuffer({ size: n * rowBytes, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
    const encoder = backend.device.createCommandEncoder();
    encoder.copyBufferToBuffer(source, start * rowBytes, buffer, 0, n * rowBytes);
    backend.device.queue.submit([encoder.finish()]);
    // Not zeroCopy: tfjs copies it into a buffer of its own, which it frees with the tensor.
    blocks.push(tf.keep(tf.tensor({ buffer }, [n, width], 'float32') as tf.Tensor2D));
    buffer.destroy();
  }
  rowChunks.set(t.dataId, blocks);
  return blocks;
}
