// The GPU window's preload (main/gpu-window.ts): the training or inference worker, on Chromium's WebGPU
// (this isolated world's navigator.gpu). It is the only code the window runs: the page itself
// (renderer/gpu-worker.html) has no script.
// Built by the main build as an ES module (.mjs, which Electron loads through Node's loader),
// since it is the workers' code and shares their chunks; not by the preload build, whose
// CommonJS output must stay one self-contained file for the sandboxed app page.
import { ipcRenderer } from 'electron';
import { GPU_WINDOW_PORT_CHANNEL, type GpuWindowReport, type GpuWindowStart } from '../core/app/gpu-window-protocol';
import { runGpuWindow } from '../core/app/gpu-window-worker';

ipcRenderer.once(GPU_WINDOW_PORT_CHANNEL, (event, start: GpuWindowStart) => {
  const [port] = event.ports;
  const report = (r: GpuWindowReport) => port.postMessage(r);
  // A process would die of an uncaught error and leave its stack on stderr; the window says so.
  const die = (what: unknown) => {
    const text = what instanceof Error ? (what.stack ?? what.message) : String(what);
    for (const line of text.split('\n')) report({ kind: 'stderr', line });
    report({ kind: 'exit', code: 1 });
  };
  window.addEventListener('error', (e) => die(e.error ?? e.message));
  window.addEventListener('unhandledrejection', (e) => die(e.reason));
  void runGpuWindow(port, start).catch(die);
});
