// The app API's model downloads: the catalog, pulls that report progress as `download`
// events, and cancellation. Hub settings are read from the environment at each call, so
// HF_HUB_OFFLINE and friends apply without a restart; the token comes from the app's settings.
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { ApiEvent, ApiService, DownloadProgress } from '../api/contract';
import { errorInfo } from '../api/errors';
import { catalogEntries } from '../hub/catalog';
import { hubConfigFromEnv } from '../hub/config';
import { DownloadCancelled } from '../hub/errors';
import { parseModelRef } from '../hub/model-ref';
import { throttle, type PullProgress } from '../hub/progress';
import { cachedModelDir, pullModel } from '../hub/pull';

export interface HubMethodsContext {
  emit(event: ApiEvent): void;
  /** The token saved in settings, or null. */
  hubToken(): string | null;
}

export type HubMethods = Pick<ApiService, 'listCatalog' | 'pullModel' | 'cancelPull'> & {
  /** A Hub id (`ID[@REV]`) to its cached snapshot folder, an existing absolute folder to itself; else null. */
  resolveModelDir(source: string): string | null;
};

/** Often enough for a smooth bar, rarely enough not to flood IPC. */
const EVENT_INTERVAL_MS = 200;

const NO_PROGRESS: PullProgress = { file: null, fileBytes: 0, fileTotalBytes: 0, bytes: 0, totalBytes: 0, bytesPerSecond: 0, etaSeconds: null };

export function createHubMethods(ctx: HubMethodsContext): HubMethods {
  const config = () => hubConfigFromEnv(process.env, ctx.hubToken());
  /** Every download this session started; the controller is dropped once it ends. */
  const downloads = new Map<string, AbortController | null>();
  /** `ID@REV` → its running download, so a second pull joins it instead of writing the same files. */
  const running = new Map<string, string>();

  const event = (downloadId: string, modelId: string, state: DownloadProgress['state'], p: PullProgress, extra: Partial<DownloadProgress> = {}): void =>
    ctx.emit({
      type: 'download',
      progress: { downloadId, modelId, state, file: p.file, bytes: p.bytes, totalBytes: p.totalBytes, bytesPerSecond: p.bytesPerSecond, etaSeconds: p.etaSeconds, ...extra },
    });

  return {
    async listCatalog() {
      return catalogEntries(config());
    },

    async pullModel({ modelId, revision }) {
      const ref = parseModelRef(modelId, revision);
      const key = `${ref.id}@${ref.revision}`;
      const joined = running.get(key);
      if (joined) return { downloadId: joined };
      const downloadId = randomUUID();
      const controller = new AbortController();
      downloads.set(downloadId, controller);
      running.set(key, downloadId);
      let last = NO_PROGRESS;
      const progress = throttle((p: PullProgress) => event(downloadId, modelId, 'running', p), EVENT_INTERVAL_MS);
      pullModel(ref.id, {
        config: config(),
        revision: ref.revision,
        signal: controller.signal,
        onProgress: (p) => progress((last = p)),
      })
        .then((pulled) => event(downloadId, modelId, 'done', { ...last, file: null, bytes: last.totalBytes, etaSeconds: 0 }, { dir: pulled.dir }))
        .catch((err: unknown) => {
          const cancelled = err instanceof DownloadCancelled;
          event(downloadId, modelId, cancelled ? 'cancelled' : 'failed', { ...last, etaSeconds: null }, cancelled ? {} : { error: errorInfo(err) });
        })
        .finally(() => {
          downloads.set(downloadId, null);
          running.delete(key);
        });
      return { downloadId };
    },

    async cancelPull({ downloadId }) {
      if (!downloads.has(downloadId)) throw new Error(`no download with id "${downloadId}"`);
      downloads.get(downloadId)?.abort();
    },

    resolveModelDir(source) {
      if (path.isAbsolute(source)) return fs.existsSync(source) && fs.statSync(source).isDirectory() ? source : null;
      try {
        return cachedModelDir(config(), source);
      } catch {
        // Not a Hub id either: nothing on disk answers to it.
        return null;
      }
    },
  };
}
