// Runs sandboxed with context isolation: the page gets exactly TunesmithApi and never
// ipcRenderer itself, so it cannot reach channels the contract does not name.
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import { API_METHODS, CHANNEL_PREFIX, EVENT_CHANNEL, type ApiEvent, type ApiResult, type TunesmithApi } from '../core/api/contract';
import { unwrapResult } from '../core/api/errors';

const requests: Record<string, unknown> = Object.fromEntries(
  API_METHODS.map((method) => [method, async (req?: unknown) => unwrapResult((await ipcRenderer.invoke(CHANNEL_PREFIX + method, req)) as ApiResult<unknown>)]),
);

const api = {
  ...requests,
  onEvent(listener: (event: ApiEvent) => void) {
    const forward = (_e: IpcRendererEvent, event: ApiEvent) => listener(event);
    ipcRenderer.on(EVENT_CHANNEL, forward);
    return () => {
      ipcRenderer.removeListener(EVENT_CHANNEL, forward);
    };
  },
} as unknown as TunesmithApi;

contextBridge.exposeInMainWorld('tunesmith', api);
