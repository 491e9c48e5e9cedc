// Pulls a model from the Hub into the Hugging Face cache: the commit's file list first,
// then config.json (refusing an architecture Tunesmith cannot run before any weights are
// fetched), then the weights, tokenizer and generation config. Files already in the cache
// are reused without a request; offline, or when the Hub cannot be reached, the cache alone
// answers.
import fs from 'node:fs';
import path from 'node:path';
import { readJsonFile } from '../checkpoint/model-folder';
import { parseModelConfig } from '../models/config';
import { blobPath, cachedSnapshot, linkIntoSnapshot, repoDir, snapshotDir, writeRef } from './cache';
import type { HubConfig } from './config';
import { downloadBlob, type RetryPolicy } from './download';
import { DownloadCancelled, HubHttpError, HubUnreachable } from './errors';
import { chooseWeights, CONFIG_FILE, isShardIndex, OPTIONAL_FILES, shardFiles } from './files';
import { fetchRevision, openFile, type RepoFile, type RevisionInfo } from './hub-client';
import { parseModelRef, type ModelRef } from './model-ref';
import { ProgressTracker, type PullProgress } from './progress';

export interface PullOptions {
  config: HubConfig;
  /** Overrides an `@revision` written in the model id; `main` when neither is given. */
  revision?: string;
  signal?: AbortSignal;
  /** Called on every chunk; throttle it where it is shown. */
  onProgress?: (progress: PullProgress) => void;
  retry?: RetryPolicy;
}

export interface PulledModel {
  id: string;
  revision: string;
  commit: string;
  /** The snapshot folder: a model folder core/models/load.ts reads. */
  dir: string;
  /** `cache` when the Hub was not asked (offline) or could not be reached. */
  source: 'hub' | 'cache';
  /** Bytes that came over the network in this pull. */
  downloadedBytes: number;
  /** Optional files the Hub listed but would not serve. */
  skipped: string[];
}

function fromCache(config: HubConfig, ref: ModelRef, why: string, advice: string): PulledModel {
  const dir = cachedSnapshot(config.cacheDir, ref);
  const name = ref.revision === 'main' ? ref.id : `${ref.id}@${ref.revision}`;
  if (!dir) throw new Error(`${why}, and ${name} is not in the Hugging Face cache (${config.cacheDir}); ${advice}`);
  return { ...ref, commit: path.basename(dir), dir, source: 'cache', downloadedBytes: 0, skipped: [] };
}

/** Fetches the commit's files into one snapshot, each once, counting what arrives. */
class SnapshotFetcher {
  readonly repo: string;
  readonly dir: string;
  downloadedBytes = 0;
  private tracker: ProgressTracker | null = null;

  constructor(
    private readonly ref: ModelRef,
    private readonly info: RevisionInfo,
    private readonly options: PullOptions,
  ) {
    this.repo = repoDir(options.config.cacheDir, ref.id);
    this.dir = snapshotDir(this.repo, info.commit);
  }

  /** Overall progress starts once the plan's size is known (after the config and shard index). */
  track(files: RepoFile[]): void {
    const total = files.reduce((n, f) => n + f.size, 0);
    this.tracker = new ProgressTracker(total, (p) => this.options.onProgress?.(p));
  }

  listed(name: string, why = ''): RepoFile {
    const file = this.info.files.get(name);
    if (!file) throw new Error(`${this.ref.id} has no ${name} at revision "${this.ref.revision}"${why}`);
    return file;
  }

  /** The snapshot's copy of the file, fetched unless the cache has it. */
  async fetch(file: RepoFile): Promise<string> {
    const { config, signal } = this.options;
    if (signal?.aborted) throw new DownloadCancelled(this.ref.id);
    const pointer = path.join(this.dir, file.name);
    const blob = blobPath(this.repo, file.etag);
    const hasSize = (f: string) => fs.existsSync(f) && fs.statSync(f).size === file.size;
    if (hasSize(pointer)) {
      this.tracker?.cached(file.size);
      return pointer;
    }
    if (hasSize(blob)) {
      this.tracker?.cached(file.size);
    } else {
      this.tracker?.startFile(file.name, file.size);
      await downloadBlob({
        modelId: this.ref.id,
        repo: this.repo,
        file,
        commit: this.info.commit,
        open: (start, s) => openFile(config, this.ref, this.info.commit, file.name, start, s),
        onProgress: (bytes, fresh) => {
          this.downloadedBytes += fresh;
          this.tracker?.update(bytes, fresh);
        },
        signal,
        retry: this.options.retry,
      });
      this.tracker?.endFile();
    }
    linkIntoSnapshot(this.repo, this.info.commit, file.name, file.etag);
    return pointer;
  }
}

export async function pullModel(modelId: string, options: PullOptions): Promise<PulledModel> {
  const { config, signal } = options;
  const ref = parseModelRef(modelId, options.revision);
  if (config.offline) return fromCache(config, ref, 'HF_HUB_OFFLINE is set', 'unset HF_HUB_OFFLINE to download it');
  let info: RevisionInfo;
  try {
    info = await fetchRevision(config, ref, signal);
  } catch (err) {
    if (signal?.aborted) throw new DownloadCancelled(ref.id);
    if (err instanceof HubUnreachable) return fromCache(config, ref, err.message, 'check the internet connection (or HF_ENDPOINT) and try again');
    throw err;
  }

  const snapshot = new SnapshotFetcher(ref, info, options);
  const configFile = snapshot.listed(CONFIG_FILE, '; it is not a transformers model');
  parseModelConfig(readJsonFile(await snapshot.fetch(configFile)), `${ref.id}/${CONFIG_FILE}`);

  const weights = snapshot.listed(chooseWeights(ref.id, new Set(info.files.keys())));
  let weightFiles = [weights];
  if (isShardIndex(weights.name)) {
    const index = readJsonFile(await snapshot.fetch(weights));
    weightFiles = [weights, ...shardFiles(index, `${ref.id}/${weights.name}`).map((f) => snapshot.listed(f, `, a shard ${weights.name} names`))];
  }
  const optional = OPTIONAL_FILES.filter((f) => info.files.has(f)).map((f) => snapshot.listed(f));
  snapshot.track([configFile, ...weightFiles, ...optional]);

  for (const file of [configFile, ...weightFiles]) await snapshot.fetch(file);
  const skipped: string[] = [];
  for (const file of optional) {
    try {
      await snapshot.fetch(file);
    } catch (err) {
      if (!(err instanceof HubHttpError && err.status === 404)) throw err;
      skipped.push(file.name);
    }
  }
  writeRef(snapshot.repo, ref.revision, info.commit);
  return { ...ref, commit: info.commit, dir: snapshot.dir, source: 'hub', downloadedBytes: snapshot.downloadedBytes, skipped };
}

/** The cached snapshot folder for `ID[@REV]`, without any network; null when not cached. */
export function cachedModelDir(config: HubConfig, source: string): string | null {
  return cachedSnapshot(config.cacheDir, parseModelRef(source));
}
