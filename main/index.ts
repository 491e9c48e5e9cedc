// Electron main process: the app's lifecycle. The window and its security policy live in
// window.ts, the API over IPC in api-ipc.ts; every answer comes from core/ so the web host
// gives the same ones.
import { app, BrowserWindow, session } from 'electron';
import path from 'node:path';
import type { AppServiceHandle } from '../core/app/context';
import { createAppService } from '../core/app/service';
import { defaultStorePath } from '../core/store/open';
import { serveApiOverIpc } from './api-ipc';
import { registerAppScheme, serveAppScheme } from './app-protocol';
import { gpuWindowLauncher, isGpuWindow } from './gpu-window';
import { utilityLauncher } from './utility-launcher';
import { createMainWindow, denyPermissions, keepContentsInApp, RENDERER_DIR } from './window';

/**
 * A .node file cannot be loaded from inside app.asar, so packaging unpacks it
 * (electron-builder.yml asarUnpack), and the bundled engine code, no longer next to
 * core/native, is told where. Workers inherit it from this process's environment.
 */
function pointAtNativeAddon(): void {
  const appRoot = app.getAppPath().replace(/app\.asar$/, 'app.asar.unpacked');
  process.env.TUNESMITH_NATIVE_ADDON ??= path.join(appRoot, 'core', 'native', 'build', 'Release', 'tunesmith_kernels.node');
}

/** Holds the quit until running trainings have stopped at a checkpoint, or the service's shutdown ended them. */
function shutDownBeforeQuit(handle: AppServiceHandle): void {
  let stopping = false;
  let stopped = false;
  app.on('before-quit', (event) => {
    if (stopped) return;
    event.preventDefault();
    if (stopping) return;
    stopping = true;
    void handle.shutdown()
      .catch((error: unknown) => console.error('Tunesmith: shutdown failed', error))
      .finally(() => {
        stopped = true;
        app.quit();
      });
  });
}

registerAppScheme();

// Applied to every web contents, not just our window, so nothing created later escapes the policy.
app.on('web-contents-created', (_event, contents) => keepContentsInApp(contents));

/** The windows a person sees: a GPU window training in the background is not one. */
const appWindows = () => BrowserWindow.getAllWindows().filter((window) => !isGpuWindow(window));
let quitting = false;
app.on('before-quit', () => (quitting = true));

/**
 * Closing the last app window quits (on macOS apps stay running until the user quits them), so
 * a run on the GPU is stopped at a checkpoint as one in a utility process is; Electron's own
 * window-all-closed would wait for the hidden GPU window too.
 */
function openAppWindow(): void {
  createMainWindow().once('closed', () => {
    if (!quitting && process.platform !== 'darwin' && appWindows().length === 0) app.quit();
  });
}

app.on('window-all-closed', () => {
  if (process.platform !== 'darwin') app.quit();
});

app.on('activate', () => {
  if (appWindows().length === 0) openAppWindow();
});

void app.whenReady().then(() => {
  serveAppScheme(RENDERER_DIR);
  denyPermissions(session.defaultSession);
  pointAtNativeAddon();
  // Training and chat on the GPU run in hidden windows (Chromium's WebGPU); on the CPU, in
  // utility processes.
  const gpu = gpuWindowLauncher(utilityLauncher);
  const handle = createAppService({
    // The CLI's data folder too, so runs trained from either show up in both.
    home: path.dirname(defaultStorePath()),
    host: 'electron',
    versions: { node: process.versions.node, electron: process.versions.electron, chrome: process.versions.chrome },
    launcher: gpu.launcher,
    findGpu: gpu.findGpu,
  });
  shutDownBeforeQuit(handle);
  serveApiOverIpc(handle);
  openAppWindow();
});
