// What every method group of the app service (runs, data, chat, settings) is built from, so
// each group is a plain factory `createXMethods(ctx)` and the service only composes them.
import type { ApiEvent, AppInfo } from '../api/contract';
import type { ExperimentStore } from '../store/index';
import type { ProcessLauncher } from './context';

export interface AppServiceContext {
  /** The data folder: `tunesmith.db`, `settings.json`, `runs/<runId>/` live here. */
  home: string;
  store: ExperimentStore;
  /** Sends an event to every subscriber of the service. */
  emit(event: ApiEvent): void;
  launcher: ProcessLauncher;
  host: AppInfo['host'];
  versions: AppInfo['versions'];
  /**
   * A model source from the renderer (an absolute local folder, or a downloaded Hub id) as
   * the folder its files are in; throws an apiError naming the source otherwise.
   */
  modelDir(source: string): string;
  /** Work to finish before the store closes at shutdown (e.g. ending a worker process). */
  onShutdown(hook: () => Promise<void> | void): void;
}
