// Ctrl-C or `kill` stops a training run between two steps, so that it can still record how
// it ended; a second signal exits at once for someone who does not want to wait.
import os from 'node:os';

export class StoppedBySignal extends Error {
  constructor(readonly signal: NodeJS.Signals) {
    super(`training stopped by ${signal}`);
  }

  /** What shells report for a process ended by this signal. */
  get exitCode(): number {
    return 128 + os.constants.signals[this.signal];
  }
}

/** Aborts the returned signal on SIGINT or SIGTERM until `dispose` puts the default handling back. */
export function stopOnSignals(): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const names = ['SIGINT', 'SIGTERM'] as const;
  const onSignal = (name: NodeJS.Signals) => {
    if (controller.signal.aborted) process.exit(new StoppedBySignal(name).exitCode);
    controller.abort(new StoppedBySignal(name));
  };
  for (const n of names) process.on(n, onSignal);
  return {
    signal: controller.signal,
    dispose: () => {
      for (const n of names) process.off(n, onSignal);
    },
  };
}
