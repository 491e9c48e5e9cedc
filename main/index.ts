// Electron main process. It owns the window and the security policy; every
// answer to the renderer comes from core/ so the future web host can give the same ones.
import { app, BrowserWindow, ipcMain, shell, type WebContents } from 'electron';
import path from 'node:path';
import { CHANNEL_PREFIX } from '../core/api/contract';
import { getAppInfo } from '../core/app-info';

// Paths are relative to this bundle, out/main/index.js, as electron-vite lays out `out/`.
// The preload is .cjs because a sandboxed preload cannot be an ES module.
const PRELOAD_SCRIPT = path.join(import.meta.dirname, '../preload/index.cjs');
const RENDERER_HTML = path.join(import.meta.dirname, '../renderer/index.html');

function createMainWindow(): void {
  const window = new BrowserWindow({
    title: 'Tunesmith',
    width: 1100,
    height: 760,
    show: false,
    webPreferences: {
      preload: PRELOAD_SCRIPT,
      contextIsolation: true,
      nodeIntegration: false,
      sandbox: true,
    },
  });
  // Showing only once painted avoids a blank white flash, which is glaring in dark mode.
  window.once('ready-to-show', () => window.show());

  // The dev server URL is honoured only when unpackaged, so an environment variable
  // cannot point an installed app at foreign content.
  const devServerUrl = process.env.ELECTRON_RENDERER_URL;
  if (!app.isPackaged && devServerUrl) void window.loadURL(devServerUrl);
  else void window.loadFile(RENDERER_HTML);
}

/** Only web links go to the OS: file: or custom schemes handed to it could launch programs. */
function openInBrowser(url: string): void {
  const { protocol } = new URL(url);
  if (protocol === 'https:' || protocol === 'http:') void shell.openExternal(url);
}

/** The app is one page; anything that would replace it opens in the browser instead. */
function keepContentsInApp(contents: WebContents): void {
  contents.setWindowOpenHandler(({ url }) => {
    openInBrowser(url);
    return { action: 'deny' };
  });
  contents.on('will-navigate', (event) => {
    // Reloading the current page (the dev server's full reload) is not leaving the app.
    if (event.url === contents.getURL()) return;
    event.preventDefault();
    openInBrowser(event.url);
  });
}

function registerApiHandlers(): void {
  ipcMain.handle(CHANNEL_PREFIX + 'appInfo', async () => ({
    ok: true,
    value: await getAppInfo({ node: process.versions.node, electron: process.versions.electron, chrome: process.versions.chrome }, 'electron'),
  }));
}

// Applied to every web contents, not just our window, so nothing created later escapes the policy.
app.on('web-contents-created', (_event, contents) => keepContentsInApp(contents));

app.on('window-all-closed', () => {
  // macOS apps stay running with no windows until the user quits them.
  if (process.platform !== 'darwin') app.quit();
});

app.on('activate', () => {
  if (BrowserWindow.getAllWindows().length === 0) createMainWindow();
});

void app.whenReady().then(() => {
  registerApiHandlers();
  createMainWindow();
});
