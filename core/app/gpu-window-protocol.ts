// How the desktop app's main process and its GPU window (a hidden renderer that trains on
// Chromium's WebGPU; main/gpu-window.ts, preload/gpu-worker.ts) talk. Main hands the window one
// end of a MessageChannel over IPC, once, with GpuWindowStart; after that everything goes over
// the port: main → window the worker's commands as they are, window → main these reports.
import type { GpuLimits } from '../memory/device';
import type { WorkerName } from './context';

/** The IPC channel the port arrives on: the only IPC the window ever receives. */
export const GPU_WINDOW_PORT_CHANNEL = 'tunesmith:gpu-window-port';

/** The bundled page the window loads, beside the app's own page in out/renderer. */
export const GPU_WINDOW_PAGE = 'gpu-worker.html';

export interface GpuWindowStart {
  /** Which worker the window is: training, or chat's inference. */
  worker: WorkerName;
  /** The worker's environment, as a utility process would have been given it. */
  env: Record<string, string>;
  /** A software adapter (SwiftShader) is taken only when the person chose the GPU. */
  allowSoftware: boolean;
  /** Only find the adapter and say which (Settings asks), then stop. */
  probeOnly: boolean;
}

export type GpuWindowReport =
  /** The GPU started: the adapter as Settings and run records show it, and its limits for the memory estimate. The first answer. */
  | { kind: 'gpu'; adapter: string; limits: GpuLimits }
  /** No usable adapter, or the engine could not start on it: the window does nothing more. */
  | { kind: 'no-gpu'; reason: string }
  /** A message of the worker's own protocol (core/app/training-protocol.ts, inference-protocol.ts). */
  | { kind: 'message'; message: unknown }
  /** What a process would have written to stderr: kept in the run's log. */
  | { kind: 'stderr'; line: string }
  /** The worker is done; main closes the window. */
  | { kind: 'exit'; code: number };
