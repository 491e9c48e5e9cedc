// The API over IPC: one handle() per member, each answered through the same dispatch as the
// web host, and every event sent to every window.
import { BrowserWindow, dialog, ipcMain, shell, type IpcMainInvokeEvent } from 'electron';
import { API_METHODS, CHANNEL_PREFIX, EVENT_CHANNEL, type ApiEvent, type ApiResult, type TunesmithApi } from '../core/api/contract';
import { handleApiRequest } from '../core/api/dispatch';
import type { AppServiceHandle } from '../core/app/context';
import { isAppPage } from './window';

/** Only Electron has native dialogs, so this member is answered here, not by the service. */
const pickPath: TunesmithApi['pickPath'] = async ({ kind, title }) => {
  const options: Electron.OpenDialogOptions = { title, properties: [kind === 'file' ? 'openFile' : 'openDirectory'] };
  const parent = BrowserWindow.getFocusedWindow();
  const result = parent ? await dialog.showOpenDialog(parent, options) : await dialog.showOpenDialog(options);
  return result.canceled ? null : (result.filePaths[0] ?? null);
};

/** Shows an export's folder in the file manager; shell.openPath answers '' on success. */
const showFolder: TunesmithApi['showFolder'] = async ({ path }) => (await shell.openPath(path)) === '';

/**
 * Answers only our page's top frame: anything else that got an IPC channel (a frame that
 * navigated away, an embedded page) is no one we serve.
 */
function fromAppPage(event: IpcMainInvokeEvent): boolean {
  const frame = event.senderFrame;
  return frame !== null && frame === event.sender.mainFrame && isAppPage(frame.url);
}

const NOT_OUR_PAGE: ApiResult<never> = { ok: false, error: { message: 'Tunesmith answers only its own page' } };

export function serveApiOverIpc(handle: AppServiceHandle): void {
  const service = { ...handle.service, pickPath, showFolder };
  for (const method of API_METHODS) {
    ipcMain.handle(CHANNEL_PREFIX + method, (event, payload: unknown) => (fromAppPage(event) ? handleApiRequest(service, method, payload) : NOT_OUR_PAGE));
  }
  handle.onEvent((event: ApiEvent) => {
    for (const window of BrowserWindow.getAllWindows()) {
      if (!window.isDestroyed()) window.webContents.send(EVENT_CHANNEL, event);
    }
  });
}
