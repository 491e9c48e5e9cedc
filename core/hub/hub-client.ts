// The Hub's file API, spoken directly: the revision endpoint lists a commit's files with
// their sizes and hashes, and `resolve` serves each file, itself for small ones and as a
// redirect to the CDN for LFS ones. Only the Hub's own origin ever sees the token.
import type { HubConfig } from './config';
import { HubHttpError, HubUnreachable, isNetworkError, networkReason } from './errors';
import type { ModelRef } from './model-ref';

export interface RepoFile {
  name: string;
  size: number;
  /** The Hub's ETag: the LFS sha256 for LFS files, the git blob sha1 otherwise; names the blob. */
  etag: string;
  /** Whether the etag is an LFS sha256 (else a git blob sha1). */
  lfs: boolean;
}

export interface RevisionInfo {
  /** The commit the revision points at now. */
  commit: string;
  files: Map<string, RepoFile>;
}

/** What the Hub's own response to `resolve` said about the file, before any CDN redirect. */
export interface FileHeaders {
  commit: string | null;
  etag: string | null;
  size: number | null;
}

export interface OpenedFile {
  response: Response;
  hub: FileHeaders;
}

const MAX_REDIRECTS = 5;

function encodePath(file: string): string {
  return file.split('/').map(encodeURIComponent).join('/');
}

function authHeaders(config: HubConfig, url: string): Record<string, string> {
  const sameOrigin = new URL(url).origin === new URL(config.endpoint).origin;
  return config.token && sameOrigin ? { authorization: `Bearer ${config.token}` } : {};
}

async function request(config: HubConfig, url: string, init: { signal?: AbortSignal; headers?: Record<string, string> }): Promise<Response> {
  try {
    return await fetch(url, { redirect: 'manual', signal: init.signal, headers: { ...init.headers, ...authHeaders(config, url) } });
  } catch (err) {
    if (isNetworkError(err)) throw new HubUnreachable(config.endpoint, networkReason(err));
    throw err;
  }
}

/** ETags come quoted, sometimes weak (`W/"..."`); the cache names blobs by the bare value. */
function bareEtag(value: string | null): string | null {
  return value ? value.replace(/^W\//, '').replace(/^"|"$/g, '') : null;
}

async function failure(res: Response, ref: ModelRef, what: string, config: HubConfig): Promise<HubHttpError> {
  const code = res.headers.get('x-error-code');
  const addToken = config.token ? 'check that your Hugging Face token has read access' : 'add a Hugging Face token in Settings (or set HF_TOKEN)';
  let message: string;
  if (code === 'GatedRepo' || (res.status === 403 && code !== 'RepoNotFound')) {
    message = `${ref.id} is a gated model: accept its terms at ${config.endpoint}/${ref.id}, then ${addToken}`;
  } else if (code === 'RevisionNotFound') {
    message = `${ref.id} has no revision "${ref.revision}" on the Hub`;
  } else if (code === 'EntryNotFound') {
    message = `${ref.id}: ${what} does not exist at revision "${ref.revision}"`;
  } else if (code === 'RepoNotFound' || res.status === 401 || res.status === 404) {
    message = `model ${ref.id} was not found on the Hub at ${config.endpoint} (check the id; if it is private, ${addToken})`;
  } else {
    const detail = res.headers.get('x-error-message') ?? (await res.text().catch(() => '')).slice(0, 200);
    message = `${ref.id}: the Hub answered ${res.status} ${res.statusText} for ${what}${detail ? `: ${detail}` : ''}`;
  }
  return new HubHttpError(message, res.status, code);
}

function field(source: string, name: string, ok: boolean): void {
  if (!ok) throw new Error(`${source}: field "${name}" is missing or malformed`);
}

/** Reads the revision endpoint's JSON; every field used is checked, naming it. */
export function parseRevisionInfo(json: unknown, source: string): RevisionInfo {
  const body = json as { sha?: unknown; siblings?: unknown };
  field(source, 'sha', typeof body?.sha === 'string' && /^[0-9a-f]{40}$/.test(body.sha));
  field(source, 'siblings', Array.isArray(body.siblings));
  const files = new Map<string, RepoFile>();
  (body.siblings as unknown[]).forEach((s, i) => {
    const sib = s as { rfilename?: unknown; size?: unknown; blobId?: unknown; lfs?: { sha256?: unknown; size?: unknown } | null };
    const at = `siblings[${i}]`;
    field(source, `${at}.rfilename`, typeof sib?.rfilename === 'string');
    const lfs = sib.lfs ?? null;
    const size = lfs ? lfs.size : sib.size;
    const etag = lfs ? lfs.sha256 : sib.blobId;
    field(source, lfs ? `${at}.lfs.size` : `${at}.size`, typeof size === 'number' && Number.isInteger(size) && size >= 0);
    field(source, lfs ? `${at}.lfs.sha256` : `${at}.blobId`, typeof etag === 'string' && /^[0-9a-f]{40}([0-9a-f]{24})?$/.test(etag));
    const name = sib.rfilename as string;
    files.set(name, { name, size: size as number, etag: etag as string, lfs: lfs !== null });
  });
  return { commit: body.sha as string, files };
}

/** The commit a revision points at and its files; `blobs=true` adds sizes and hashes. */
export async function fetchRevision(config: HubConfig, ref: ModelRef, signal?: AbortSignal): Promise<RevisionInfo> {
  const url = `${config.endpoint}/api/models/${ref.id}/revision/${encodeURIComponent(ref.revision)}?blobs=true`;
  const res = await request(config, url, { signal });
  if (!res.ok) throw await failure(res, ref, 'its file list', config);
  let json: unknown;
  try {
    json = await res.json();
  } catch (err) {
    if (isNetworkError(err)) throw new HubUnreachable(config.endpoint, networkReason(err));
    throw new Error(`${url}: the Hub's answer is not JSON`);
  }
  return parseRevisionInfo(json, url);
}

/**
 * Starts fetching a file of a commit from byte `start` on, following redirects by hand so
 * the Hub's own headers (commit, ETag, size) are read before the CDN's replace them.
 */
export async function openFile(config: HubConfig, ref: ModelRef, commit: string, file: string, start: number, signal?: AbortSignal): Promise<OpenedFile> {
  let url = `${config.endpoint}/${ref.id}/resolve/${commit}/${encodePath(file)}`;
  let hub: FileHeaders = { commit: null, etag: null, size: null };
  const headers = start > 0 ? { range: `bytes=${start}-` } : undefined;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const res = await request(config, url, { signal, headers });
    // The answer that names the commit is the Hub's own; a renamed repo's redirect and the CDN's answer do not.
    const repoCommit = res.headers.get('x-repo-commit');
    if (repoCommit) {
      const linkedSize = res.headers.get('x-linked-size');
      hub = {
        commit: repoCommit,
        etag: bareEtag(res.headers.get('x-linked-etag') ?? res.headers.get('etag')),
        size: linkedSize === null ? null : Number(linkedSize),
      };
    }
    const location = res.headers.get('location');
    if (res.status >= 300 && res.status < 400 && location) {
      await res.body?.cancel();
      url = new URL(location, url).toString();
      continue;
    }
    if (!res.ok && res.status !== 416) throw await failure(res, ref, file, config);
    return { response: res, hub };
  }
  throw new Error(`${ref.id}: ${file}: more than ${MAX_REDIRECTS} redirects`);
}
