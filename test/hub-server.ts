// A stand-in for the Hugging Face Hub on 127.0.0.1, serving model folders in the Hub's URL
// and header layout: the revision API (with `blobs=true` sizes and hashes), `resolve`
// answering small files itself and LFS files with a 302 to a CDN path, ETags, Range
// requests and 404s with X-Error-Code. Faults can be switched on to test the client.
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';

export interface LoggedRequest {
  method: string;
  path: string;
  range: string | null;
  authorization: string | null;
}

export interface Faults {
  /**
   * Once this many bytes of the named file went out, cut the connection (`cut`) or keep it
   * open sending nothing more (`stall`), for the next `times` requests for it.
   */
  drop?: { file: string; atByte: number; times: number; mode?: 'cut' | 'stall' };
  /** Served with one byte changed (the listing keeps the true hash). */
  corrupt?: Set<string>;
  /** Listed, but `resolve` answers 404 for them. */
  missing?: Set<string>;
  /** Pause between 64 KiB chunks, to have time to cancel. */
  chunkDelayMs?: number;
  /** Headers `resolve` sends instead of the true ones, as a Hub whose answers disagree would. */
  resolveHeaders?: Record<string, string>;
  /** `resolve` needs `Authorization: Bearer <token>` (a gated model). */
  token?: string;
}

interface ServedFile {
  name: string;
  data: Buffer;
  lfs: boolean;
  /** sha256 for LFS files, git blob sha1 otherwise: the Hub's ETag. */
  etag: string;
}

interface ServedRepo {
  commit: string;
  files: Map<string, ServedFile>;
}

export interface HubServer {
  endpoint: string;
  requests: LoggedRequest[];
  faults: Faults;
  /** Requests for one file (resolve or CDN), for counting downloads. */
  requestsFor(file: string): LoggedRequest[];
  close(): Promise<void>;
}

const CHUNK = 64 * 1024;

function sha(algorithm: string, ...parts: (string | Buffer)[]): string {
  const h = crypto.createHash(algorithm);
  for (const p of parts) h.update(p);
  return h.digest('hex');
}

function readRepo(folder: string): ServedRepo {
  const files = new Map<string, ServedFile>();
  for (const name of fs.readdirSync(folder).sort()) {
    const data = fs.readFileSync(path.join(folder, name));
    const lfs = /\.(safetensors|bin)$/.test(name);
    files.set(name, { name, data, lfs, etag: lfs ? sha('sha256', data) : sha('sha1', `blob ${data.length}\0`, data) });
  }
  const commit = sha('sha1', ...[...files.values()].map((f) => `${f.name} ${f.etag}\n`));
  return { commit, files };
}

function siblings(repo: ServedRepo, withBlobs: boolean): unknown[] {
  return [...repo.files.values()].map((f) => {
    if (!withBlobs) return { rfilename: f.name };
    return f.lfs
      ? { rfilename: f.name, size: f.data.length, blobId: sha('sha1', f.etag), lfs: { sha256: f.etag, size: f.data.length, pointerSize: 134 } }
      : { rfilename: f.name, size: f.data.length, blobId: f.etag };
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** `repos`: Hub id → model folder. */
export async function startHubServer(repos: Record<string, string>, faults: Faults = {}): Promise<HubServer> {
  const served = new Map(Object.entries(repos).map(([id, folder]) => [id, readRepo(folder)]));
  const byEtag = new Map<string, ServedFile>();
  for (const repo of served.values()) for (const f of repo.files.values()) byEtag.set(f.etag, f);
  const requests: LoggedRequest[] = [];
  const state: { faults: Faults } = { faults };

  const error = (res: http.ServerResponse, status: number, code: string, message: string) => {
    res.writeHead(status, { 'content-type': 'application/json', 'x-error-code': code, 'x-error-message': message });
    res.end(JSON.stringify({ error: message }));
  };

  const commitOf = (repo: ServedRepo, rev: string) => (rev === 'main' || rev === repo.commit ? repo.commit : null);

  async function sendFile(req: http.IncomingMessage, res: http.ServerResponse, file: ServedFile, headers: Record<string, string>): Promise<void> {
    const f = state.faults;
    let data = file.data;
    if (f.corrupt?.has(file.name)) {
      data = Buffer.from(data);
      data[data.length >> 1] ^= 0xff;
    }
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const start = m ? Number(m[1]) : 0;
    if (start >= data.length && m) {
      res.writeHead(416, { ...headers, 'content-range': `bytes */${data.length}` });
      return void res.end();
    }
    res.writeHead(m ? 206 : 200, {
      ...headers,
      'content-length': String(data.length - start),
      'accept-ranges': 'bytes',
      ...(m ? { 'content-range': `bytes ${start}-${data.length - 1}/${data.length}` } : {}),
    });
    const drop = f.drop && f.drop.file === file.name && f.drop.times > 0 && start < f.drop.atByte ? f.drop : null;
    if (drop) drop.times--;
    for (let at = start; at < data.length && !res.destroyed; at += CHUNK) {
      const end = Math.min(at + CHUNK, data.length, drop ? drop.atByte : Infinity);
      const ok = res.write(data.subarray(at, end));
      if (drop && end === drop.atByte) {
        // Let the bytes reach the client, then cut the connection without ending the response,
        // or wait for the client to give up on it.
        await new Promise<void>((r) => res.write('', () => r()));
        if (drop.mode === 'stall') await new Promise((r) => res.once('close', r));
        else res.socket?.destroy();
        return;
      }
      if (!ok) await new Promise((r) => res.once('drain', r));
      if (f.chunkDelayMs) await sleep(f.chunkDelayMs);
    }
    res.end();
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    requests.push({ method: req.method ?? 'GET', path: url.pathname, range: req.headers.range ?? null, authorization: req.headers.authorization ?? null });

    let m = /^\/api\/models\/(.+)\/revision\/([^/]+)$/.exec(url.pathname);
    if (m) {
      const repo = served.get(decodeURIComponent(m[1]));
      if (!repo) return error(res, 401, 'RepoNotFound', 'Repository Not Found');
      const commit = commitOf(repo, decodeURIComponent(m[2]));
      if (!commit) return error(res, 404, 'RevisionNotFound', 'Invalid rev id');
      res.writeHead(200, { 'content-type': 'application/json' });
      return void res.end(JSON.stringify({ id: m[1], sha: commit, siblings: siblings(repo, url.searchParams.get('blobs') === 'true') }));
    }

    m = /^\/cdn\/([0-9a-f]{64})$/.exec(url.pathname);
    if (m) {
      const file = byEtag.get(m[1]);
      if (!file) return error(res, 404, 'EntryNotFound', 'No such blob');
      return sendFile(req, res, file, { etag: `"${file.etag}"` });
    }

    m = /^\/(.+)\/resolve\/([^/]+)\/(.+)$/.exec(url.pathname);
    const repo = m ? served.get(decodeURIComponent(m[1])) : undefined;
    if (!m || !repo) return error(res, 401, 'RepoNotFound', 'Repository Not Found');
    if (state.faults.token && req.headers.authorization !== `Bearer ${state.faults.token}`) {
      return error(res, 403, 'GatedRepo', 'Access to this model is restricted');
    }
    const commit = commitOf(repo, decodeURIComponent(m[2]));
    if (!commit) return error(res, 404, 'RevisionNotFound', 'Invalid rev id');
    const name = decodeURIComponent(m[3]);
    const file = repo.files.get(name);
    if (!file || state.faults.missing?.has(name)) return error(res, 404, 'EntryNotFound', 'Entry not found');
    const override = state.faults.resolveHeaders ?? {};
    if (!file.lfs) return sendFile(req, res, file, { 'x-repo-commit': commit, etag: `"${file.etag}"`, ...override });
    res.writeHead(302, {
      'x-repo-commit': commit,
      location: `http://${req.headers.host}/cdn/${file.etag}`,
      etag: `"${sha('sha1', file.etag)}"`,
      'x-linked-etag': `"${file.etag}"`,
      'x-linked-size': String(file.data.length),
      ...override,
    });
    res.end();
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err) => {
      if (!res.headersSent) error(res, 500, 'Internal', String(err));
      else res.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    get faults() {
      return state.faults;
    },
    set faults(f: Faults) {
      state.faults = f;
    },
    requestsFor(file: string) {
      const etags = [...byEtag.values()].filter((f) => f.name === file).map((f) => f.etag);
      return requests.filter((r) => r.path.endsWith(`/${file}`) || etags.some((e) => r.path === `/cdn/${e}`));
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
