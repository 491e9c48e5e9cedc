// Shared by every host (Electron main, the future web host) so they all report
// the same thing. Only the host knows its runtime versions, so it passes them in.
import pkg from '../package.json' with { type: 'json' };
import type { AppInfo } from './api/contract';
import { describeGpu, initBackend } from './engine/backend';

export async function getAppInfo(versions: AppInfo['versions'], host: AppInfo['host']): Promise<AppInfo> {
  const backend = await initBackend();
  return {
    name: pkg.productName,
    version: pkg.version,
    backend: backend.name,
    gpu: describeGpu(backend),
    platform: process.platform,
    versions,
    host,
  };
}
