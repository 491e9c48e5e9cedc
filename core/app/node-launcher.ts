// Worker processes for hosts that are plain Node (the web host, tests): `child_process.fork`
// of core/app/<name>-worker.ts, run through tsx like the CLI.
import { fork } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import type { ProcessLauncher } from './context';

const TSX = import.meta.resolve('tsx');

export const nodeLauncher: ProcessLauncher = (worker, env = {}) => {
  const child = fork(path.join(import.meta.dirname, `${worker}-worker.ts`), [], {
    execArgv: ['--import', TSX],
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
  });
  const lines = readline.createInterface({ input: child.stderr! });
  return {
    pid: child.pid,
    send: (message) => {
      // A worker that has just exited can no longer be told anything; its exit is reported instead.
      if (child.connected) child.send(message as object);
    },
    onMessage: (listener) => child.on('message', listener),
    onStderrLine: (listener) => lines.on('line', listener),
    // 'close', not 'exit': it comes after stderr has been read to the end, so no last line is missed.
    onExit: (listener) => child.on('close', (code, signal) => listener(code, signal)),
    kill: () => child.kill(),
  };
};
