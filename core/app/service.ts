// The app's service, free of Electron: every host (Electron's main process, the web host,
// tests) creates one over a data folder and serves its members. It composes method groups,
// each built from the same AppServiceContext.
import fs from 'node:fs';
import type { ApiEvent } from '../api/contract';
import { getAppInfo } from '../app-info';
import { initBackend } from '../engine/backend';
import type { GpuLimits } from '../memory/device';
import { openStore } from '../store/index';
import type { AppServiceHandle, AppServiceOptions } from './context';
import { modelDirResolver } from './model-source';
import { createChatMethods } from './chat-methods';
import { createDataMethods } from './data-methods';
import { createHandoffMethods } from './handoff-methods';
import { createHubMethods } from './hub-methods';
import { createRunMethods } from './run-methods';
import { storeFile } from './run-folders';
import type { AppServiceContext } from './service-context';
import { backendEnv, createSettingsMethods, readSettingsFile } from './settings';
import { TrainingManager } from './training-manager';
import { createTrainingMethods } from './training-methods';

export function createAppService(opts: AppServiceOptions): AppServiceHandle {
  fs.mkdirSync(opts.home, { recursive: true });
  const store = openStore(storeFile(opts.home));
  const listeners = new Set<(event: ApiEvent) => void>();
  const shutdownHooks: (() => Promise<void> | void)[] = [];
  const hub = createHubMethods({ emit: (event) => ctx.emit(event), hubToken: () => readSettingsFile(opts.home).hubToken });
  const ctx: AppServiceContext = {
    home: opts.home,
    store,
    emit: (event) => {
      for (const listener of listeners) listener(event);
    },
    launcher: opts.launcher,
    host: opts.host,
    versions: opts.versions,
    modelDir: modelDirResolver(hub.resolveModelDir),
    onShutdown: (hook) => shutdownHooks.push(hook),
  };
  const training = new TrainingManager(ctx);
  /**
   * The GPU training will run on, where it will: the one the host's GPU window found under the
   * engine setting, or (the web host, whose workers start the engine as this process did) the
   * adapter of this process's own webgpu backend.
   */
  const trainingGpu = async (): Promise<GpuLimits | undefined> => {
    if (!opts.findGpu) {
      const chosen = backendEnv(opts.home).TUNESMITH_BACKEND;
      return chosen === undefined || chosen === 'webgpu' ? (await initBackend()).adapter : undefined;
    }
    const found = await opts.findGpu(backendEnv(opts.home));
    return 'limits' in found ? found.limits : undefined;
  };
  const chat = createChatMethods(ctx);
  ctx.onShutdown(() => chat.dispose());

  return {
    service: {
      appInfo: async () => {
        const info = await getAppInfo(opts.versions, opts.host);
        const found = await opts.findGpu?.(backendEnv(opts.home));
        if (!found) return info;
        // Training runs on that GPU, so its engine is webgpu and no CPU bf16 kernel applies.
        return 'adapter' in found ? { ...info, backend: 'webgpu', bf16Kernel: null, gpu: found.adapter } : { ...info, gpu: `not used: ${found.notUsed}` };
      },
      pickPath: async () => null,
      showFolder: async () => false,
      ...createTrainingMethods(ctx, training, trainingGpu),
      ...createRunMethods(ctx, training),
      ...createHandoffMethods(ctx, training),
      ...createDataMethods(ctx),
      ...createSettingsMethods(ctx),
      listCatalog: hub.listCatalog,
      pullModel: hub.pullModel,
      cancelPull: hub.cancelPull,
      listChatTargets: chat.listChatTargets,
      chat: chat.chat,
      stopChat: chat.stopChat,
      listConversations: chat.listConversations,
      getConversation: chat.getConversation,
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
