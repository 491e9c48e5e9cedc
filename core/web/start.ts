// `npm run web [-- --port N] [-- --home DIR]`: Tunesmith in a browser on this computer, served by
// plain Node instead of Electron. It serves the renderer build (out/renderer), which the npm
// script makes first; workers run under Node through tsx.
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createAppService } from '../app/service';
import { nodeLauncher } from '../app/node-launcher';
import { parseNumber, UsageError } from '../cli/args';
import type { AppServiceHandle } from '../app/context';
import { defaultStorePath, moveStoreAside, StoreDamaged } from '../store/open';
import { startWebHost } from './server';

const RENDERER_DIR = path.resolve(import.meta.dirname, '../../out/renderer');

function parseOptions(argv: string[]): { port: number; home: string; moveDamagedStore: boolean } {
  const { values } = parseArgs({ args: argv, options: { port: { type: 'string' }, home: { type: 'string' }, 'move-damaged-store': { type: 'boolean' } } });
  const port = parseNumber('--port', values.port, 0, true);
  if (port < 0 || port > 65535) throw new UsageError(`--port must be between 0 and 65535; got ${port}`);
  // The CLI's data folder by default, so runs trained from either show up in both.
  return { port, home: path.resolve(values.home ?? path.dirname(defaultStorePath())), moveDamagedStore: values['move-damaged-store'] === true };
}

/** The app over `home`; a damaged store is moved aside for a new one only when asked, else the refusal says how to ask. */
function openService(home: string, moveDamagedStore: boolean): AppServiceHandle {
  const open = () => createAppService({ home, host: 'web', versions: { node: process.versions.node }, launcher: nodeLauncher });
  try {
    return open();
  } catch (err) {
    if (!(err instanceof StoreDamaged)) throw err;
    if (!moveDamagedStore) throw new Error(`${err.message}\nTo keep it for recovery and start a new store, run again with --move-damaged-store.`);
    console.log(`Moved the damaged store to ${moveStoreAside(err.file)}; starting a new one.`);
    return open();
  }
}

async function main(): Promise<void> {
  const { port, home, moveDamagedStore } = parseOptions(process.argv.slice(2));
  const handle = openService(home, moveDamagedStore);
  const host = await startWebHost({ handle, rendererDir: RENDERER_DIR, port });
  console.log(`Tunesmith is running at\n\n  ${host.url}\n\nOpen that address in a browser on this computer (the token in it is the key). Data folder: ${home}. Ctrl+C stops.`);

  let stopping = false;
  const stop = async () => {
    if (stopping) process.exit(130);
    stopping = true;
    console.log('Stopping: running trainings save a checkpoint first… (Ctrl+C again to quit at once)');
    await host.close();
    await handle.shutdown();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
}

main().catch((error: unknown) => {
  console.error(`tunesmith web: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = error instanceof UsageError ? 2 : 1;
});
