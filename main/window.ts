// The app window and the rules every web contents lives under: one local page, nothing it
// can navigate to, and web links handed to the system browser.
import { app, BrowserWindow, shell, type Session, type WebContents } from 'electron';
import path from 'node:path';
import { APP_PAGE_URL, appPageMatcher } from './app-page';

// Paths are relative to this bundle, out/main/index.js, as electron-vite lays out `out/`.
// The preload is .cjs because a sandboxed preload cannot be an ES module.
const PRELOAD_SCRIPT = path.join(import.meta.dirname, '../preload/index.cjs');
export const RENDERER_DIR = path.join(import.meta.dirname, '../renderer');

// The dev server URL is honoured only when unpackaged, so an environment variable cannot
// point an installed app at foreign content.
export const DEV_SERVER_URL = app.isPackaged ? undefined : process.env.ELECTRON_RENDERER_URL;

export const isAppPage = appPageMatcher(APP_PAGE_URL, DEV_SERVER_URL);

export function createMainWindow(): BrowserWindow {
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
      // An installed app has no use for them, and they would hand anyone at the keyboard a
      // console in a page that can call every API member.
      devTools: !app.isPackaged,
    },
  });
  // Showing only once painted avoids a blank white flash, which is glaring in dark mode.
  window.once('ready-to-show', () => window.show());
  void window.loadURL(DEV_SERVER_URL ?? APP_PAGE_URL);
  return window;
}

/** Only web links go to the OS: file: or custom schemes handed to it could launch programs. */
function openInBrowser(url: string): void {
  const { protocol } = new URL(url);
  if (protocol === 'https:' || protocol === 'http:') void shell.openExternal(url);
}

/** The app is one page; anything that would replace it opens in the browser instead. */
export function keepContentsInApp(contents: WebContents): void {
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

/** The page needs no camera, microphone, location, notifications or anything else a site may ask for. */
export function denyPermissions(session: Session): void {
  session.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  session.setPermissionCheckHandler(() => false);
}
