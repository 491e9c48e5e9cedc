// Training and chat on the GPU in the desktop app. Dawn's Node binding cannot run inside Electron (its
// V8 sandbox forbids the external buffers dawn.node maps GPU memory into), so the GPU is
// Chromium's own: a hidden window whose preload (preload/gpu-worker.ts) is the training (or
// inference) worker on the page's navigator.gpu, started through the same ProcessLauncher seam as the utility
// processes and talking to this process over a MessageChannel (core/app/gpu-window-protocol.ts).
//
// That window has Node integration (and only it: the app's page stays sandboxed). The worker
// is the whole trainer: it reads datasets and models, writes checkpoints and exports through
// node:fs, takes the run folder's lock, records the run in the store (better-sqlite3, a native
// addon) and may load our kernels addon. Doing that through the port instead would mean a
// second, remote file system under core/train and core/store for one host, which no test here
// could run (there is no Electron binary); with Node in the window the same worker code runs
// as in the utility process and under `npm run web`. What keeps Node safe there: the window
// loads only the bundled page, which has no script and a CSP that allows nothing; it never
// navigates, opens nothing, attaches no webview, and has no DevTools when packaged.
import { app, BrowserWindow, MessageChannelMain, type MessagePortMain, type WebContents } from 'electron';
import path from 'node:path';
import { errorInfo } from '../core/api/errors';
import type { GpuFinding, ProcessLauncher, WorkerName, WorkerProcess } from '../core/app/context';
import { GPU_WINDOW_PAGE, GPU_WINDOW_PORT_CHANNEL, type GpuWindowReport, type GpuWindowStart } from '../core/app/gpu-window-protocol';
import type { TrainingReport } from '../core/app/training-protocol';
import { APP_HOST, APP_SCHEME } from './app-page';
import { DEV_SERVER_URL } from './window';

/** Bundled beside this file by electron-vite (electron.vite.config.ts). */
const GPU_WORKER_PRELOAD = path.join(import.meta.dirname, 'gpu-worker.mjs');

export const GPU_WINDOW_URL = DEV_SERVER_URL ? new URL(GPU_WINDOW_PAGE, DEV_SERVER_URL).href : `${APP_SCHEME}://${APP_HOST}/${GPU_WINDOW_PAGE}`;

const GPU_WINDOW_PREFERENCES = {
  preload: GPU_WORKER_PRELOAD,
  // The trainer's file, store and lock I/O (see the top of this file).
  nodeIntegration: true,
  sandbox: false,
  // Node lives in the preload's own world, not the page's; and Electron resolves the engine's
  // dynamic imports (tfjs's webgpu backend, the engine's chunks) in an ES module preload only
  // when it is context-isolated. An isolated world has its own navigator.gpu, on the page's GPU.
  contextIsolation: true,
  nodeIntegrationInSubFrames: false,
  nodeIntegrationInWorker: false,
  webviewTag: false,
  webSecurity: true,
  navigateOnDragDrop: false,
  spellcheck: false,
  // Hidden, it would be throttled as a background tab is: timers held back to once a second.
  backgroundThrottling: false,
  // No one is looking at this window, and in an installed app no one should be able to.
  devTools: !app.isPackaged,
};

/** The window shows one page for its whole life: every way of leaving it is refused. */
function lockGpuWindow(contents: WebContents): void {
  contents.setWindowOpenHandler(() => ({ action: 'deny' }));
  // Replaces the app-wide rule (main/window.ts), which hands web links to the system browser:
  // this page has no links, so any navigation is refused outright.
  contents.removeAllListeners('will-navigate');
  contents.on('will-navigate', (event) => event.preventDefault());
  contents.on('will-redirect', (event) => event.preventDefault());
  contents.on('will-attach-webview', (event) => event.preventDefault());
}

interface GpuWindow {
  window: BrowserWindow;
  port: MessagePortMain;
}

const gpuWindows = new WeakSet<BrowserWindow>();

/** Whether a window is one of these, which no one sees (main/index.ts counts only the others). */
export function isGpuWindow(window: BrowserWindow): boolean {
  return gpuWindows.has(window);
}

/** A hidden window on the worker page; its end of the channel is handed over once the page has loaded. */
function openGpuWindow(start: GpuWindowStart): GpuWindow {
  const window = new BrowserWindow({ show: false, title: 'Tunesmith GPU worker', webPreferences: GPU_WINDOW_PREFERENCES });
  gpuWindows.add(window);
  lockGpuWindow(window.webContents);
  const { port1, port2 } = new MessageChannelMain();
  window.webContents.once('did-finish-load', () => window.webContents.postMessage(GPU_WINDOW_PORT_CHANNEL, start, [port2]));
  void window.loadURL(GPU_WINDOW_URL);
  port1.start();
  return { window, port: port1 };
}

/** Chromium's GPU process, tfjs and the adapter start within seconds; a window silent this long is broken. */
const ANSWER_MS = 60_000;

/** Listens for the window's reports, and for its renderer dying (as a no-gpu report). */
function onReport(gpu: GpuWindow, listener: (report: GpuWindowReport) => void): void {
  gpu.port.on('message', ({ data }) => listener(data as GpuWindowReport));
  gpu.window.webContents.on('render-process-gone', (_event, details) => listener({ kind: 'no-gpu', reason: `the GPU window's renderer ended (${details.reason})` }));
}

/**
 * The window's first answer, whether it has a GPU; its page failing to load, or silence, count
 * as none. `early`: the lines the engine printed while it started (warnings before the adapter
 * was known), which no worker listened for yet. Returns a function that stops waiting (the
 * worker was killed first).
 */
function onAnswer(gpu: GpuWindow, listener: (answer: Extract<GpuWindowReport, { kind: 'gpu' | 'no-gpu' }>, early: string[]) => void): () => void {
  let answered = false;
  const early: string[] = [];
  const answer = (report: GpuWindowReport) => {
    if (answered) return;
    if (report.kind === 'stderr') early.push(report.line);
    if (report.kind !== 'gpu' && report.kind !== 'no-gpu') return;
    answered = true;
    clearTimeout(timer);
    listener(report, early);
  };
  const timer = setTimeout(() => answer({ kind: 'no-gpu', reason: `the GPU window did not answer within ${ANSWER_MS / 1000} s` }), ANSWER_MS);
  onReport(gpu, answer);
  gpu.window.webContents.on('did-fail-load', (_event, code, description) => answer({ kind: 'no-gpu', reason: `the GPU window's page did not load (${description}, ${code})` }));
  return () => {
    answered = true;
    clearTimeout(timer);
  };
}

function closeGpuWindow({ window, port }: GpuWindow): void {
  port.close();
  if (!window.isDestroyed()) window.destroy();
}

/** The window as a WorkerProcess, once it has its GPU. */
function windowWorker(gpu: GpuWindow): WorkerProcess {
  const messages: ((message: unknown) => void)[] = [];
  const lines: ((line: string) => void)[] = [];
  const exits: ((code: number | null) => void)[] = [];
  let exited = false;
  const exit = (code: number | null) => {
    if (exited) return;
    exited = true;
    closeGpuWindow(gpu);
    for (const listener of exits) listener(code);
  };
  onReport(gpu, (report) => {
    if (report.kind === 'message') messages.forEach((l) => l(report.message));
    else if (report.kind === 'stderr') lines.forEach((l) => l(report.line));
    else if (report.kind === 'exit') exit(report.code);
    // The renderer died mid-run: as a killed process, so the run can resume from its checkpoint.
    else if (report.kind === 'no-gpu') {
      lines.forEach((l) => l(report.reason));
      exit(null);
    }
  });
  gpu.window.once('closed', () => exit(null));
  return {
    get pid() {
      return gpu.window.isDestroyed() ? undefined : gpu.window.webContents.getOSProcessId();
    },
    send: (message) => {
      if (!exited) gpu.port.postMessage(message);
    },
    onMessage: (listener) => void messages.push(listener),
    onStderrLine: (listener) => void lines.push(listener),
    onExit: (listener) => void exits.push(listener),
    kill: () => exit(null),
  };
}

/**
 * Work that was to use the GPU the person chose, which cannot: it fails with the reason, as a
 * forced engine does. A run ends failed with it; chat's worker exits with it as its last words.
 */
function refusedWorker(worker: WorkerName, reason: string): WorkerProcess {
  const message = `the GPU chosen in Settings cannot be used: ${reason}`;
  const ended: TrainingReport = { type: 'ended', status: 'failed', error: errorInfo(new Error(message)) };
  const training = worker === 'training';
  return {
    pid: undefined,
    send: () => {},
    onMessage: (l) => (training ? l(ended) : undefined),
    onStderrLine: (l) => (training ? undefined : l(message)),
    onExit: (l) => l(training ? 0 : 1),
    kill: () => {},
  };
}

/**
 * A worker whose process is decided after it was handed out (the window must first find its
 * GPU): commands wait, listeners are passed on, and a note can be added to its stderr.
 */
class PendingWorker implements WorkerProcess {
  /** `cancel`: what a kill before the process is decided must undo (the window still starting). */
  constructor(private readonly cancel: () => void = () => {}) {}

  #target: WorkerProcess | null = null;
  #killed = false;
  readonly #queued: unknown[] = [];
  readonly #notes: string[] = [];
  readonly #messages: ((message: unknown) => void)[] = [];
  readonly #lines: ((line: string) => void)[] = [];
  readonly #exits: ((code: number | null, signal?: NodeJS.Signals | null) => void)[] = [];

  get pid(): number | undefined {
    return this.#target?.pid;
  }
  send(message: unknown): void {
    if (this.#target) this.#target.send(message);
    else this.#queued.push(message);
  }
  onMessage(listener: (message: unknown) => void): void {
    this.#messages.push(listener);
    this.#target?.onMessage(listener);
  }
  onStderrLine(listener: (line: string) => void): void {
    this.#lines.push(listener);
    for (const line of this.#notes) listener(line);
    this.#target?.onStderrLine(listener);
  }
  onExit(listener: (code: number | null, signal?: NodeJS.Signals | null) => void): void {
    this.#exits.push(listener);
    this.#target?.onExit(listener);
  }
  kill(): void {
    if (this.#target) return this.#target.kill();
    if (this.#killed) return;
    this.#killed = true;
    this.cancel();
    // As a process killed by a signal: no code.
    for (const listener of this.#exits) listener(null);
  }
  /** A line in the run's log, as if the worker had written it; kept for listeners not yet added. */
  note(line: string): void {
    this.#notes.push(line);
    for (const listener of this.#lines) listener(line);
  }
  route(target: WorkerProcess): void {
    this.#target = target;
    this.#messages.forEach((l) => target.onMessage(l));
    this.#lines.forEach((l) => target.onStderrLine(l));
    this.#exits.forEach((l) => target.onExit(l));
    for (const message of this.#queued.splice(0)) target.send(message);
  }
}

export interface GpuWindowLauncher {
  launcher: ProcessLauncher;
  /** For Settings and the About line: which GPU training would use under these worker settings, or why none. */
  findGpu(env: Record<string, string>): Promise<GpuFinding>;
}

/** Which way the engine setting (TUNESMITH_BACKEND in the worker's env) sends training; null: a CPU engine was chosen. */
function gpuWanted(env: Record<string, string>): { allowSoftware: boolean } | null {
  const chosen = env.TUNESMITH_BACKEND;
  if (chosen === undefined) return { allowSoftware: false };
  return chosen === 'webgpu' ? { allowSoftware: true } : null;
}

/**
 * Training and chat go to a GPU window when the person chose the GPU, or chose Automatic and
 * the window finds a hardware adapter; otherwise to `cpu` (the utility process), with the
 * reason as the first line of the run's log. What the window found is remembered for this
 * session, so Automatic on a computer without a GPU opens it once.
 */
export function gpuWindowLauncher(cpu: ProcessLauncher, open: (start: GpuWindowStart) => GpuWindow = openGpuWindow): GpuWindowLauncher {
  const found = new Map<boolean, GpuFinding>();
  const remember = (allowSoftware: boolean, finding: GpuFinding) => found.set(allowSoftware, finding);

  function findGpu(env: Record<string, string>): Promise<GpuFinding> {
    const wanted = gpuWanted(env);
    if (!wanted) return Promise.resolve({ notUsed: `the ${env.TUNESMITH_BACKEND} engine was chosen in Settings` });
    const known = found.get(wanted.allowSoftware);
    if (known) return Promise.resolve(known);
    const gpu = open({ worker: 'training', env, allowSoftware: wanted.allowSoftware, probeOnly: true });
    return new Promise((resolve) => {
      onAnswer(gpu, (report) => {
        const finding: GpuFinding = report.kind === 'gpu' ? { adapter: report.adapter, limits: report.limits } : { notUsed: report.reason };
        remember(wanted.allowSoftware, finding);
        closeGpuWindow(gpu);
        resolve(finding);
      });
    });
  }

  const launcher: ProcessLauncher = (worker: WorkerName, env = {}) => {
    const wanted = gpuWanted(env);
    if (!wanted) return cpu(worker, env);
    const onGpu = worker === 'training' ? 'training on the GPU' : 'chat on the GPU';
    const onCpu = worker === 'training' ? 'training on the CPU' : 'chat on the CPU';
    const known = found.get(wanted.allowSoftware);
    if (known && 'notUsed' in known && !wanted.allowSoftware) {
      const pending = new PendingWorker();
      pending.route(cpu(worker, env));
      pending.note(`GPU not used: ${known.notUsed}; ${onCpu}`);
      return pending;
    }
    const gpu = open({ worker, env, allowSoftware: wanted.allowSoftware, probeOnly: false });
    const pending = new PendingWorker(() => {
      stopWaiting();
      closeGpuWindow(gpu);
    });
    const stopWaiting = onAnswer(gpu, (report, early) => {
      // In the order printed: the engine's start-up warnings came before its answer.
      for (const line of early) pending.note(line);
      if (report.kind === 'gpu') {
        remember(wanted.allowSoftware, { adapter: report.adapter, limits: report.limits });
        pending.route(windowWorker(gpu));
        pending.note(`${onGpu}: ${report.adapter}`);
        return;
      }
      closeGpuWindow(gpu);
      remember(wanted.allowSoftware, { notUsed: report.reason });
      if (wanted.allowSoftware) return pending.route(refusedWorker(worker, report.reason));
      pending.note(`GPU not used: ${report.reason}; ${onCpu}`);
      pending.route(cpu(worker, env));
    });
    return pending;
  };
  return { launcher, findGpu };
}
