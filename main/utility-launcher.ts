// Workers as Electron utility processes. Electron's own executable runs them, so the packaged
// app needs no separate Node; they talk to main over the parentPort message channel.
import { utilityProcess } from 'electron';
import path from 'node:path';
import readline from 'node:readline';
import { setTimeout as delay } from 'node:timers/promises';
import type { ProcessLauncher } from '../core/app/context';

/** How long after exit the last stderr lines may still be in the pipe. */
const STDERR_DRAIN_MS = 1000;

/** Bundled beside this file by electron-vite: out/main/<name>-worker.js. */
function workerModule(name: string): string {
  return path.join(import.meta.dirname, `${name}-worker.js`);
}

export const utilityLauncher: ProcessLauncher = (worker, env) => {
  const child = utilityProcess.fork(workerModule(worker), [], {
    env: { ...process.env, ...env },
    // stdout is the worker's own business; stderr is kept in the run's log.
    stdio: ['ignore', 'inherit', 'pipe'],
    serviceName: `Tunesmith ${worker}`,
  });
  const stderrLines = readline.createInterface({ input: child.stderr! });
  const stderrClosed = new Promise<void>((resolve) => stderrLines.once('close', resolve));
  const exited = new Promise<number>((resolve) => child.once('exit', resolve));
  // A failure's last words come just before the exit; listeners hear them first.
  const ended = exited.then(async (code) => {
    await Promise.race([stderrClosed, delay(STDERR_DRAIN_MS)]);
    return code;
  });
  let running = true;
  void exited.then(() => (running = false));
  return {
    // Known only once the process has spawned.
    get pid() {
      return child.pid;
    },
    send: (message) => {
      if (running) child.postMessage(message);
    },
    onMessage: (listener) => child.on('message', listener),
    onStderrLine: (listener) => stderrLines.on('line', listener),
    onExit: (listener) => void ended.then(listener),
    kill: () => {
      child.kill();
    },
  };
};
