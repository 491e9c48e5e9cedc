// The one place that decides which TensorFlow.js backend runs. Model code only
// imports `tf` from here and never names a backend.
// The umbrella package, not tfjs-core alone: only it registers the gradient functions.
import * as tf from '@tensorflow/tfjs';
import { createRequire } from 'node:module';
import path from 'node:path';
import util from 'node:util';
import { routeAddToNative } from './native-add';
import { loadNativeKernels, type NativeKernels } from './native-kernels';
import { describeAdapter, type GpuAdapter } from './webgpu';
export { bindableRowBlocks } from './webgpu';

export { tf };
export type { GpuAdapter };

export type BackendName = 'webgpu' | 'native' | 'tensorflow' | 'wasm' | 'cpu';

/**
 * Fastest first: a hardware GPU through WebGPU (Dawn), then tfjs's cpu backend with
 * Tunesmith's own compiled kernels doing the heavy ops, then tfjs-node's libtensorflow, then
 * XNNPACK in WebAssembly, then plain JS.
 */
export const BACKEND_ORDER: readonly BackendName[] = ['webgpu', 'native', 'tensorflow', 'wasm', 'cpu'];

// Not named `require`: electron-vite's ESM shim for the main bundle declares that name.
const requireFromHere = createRequire(import.meta.url);

export interface BackendChoice {
  name: BackendName;
  /** Why the faster backends before it were skipped, for `tunesmith info --debug`. */
  skipped: { name: BackendName; reason: string }[];
  /** The GPU when `name` is webgpu. */
  adapter?: GpuAdapter;
}

/** Whether tensors live in GPU memory, where a host-side loop costs a download and an upload. */
export function tensorsOnGpu(): boolean {
  return tf.getBackend() === 'webgpu';
}

/** The backend as `tunesmith info`, Settings and run records show it: webgpu names its adapter. */
export function describeBackend(choice: BackendChoice): string {
  return choice.adapter ? `webgpu: ${describeAdapter(choice.adapter)}` : choice.name;
}

/** The adapter in use, or why the GPU is not used: for Settings and `tunesmith info`. */
export function describeGpu(choice: BackendChoice): string {
  if (choice.adapter) return describeAdapter(choice.adapter);
  const skipped = choice.skipped.find((s) => s.name === 'webgpu')?.reason;
  return `not used: ${skipped ?? `the ${choice.name} engine was chosen (the engine setting or TUNESMITH_BACKEND)`}`;
}

let chosen: Promise<BackendChoice> | undefined;
let kernels: NativeKernels | undefined;

/**
 * The compiled kernels when the native backend runs, else undefined: core/ops then use
 * their plain-tfjs twins.
 */
export function activeKernels(): NativeKernels | undefined {
  return kernels;
}

/**
 * Picks and initialises the backend once per process. `TUNESMITH_BACKEND` forces one
 * (and fails loudly if it cannot start, rather than silently running 100x slower).
 */
export function initBackend(requested = process.env.TUNESMITH_BACKEND): Promise<BackendChoice> {
  chosen ??= choose(requested?.trim() || undefined);
  return chosen;
}

/**
 * The GPU or nothing, for a process that exists only to train on it (the desktop app's GPU
 * window): its host runs a CPU process instead when this fails. `allowSoftware` as when
 * TUNESMITH_BACKEND=webgpu is forced; otherwise only a hardware adapter is taken.
 */
export function initWebgpuOnly(allowSoftware: boolean): Promise<BackendChoice> {
  chosen ??= tryStart('webgpu', allowSoftware).then((reason) => {
    if (reason) throw new Error(reason);
    return { name: 'webgpu', skipped: [], adapter };
  });
  return chosen;
}

async function choose(requested: string | undefined): Promise<BackendChoice> {
  if (requested !== undefined) {
    if (!(BACKEND_ORDER as readonly string[]).includes(requested)) {
      throw new Error(`TUNESMITH_BACKEND=${requested} is not a backend; use one of ${BACKEND_ORDER.join(', ')}`);
    }
    // Forced, webgpu takes a software adapter too: that is how the tests run without a GPU.
    const reason = await tryStart(requested as BackendName, true);
    if (reason) throw new Error(`TUNESMITH_BACKEND=${requested} could not start: ${reason}`);
    return { name: requested as BackendName, skipped: [], adapter };
  }
  const skipped: BackendChoice['skipped'] = [];
  for (const name of BACKEND_ORDER) {
    const reason = await tryStart(name, false);
    if (!reason) return { name, skipped, adapter };
    skipped.push({ name, reason });
  }
  throw new Error(`no TensorFlow.js backend could start: ${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')}`);
}

let adapter: GpuAdapter | undefined;

/** Returns undefined on success, otherwise why the backend is unusable. */
async function tryStart(name: BackendName, allowSoftwareGpu: boolean): Promise<string | undefined> {
  try {
    const native = name === 'native' ? loadNativeKernels() : undefined;
    if (name === 'tensorflow') loadTfjsNode();
    if (name === 'wasm') await registerWasm();
    // Imported here so that nothing of Dawn or tfjs's webgpu backend loads on the CPU path.
    if (name === 'webgpu') adapter = await (await import('./webgpu')).startWebgpu(allowSoftwareGpu);
    // The kernels read and write the cpu backend's own Float32Arrays, so they run on it.
    const ok = await withoutNewProcessHandlers(() => quietly(() => tf.setBackend(native ? 'cpu' : name)));
    if (!ok) {
      adapter = undefined;
      return 'initialisation failed';
    }
    tf.env().set('PROD', true);
    if (native) routeAddToNative(native);
    kernels = native;
    return undefined;
  } catch (err) {
    adapter = undefined;
    return err instanceof Error ? err.message.split('\n')[0] : String(err);
  }
}

function loadTfjsNode(): void {
  // tfjs-node 4.x calls util helpers that Node 23 removed; put them back before it loads.
  const legacy = util as unknown as Record<string, unknown>;
  legacy.isNullOrUndefined ??= (v: unknown) => v === null || v === undefined;
  legacy.isArray ??= Array.isArray;
  requireFromHere('@tensorflow/tfjs-node');
}

async function registerWasm(): Promise<void> {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  const dist = path.join(path.dirname(requireFromHere.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + path.sep;
  wasm.setWasmPaths(dist);
}

/**
 * The wasm runtime (Emscripten) installs uncaughtException/unhandledRejection handlers that
 * rethrow, so any later uncaught error prints its whole minified source instead of ours.
 */
async function withoutNewProcessHandlers<T>(fn: () => Promise<T>): Promise<T> {
  const events = ['uncaughtException', 'unhandledRejection'] as const;
  const before = events.map((e) => new Set(process.listeners(e as 'uncaughtException')));
  try {
    const result = await fn();
    await tf.ready();
    return result;
  } finally {
    events.forEach((e, i) => {
      for (const l of process.listeners(e as 'uncaughtException')) if (!before[i].has(l)) process.removeListener(e as 'uncaughtException', l as NodeJS.UncaughtExceptionListener);
    });
  }
}

/** The cpu backend prints an advert for tfjs-node on start; the CLI's stdout/stderr are for the user. */
async function quietly<T>(fn: () => Promise<T>): Promise<T> {
  const warn = console.warn;
  const log = console.log;
  console.warn = () => {};
  console.log = () => {};
  try {
    return await fn();
  } finally {
    console.warn = warn;
    console.log = log;
  }
}
