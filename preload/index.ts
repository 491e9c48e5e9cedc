// Runs sandboxed with context isolation: the page gets exactly TunesmithApi and
// never ipcRenderer itself, so it cannot reach channels the contract does not name.
import { contextBridge, ipcRenderer } from 'electron';
import { API_CHANNELS, type TunesmithApi } from '../core/api/contract';

const api: TunesmithApi = {
  appInfo: () => ipcRenderer.invoke(API_CHANNELS.appInfo),
};

contextBridge.exposeInMainWorld('tunesmith', api);
