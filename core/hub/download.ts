// One file from the Hub into the cache's blobs/: appended to `{etag}.incomplete` as it
// arrives, resumed with a Range request after a dropped connection (in this pull or a
// later one), hashed on the way, and renamed to its final name only once its size and
// hash match what the Hub listed. A file that does not match is deleted, never kept.
import fs from 'node:fs';
import path from 'node:path';
import { blobPath, incompletePath } from './cache';
import { DownloadCancelled, HubUnreachable, isNetworkError, networkReason } from './errors';
import type { OpenedFile, RepoFile } from './hub-client';
import { contentHasher, hashName, type ContentHasher } from './verify';

export interface RetryPolicy {
  /** Further requests after a dropped or stalled connection, each resuming where the last stopped. */
  retries: number;
  retryDelayMs: number;
  /** A connection that sends nothing for this long counts as dropped. */
  stallMs: number;
}

const DEFAULT_RETRY: RetryPolicy = { retries: 3, retryDelayMs: 1000, stallMs: 30_000 };

export interface BlobDownload {
  modelId: string;
  /** The repository's cache folder. */
  repo: string;
  file: RepoFile;
  commit: string;
  /** Requests the file from byte `start` on. */
  open(start: number, signal: AbortSignal): Promise<OpenedFile>;
  /** `bytes` in the file so far, `fresh` of them just received. */
  onProgress(bytes: number, fresh: number): void;
  signal?: AbortSignal;
  retry?: RetryPolicy;
}

class Stalled extends Error {}

/** The partial file and the hash of what it holds, kept in step. */
interface Partial {
  fh: fs.promises.FileHandle;
  bytes: number;
  hasher: ContentHasher;
}

/** The Hub's own headers contradicting its file list mean the wrong file would be stored. */
function checkHeaders(d: BlobDownload, { hub }: OpenedFile): void {
  const where = `${d.modelId}: ${d.file.name}`;
  if (hub.commit && hub.commit !== d.commit) throw new Error(`${where}: the Hub served commit ${hub.commit}, expected ${d.commit}`);
  // Only hash-like ETags name contents; a mirror's own ETag format says nothing.
  if (hub.etag && /^[0-9a-f]{40}([0-9a-f]{24})?$/.test(hub.etag) && hub.etag !== d.file.etag) {
    throw new Error(`${where}: the Hub's ETag ${hub.etag} differs from its file list's ${d.file.etag}`);
  }
  if (hub.size !== null && hub.size !== d.file.size) throw new Error(`${where}: the Hub says ${hub.size} bytes, its file list ${d.file.size}`);
}

/** Whether a response to `Range: bytes=start-` continues the partial file. */
function continues(res: Response, start: number, where: string): boolean {
  if (res.status !== 206) return false;
  const m = /^bytes (\d+)-/.exec(res.headers.get('content-range') ?? '');
  if (!m || Number(m[1]) !== start) throw new Error(`${where}: asked for bytes from ${start}, got "${res.headers.get('content-range')}"`);
  return true;
}

async function restart(p: Partial, d: BlobDownload): Promise<void> {
  await p.fh.truncate(0);
  p.bytes = 0;
  p.hasher = contentHasher(d.file);
  d.onProgress(0, 0);
}

/** One request for the rest of the file, appended to the partial file as it streams. */
async function fetchRest(d: BlobDownload, p: Partial, stallMs: number): Promise<void> {
  const stop = new AbortController();
  const signal = d.signal ? AbortSignal.any([d.signal, stop.signal]) : stop.signal;
  let timer = setTimeout(() => stop.abort(new Stalled()), stallMs);
  try {
    let opened = await d.open(p.bytes, signal);
    checkHeaders(d, opened);
    if (p.bytes > 0 && !continues(opened.response, p.bytes, `${d.modelId}: ${d.file.name}`)) {
      // A 200 is the whole file (the server ignored the Range); a 416 says the partial is past its end.
      await restart(p, d);
      if (opened.response.status === 416) {
        await opened.response.body?.cancel();
        opened = await d.open(0, signal);
        checkHeaders(d, opened);
      }
    }
    const reader = opened.response.body!.getReader();
    for (let next = await reader.read(); !next.done; next = await reader.read()) {
      const chunk = next.value;
      clearTimeout(timer);
      timer = setTimeout(() => stop.abort(new Stalled()), stallMs);
      await p.fh.write(chunk);
      p.hasher.update(chunk);
      p.bytes += chunk.byteLength;
      d.onProgress(p.bytes, chunk.byteLength);
    }
  } catch (err) {
    throw stop.signal.reason instanceof Stalled ? stop.signal.reason : err;
  } finally {
    clearTimeout(timer);
  }
}

function failureReason(err: unknown, stallMs: number): string | null {
  if (err instanceof Stalled) return `no data for ${stallMs / 1000} s`;
  if (err instanceof HubUnreachable) return err.reason;
  return isNetworkError(err) ? networkReason(err) : null;
}

function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });
}

async function fetchInto(d: BlobDownload, p: Partial): Promise<void> {
  const retry = d.retry ?? DEFAULT_RETRY;
  for (let attempt = 0; p.bytes < d.file.size; attempt++) {
    try {
      await fetchRest(d, p, retry.stallMs);
      return;
    } catch (err) {
      if (d.signal?.aborted) throw new DownloadCancelled(d.modelId);
      const reason = failureReason(err, retry.stallMs);
      if (reason === null) throw err;
      if (attempt >= retry.retries) {
        throw new Error(`${d.modelId}: ${d.file.name}: the connection to the Hub failed after ${p.bytes} of ${d.file.size} bytes (${reason}); pull again to resume`);
      }
      await delay(retry.retryDelayMs, d.signal);
    }
  }
}

/** Downloads into blobs/{etag}, resuming a partial file a failed pull left. */
export async function downloadBlob(d: BlobDownload): Promise<void> {
  const { file } = d;
  const partial = incompletePath(d.repo, file.etag);
  fs.mkdirSync(path.dirname(partial), { recursive: true });
  if (fs.existsSync(partial) && fs.statSync(partial).size > file.size) fs.rmSync(partial);
  const p: Partial = { fh: await fs.promises.open(partial, 'a'), bytes: 0, hasher: contentHasher(file) };
  try {
    for await (const chunk of fs.createReadStream(partial)) p.hasher.update(chunk as Buffer);
    p.bytes = (await p.fh.stat()).size;
    d.onProgress(p.bytes, 0);
    await fetchInto(d, p);
  } finally {
    await p.fh.close();
    // An empty partial file is left only by a request that failed before any byte came.
    if (p.bytes === 0 && file.size > 0) fs.rmSync(partial, { force: true });
  }
  const digest = p.hasher.digest();
  if (p.bytes !== file.size || digest !== file.etag) {
    fs.rmSync(partial, { force: true });
    const got = p.bytes !== file.size ? `${p.bytes} bytes instead of ${file.size}` : `${hashName(file)} ${digest} instead of ${file.etag}`;
    throw new Error(`${d.modelId}: ${file.name}: the download does not match the Hub's listing (${got}); the file was discarded, pull again`);
  }
  fs.renameSync(partial, blobPath(d.repo, file.etag));
}
