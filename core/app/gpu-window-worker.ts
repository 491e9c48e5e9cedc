// The GPU window's side (preload/gpu-worker.ts runs it): starts the engine on Chromium's
// WebGPU, says which adapter it got or why none, then serves the training or inference worker
// over the port.
// Written against the DOM MessagePort, which Node also has, so it is tested under Node.
import { errorInfo } from '../api/errors';
import { describeGpu, initWebgpuOnly } from '../engine/backend';
import type { GpuWindowReport, GpuWindowStart } from './gpu-window-protocol';
import type { InferenceRequest } from './inference-protocol';
import type { WorkerPort } from './worker-port';

/** The members of a DOM (or Node) MessagePort used here. */
export interface WindowPort {
  postMessage(message: unknown): void;
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
  start(): void;
}

/**
 * The window has no stderr main can read: what the engine prints as errors or warnings goes to
 * the run's log over the port, one report per line.
 */
function forwardConsole(report: (r: GpuWindowReport) => void): void {
  for (const level of ['error', 'warn'] as const) {
    const original = console[level].bind(console);
    console[level] = (...args: unknown[]) => {
      original(...args);
      for (const line of args.map((a) => (a instanceof Error ? (a.stack ?? a.message) : String(a))).join(' ').split('\n')) report({ kind: 'stderr', line });
    };
  }
}

export async function runGpuWindow(port: WindowPort, start: GpuWindowStart): Promise<void> {
  const report = (r: GpuWindowReport) => port.postMessage(r);
  // Commands that arrive while the engine starts are kept until the worker listens.
  const queued: unknown[] = [];
  let deliver: ((message: unknown) => void) | null = null;
  port.addEventListener('message', (event) => (deliver ? deliver(event.data) : queued.push(event.data)));
  port.start();
  Object.assign(process.env, start.env);
  forwardConsole(report);
  try {
    const choice = await initWebgpuOnly(start.allowSoftware);
    const { software, memoryBytes, maxStorageBufferBindingSize } = choice.adapter!;
    report({ kind: 'gpu', adapter: describeGpu(choice), limits: { software, memoryBytes, maxStorageBufferBindingSize } });
  } catch (err) {
    report({ kind: 'no-gpu', reason: errorInfo(err).message });
    return;
  }
  if (start.probeOnly) return;
  const onMessage = (listener: (message: unknown) => void) => {
    deliver = listener;
    for (const message of queued.splice(0)) listener(message);
  };
  const send = (message: unknown) => report({ kind: 'message', message });
  // Loaded only now: a probe needs none of the trainer (nor its store and file system).
  if (start.worker === 'inference') {
    const { serveInference } = await import('./inference-server');
    serveInference({ send, onMessage: (listener) => onMessage((message) => listener(message as InferenceRequest)) });
    return;
  }
  const worker: WorkerPort = {
    onMessage,
    post: async (message) => send(message),
    // The window lives and dies with the main process, as a utility process does.
    onParentGone: () => {},
  };
  const { serveTraining } = await import('./training-serve');
  serveTraining(worker, (code) => report({ kind: 'exit', code }));
}
