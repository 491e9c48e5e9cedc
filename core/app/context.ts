// What the app's services share, and how a host plugs in the one thing that differs
// between Electron and plain Node: how a worker process is started.
import type { ApiEvent, ApiService, AppInfo } from '../api/contract';
import type { GpuLimits } from '../memory/device';

/** Heavy work (training, generation) runs in these, never in the process that answers the UI. */
export type WorkerName = 'training' | 'inference';

/** A started worker; messages are structured-clone/JSON values both ways. */
export interface WorkerProcess {
  readonly pid: number | undefined;
  send(message: unknown): void;
  onMessage(listener: (message: unknown) => void): void;
  /** Lines the worker wrote to stderr: kept in the run's log, shown on failure. */
  onStderrLine(listener: (line: string) => void): void;
  /** `signal` names the signal that ended it, where the host can tell (code is then null). */
  onExit(listener: (code: number | null, signal?: NodeJS.Signals | null) => void): void;
  kill(): void;
}

/**
 * Electron's main process gives one built on `utilityProcess.fork`, the web host and tests
 * one built on `child_process.fork`; the worker modules themselves are the same.
 */
export type ProcessLauncher = (worker: WorkerName, env?: Record<string, string>) => WorkerProcess;

/**
 * Where a host trains on a GPU other than this process's engine (Electron's GPU window): the
 * adapter as Settings shows it and the limits the memory estimate compares with, or why the
 * GPU is not used.
 */
export type GpuFinding = { adapter: string; limits: GpuLimits } | { notUsed: string };

export interface AppServiceOptions {
  /** Data folder: the store, settings, runs and conversations live here. */
  home: string;
  host: AppInfo['host'];
  versions: AppInfo['versions'];
  launcher: ProcessLauncher;
  /**
   * Which GPU training uses under the engine setting (the worker env it gives), where that is
   * not this process's own engine; the About line and Settings show it instead of this process's.
   */
  findGpu?: (env: Record<string, string>) => Promise<GpuFinding>;
}

export interface AppServiceHandle {
  /** Every request member; `pickPath` answers null and `showFolder` false (only Electron's host has a desktop and replaces them). */
  service: ApiService;
  onEvent(listener: (event: ApiEvent) => void): () => void;
  /** Stops running trainings so each leaves a checkpoint (one slower than SHUTDOWN_WAIT_MS is ended, left interrupted), then closes the store. */
  shutdown(): Promise<void>;
}
