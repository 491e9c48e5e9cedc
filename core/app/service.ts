// The app's service, free of Electron: every host (Electron's main process, the web host,
// tests) creates one over a data folder and serves its members. It composes method groups,
// each built from the same AppServiceContext.
import fs from 'node:fs';
import type { ApiEvent, ApiService } from '../api/contract';
import { getAppInfo } from '../app-info';
import { openStore } from '../store/index';
import type { AppServiceHandle, AppServiceOptions } from './context';
import { modelDirResolver } from './model-source';
import { createRunMethods } from './run-methods';
import { storeFile } from './run-folders';
import type { AppServiceContext } from './service-context';
import { TrainingManager } from './training-manager';
import { createTrainingMethods } from './training-methods';

/** Members whose groups (data, chat, settings, Hub) are composed in by their own modules. */
export type ComposedElsewhere =
  | 'listCatalog'
  | 'pullModel'
  | 'cancelPull'
  | 'inspectModel'
  | 'previewData'
  | 'listChatTargets'
  | 'chat'
  | 'stopChat'
  | 'listConversations'
  | 'getConversation'
  | 'getSettings'
  | 'updateSettings';

export type PartialAppServiceHandle = Omit<AppServiceHandle, 'service'> & { service: Omit<ApiService, ComposedElsewhere> };

export function createAppService(opts: AppServiceOptions): PartialAppServiceHandle {
  fs.mkdirSync(opts.home, { recursive: true });
  const store = openStore(storeFile(opts.home));
  const listeners = new Set<(event: ApiEvent) => void>();
  const shutdownHooks: (() => Promise<void> | void)[] = [];
  const ctx: AppServiceContext = {
    home: opts.home,
    store,
    emit: (event) => {
      for (const listener of listeners) listener(event);
    },
    launcher: opts.launcher,
    host: opts.host,
    versions: opts.versions,
    modelDir: modelDirResolver(opts.resolveModelDir),
    onShutdown: (hook) => shutdownHooks.push(hook),
  };
  const training = new TrainingManager(ctx);

  return {
    service: {
      appInfo: () => getAppInfo(opts.versions, opts.host),
      pickPath: async () => null,
      ...createTrainingMethods(ctx, training),
      ...createRunMethods(ctx, training),
    },
    onEvent: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    shutdown: async () => {
      await training.shutdown();
      for (const hook of shutdownHooks) await hook();
      store.close();
    },
  };
}
