// Hub downloads against a local stand-in for the Hub (test/hub-server.ts) serving the
// fixture models: cache layout, resume, reuse, verification, offline use, cancellation,
// the app methods and the CLI.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { ApiEvent, DownloadProgress } from '../core/api/contract';
import { createHubMethods } from '../core/app/hub-methods';
import { initBackend, tf } from '../core/engine/backend';
import { CATALOG, catalogEntries, catalogModelConfig, publishedWeightBytes } from '../core/hub/catalog';
import { blobPath, incompletePath, listCachedModels, repoDir } from '../core/hub/cache';
import { hubConfigFromEnv, type HubConfig } from '../core/hub/config';
import { DownloadCancelled } from '../core/hub/errors';
import { parseRevisionInfo } from '../core/hub/hub-client';
import { parseModelRef } from '../core/hub/model-ref';
import { ProgressTracker, throttle, type PullProgress } from '../core/hub/progress';
import { pullModel, type PullOptions } from '../core/hub/pull';
import { estimatePeak } from '../core/memory/estimate';
import { countParameters } from '../core/memory/parameters';
import { loadModel, randomConfig } from '../core/models/load';
import { BIN, fixture, REFERENCE, tempDir } from './helpers';
import { startHubServer, type HubServer } from './hub-server';

const QUICK_RETRY = { retries: 2, retryDelayMs: 10, stallMs: 5000 };
const WEIGHTS = 'model.safetensors';

/** What the Hub names a file's blob by: sha256 for LFS files, the git blob sha1 otherwise. */
function etagOf(file: string, lfs: boolean): string {
  const data = fs.readFileSync(file);
  const h = crypto.createHash(lfs ? 'sha256' : 'sha1');
  if (!lfs) h.update(`blob ${data.length}\0`);
  return h.update(data).digest('hex');
}

function sameBytes(a: string, b: string): boolean {
  return fs.readFileSync(a).equals(fs.readFileSync(b));
}

/** A model folder with changes: files replaced, added or removed. */
function variant(t: { after: (fn: () => void) => void }, base: string, files: Record<string, string | Buffer | null>): string {
  const dir = path.join(tempDir(t), path.basename(base));
  fs.cpSync(base, dir, { recursive: true });
  for (const [name, content] of Object.entries(files)) {
    fs.rmSync(path.join(dir, name), { force: true });
    if (content !== null) fs.writeFileSync(path.join(dir, name), content);
  }
  return dir;
}

let server: HubServer;

before(async () => {
  await initBackend();
  server = await startHubServer({ 'tiny/gpt2': fixture('gpt2-tiny'), 'tiny/bloom': fixture('bloom-tiny') });
});
after(() => server.close());

function hub(t: { after: (fn: () => void) => void }, endpoint = server.endpoint): HubConfig {
  return { endpoint, cacheDir: tempDir(t), offline: false, token: null };
}

function pull(id: string, config: HubConfig, extra: Partial<PullOptions> = {}) {
  return pullModel(id, { config, retry: QUICK_RETRY, ...extra });
}

/** Requests the server has seen since `mark` was taken. */
const since = (mark: number) => server.requests.slice(mark);

describe('downloads', () => {
  test('fetches gpt2-tiny into a cache laid out like huggingface_hub, with progress', async (t) => {
    // Formats Tunesmith does not read sit beside the safetensors and must not be fetched.
    const repo = variant(t, fixture('gpt2-tiny'), { 'pytorch_model.bin': fs.readFileSync(fixture('gpt2-tiny-legacy/pytorch_model.bin')), 'flax_model.msgpack': Buffer.alloc(1000) });
    const local = await startHubServer({ 'openai/gpt2-tiny': repo });
    t.after(() => local.close());
    const config = hub(t, local.endpoint);
    const seen: PullProgress[] = [];
    const pulled = await pull('openai/gpt2-tiny', config, { onProgress: (p) => seen.push(p) });

    const cacheRepo = path.join(config.cacheDir, 'models--openai--gpt2-tiny');
    assert.equal(pulled.dir, path.join(cacheRepo, 'snapshots', pulled.commit));
    assert.equal(fs.readFileSync(path.join(cacheRepo, 'refs', 'main'), 'utf8'), pulled.commit);
    const fetched = fs.readdirSync(pulled.dir).sort();
    const expected = fs.readdirSync(fixture('gpt2-tiny')).sort();
    assert.deepEqual(fetched, expected);
    for (const name of fetched) {
      const pointer = path.join(pulled.dir, name);
      const lfs = name.endsWith('.safetensors');
      assert.equal(fs.readlinkSync(pointer), path.join('..', '..', 'blobs', etagOf(fixture(`gpt2-tiny/${name}`), lfs)), name);
      assert.ok(sameBytes(pointer, fixture(`gpt2-tiny/${name}`)), name);
    }
    assert.equal(local.requestsFor('pytorch_model.bin').length, 0);
    assert.equal(local.requestsFor('flax_model.msgpack').length, 0);
    // The LFS weights came through the redirect to the CDN path.
    assert.ok(local.requests.some((r) => r.path.startsWith('/cdn/')));

    const total = expected.reduce((n, f) => n + fs.statSync(fixture(`gpt2-tiny/${f}`)).size, 0);
    assert.equal(pulled.downloadedBytes, total);
    const last = seen.at(-1)!;
    assert.equal(last.totalBytes, total);
    assert.equal(last.bytes, total);
    for (let i = 1; i < seen.length; i++) assert.ok(seen[i].bytes >= seen[i - 1].bytes, 'overall bytes never go back');
    assert.ok(seen.every((p) => p.fileBytes <= p.fileTotalBytes));
    assert.ok(seen.some((p) => p.file === WEIGHTS && p.fileBytes > 0 && p.fileBytes < p.fileTotalBytes), 'progress inside the weights file');
  });

  test('a downloaded gpt2-tiny gives the same logits as the fixture folder', async (t) => {
    const pulled = await pull('tiny/gpt2', hub(t));
    const ids = REFERENCE['gpt2-tiny'].forward.input_ids;
    const logits = (dir: string) => {
      const { model } = loadModel(dir);
      const out = tf.tidy(() => model.forward(tf.tensor2d([ids], undefined, 'int32')).logits);
      const values = out.dataSync().slice();
      out.dispose();
      model.dispose();
      return values;
    };
    assert.deepEqual(logits(pulled.dir), logits(fixture('gpt2-tiny')));
  });

  test('fetches every shard a sharded index names', async (t) => {
    const pulled = await pull('tiny/bloom', hub(t));
    for (const name of fs.readdirSync(fixture('bloom-tiny'))) assert.ok(sameBytes(path.join(pulled.dir, name), fixture(`bloom-tiny/${name}`)), name);
  });

  test('resumes a file with a Range request after the connection drops mid-file', async (t) => {
    const config = hub(t);
    server.faults = { drop: { file: WEIGHTS, atByte: 2_000_000, times: 1 } };
    t.after(() => (server.faults = {}));
    const mark = server.requests.length;
    const pulled = await pull('tiny/gpt2', config);
    const cdn = since(mark).filter((r) => r.path.startsWith('/cdn/'));
    assert.equal(cdn.length, 2);
    assert.equal(cdn[0].range, null);
    const resumedAt = Number(/^bytes=(\d+)-$/.exec(cdn[1].range ?? '')?.[1]);
    assert.ok(resumedAt > 0 && resumedAt <= 2_000_000, `resumed at ${cdn[1].range}`);
    assert.equal(etagOf(path.join(pulled.dir, WEIGHTS), true), etagOf(fixture(`gpt2-tiny/${WEIGHTS}`), true));
  });

  test('a connection that stops sending counts as dropped after stallMs, and is resumed', async (t) => {
    server.faults = { drop: { file: WEIGHTS, atByte: 1_000_000, times: 1, mode: 'stall' } };
    t.after(() => (server.faults = {}));
    const mark = server.requests.length;
    const started = performance.now();
    const pulled = await pull('tiny/gpt2', hub(t), { retry: { ...QUICK_RETRY, stallMs: 300 } });
    assert.ok(performance.now() - started >= 300);
    const cdn = since(mark).filter((r) => r.path.startsWith('/cdn/'));
    assert.equal(cdn.length, 2);
    assert.match(cdn[1].range ?? '', /^bytes=[1-9]\d*-$/);
    assert.equal(etagOf(path.join(pulled.dir, WEIGHTS), true), etagOf(fixture(`gpt2-tiny/${WEIGHTS}`), true));
  });

  test('a pull that fails mid-file leaves the partial file, and the next pull resumes it', async (t) => {
    const config = hub(t);
    server.faults = { drop: { file: WEIGHTS, atByte: 3_000_000, times: 1 } };
    t.after(() => (server.faults = {}));
    await assert.rejects(pull('tiny/gpt2', config, { retry: { ...QUICK_RETRY, retries: 0 } }), /model\.safetensors: the connection to the Hub failed after \d+ of \d+ bytes .*pull again to resume/);
    const etag = etagOf(fixture(`gpt2-tiny/${WEIGHTS}`), true);
    const partial = incompletePath(repoDir(config.cacheDir, 'tiny/gpt2'), etag);
    const kept = fs.statSync(partial).size;
    assert.ok(kept > 0);

    const mark = server.requests.length;
    const pulled = await pull('tiny/gpt2', config);
    const cdn = since(mark).filter((r) => r.path.startsWith('/cdn/'));
    assert.deepEqual(cdn.map((r) => r.range), [`bytes=${kept}-`]);
    // Everything but config.json (fetched by the first pull) and the kept part of the weights.
    const size = (f: string) => fs.statSync(fixture(`gpt2-tiny/${f}`)).size;
    const all = fs.readdirSync(fixture('gpt2-tiny')).reduce((n, f) => n + size(f), 0);
    assert.equal(pulled.downloadedBytes, all - size('config.json') - kept);
    assert.equal(etagOf(path.join(pulled.dir, WEIGHTS), true), etag);
    assert.ok(!fs.existsSync(partial));
  });

  test('a second pull reuses the cache and downloads nothing', async (t) => {
    const config = hub(t);
    const first = await pull('tiny/gpt2', config);
    const mark = server.requests.length;
    const second = await pull('tiny/gpt2', config);
    assert.equal(second.dir, first.dir);
    assert.equal(second.downloadedBytes, 0);
    assert.deepEqual(since(mark).map((r) => r.path), ['/api/models/tiny/gpt2/revision/main']);
  });

  test('reuses a cache made by Python: blobs named by ETag, relative links, refs/main', async (t) => {
    const config = hub(t);
    const info = await (await fetch(`${server.endpoint}/api/models/tiny/bloom/revision/main`)).json();
    // What huggingface_hub's snapshot_download leaves, built by hand from the fixture.
    const repo = path.join(config.cacheDir, 'models--tiny--bloom');
    const snapshot = path.join(repo, 'snapshots', info.sha);
    fs.mkdirSync(path.join(repo, 'blobs'), { recursive: true });
    fs.mkdirSync(snapshot, { recursive: true });
    fs.mkdirSync(path.join(repo, 'refs'));
    fs.writeFileSync(path.join(repo, 'refs', 'main'), info.sha);
    for (const name of fs.readdirSync(fixture('bloom-tiny'))) {
      const etag = etagOf(fixture(`bloom-tiny/${name}`), name.endsWith('.safetensors'));
      fs.copyFileSync(fixture(`bloom-tiny/${name}`), path.join(repo, 'blobs', etag));
      fs.symlinkSync(`../../blobs/${etag}`, path.join(snapshot, name));
    }
    const mark = server.requests.length;
    const pulled = await pull('tiny/bloom', config);
    assert.equal(pulled.dir, snapshot);
    assert.equal(pulled.downloadedBytes, 0);
    assert.equal(since(mark).length, 1);
  });

  test('a file whose hash does not match is discarded and the pull fails', async (t) => {
    const config = hub(t);
    const cacheRepo = repoDir(config.cacheDir, 'tiny/gpt2');
    server.faults = { corrupt: new Set([WEIGHTS]) };
    t.after(() => (server.faults = {}));
    await assert.rejects(pull('tiny/gpt2', config), /tiny\/gpt2: model\.safetensors: the download does not match the Hub's listing \(sha256 [0-9a-f]{64} instead of [0-9a-f]{64}\); the file was discarded/);
    const etag = etagOf(fixture(`gpt2-tiny/${WEIGHTS}`), true);
    assert.ok(!fs.existsSync(blobPath(cacheRepo, etag)));
    assert.ok(!fs.existsSync(incompletePath(cacheRepo, etag)));
    assert.equal(listCachedModels(config.cacheDir)[0].dir, null, 'not a usable model');

    // Small files are checked by their git blob id.
    server.faults = { corrupt: new Set(['tokenizer.json']) };
    await assert.rejects(pull('tiny/gpt2', config), /tokenizer\.json: .*\(git blob sha1 [0-9a-f]{40} instead of [0-9a-f]{40}\)/);
  });

  test("the Hub's resolve headers contradicting its file list stop the download", async (t) => {
    t.after(() => (server.faults = {}));
    const other = 'f'.repeat(40);
    server.faults = { resolveHeaders: { 'x-repo-commit': other } };
    await assert.rejects(pull('tiny/gpt2', hub(t)), new RegExp(`tiny/gpt2: config\\.json: the Hub served commit ${other}, expected [0-9a-f]{40}`));
    server.faults = { resolveHeaders: { 'x-linked-etag': `"${'0'.repeat(64)}"` } };
    await assert.rejects(pull('tiny/gpt2', hub(t)), /config\.json: the Hub's ETag 0{64} differs from its file list's [0-9a-f]{40}/);
    server.faults = { resolveHeaders: { 'x-linked-size': '5' } };
    const size = fs.statSync(fixture('gpt2-tiny/config.json')).size;
    await assert.rejects(pull('tiny/gpt2', hub(t)), new RegExp(`config\\.json: the Hub says 5 bytes, its file list ${size}`));
  });

  test('optional files the repo lacks or will not serve are skipped; required ones are not', async (t) => {
    server.faults = { missing: new Set(['vocab.json']) };
    t.after(() => (server.faults = {}));
    const mark = server.requests.length;
    const pulled = await pull('tiny/gpt2', hub(t));
    assert.deepEqual(pulled.skipped, ['vocab.json']);
    assert.ok(!fs.existsSync(path.join(pulled.dir, 'vocab.json')));
    // Not in the repo, so never asked for.
    assert.ok(!since(mark).some((r) => r.path.endsWith('special_tokens_map.json')));
    assert.doesNotThrow(() => loadModel(pulled.dir).model.dispose());

    server.faults = { missing: new Set([WEIGHTS]) };
    await assert.rejects(pull('tiny/gpt2', hub(t)), /tiny\/gpt2: model\.safetensors does not exist at revision "main"/);
  });

  test('an unsupported model_type is refused before any weights are fetched', async (t) => {
    const raw = JSON.parse(fs.readFileSync(fixture('gpt2-tiny/config.json'), 'utf8'));
    const repo = variant(t, fixture('gpt2-tiny'), { 'config.json': JSON.stringify({ ...raw, model_type: 'llama' }) });
    const local = await startHubServer({ 'meta/llama-tiny': repo });
    t.after(() => local.close());
    await assert.rejects(pull('meta/llama-tiny', hub(t, local.endpoint)), /meta\/llama-tiny\/config\.json: not supported yet: llama \(Tunesmith runs gpt2 and bloom\)/);
    assert.equal(local.requestsFor(WEIGHTS).length, 0);
  });

  test('unknown models and revisions, and gated ones without a token, fail in plain words', async (t) => {
    await assert.rejects(pull('nobody/nothing', hub(t)), /model nobody\/nothing was not found on the Hub at http:\/\/127\.0\.0\.1:\d+ \(check the id; if it is private, add a Hugging Face token/);
    await assert.rejects(pull('tiny/gpt2@v9', hub(t)), /tiny\/gpt2 has no revision "v9" on the Hub/);
    server.faults = { token: 'hf_secret' };
    t.after(() => (server.faults = {}));
    await assert.rejects(pull('tiny/gpt2', hub(t)), /tiny\/gpt2 is a gated model: accept its terms at http:\/\/127\.0\.0\.1:\d+\/tiny\/gpt2, then add a Hugging Face token/);
    const mark = server.requests.length;
    await pull('tiny/gpt2', { ...hub(t), token: 'hf_secret' });
    assert.ok(since(mark).every((r) => r.authorization === 'Bearer hf_secret'));
  });

  test('offline (HF_HUB_OFFLINE=1) serves cached models without a request and names what is missing', async (t) => {
    const online = hub(t);
    const pulled = await pull('tiny/gpt2', online);
    const offline = hubConfigFromEnv({ HF_HUB_OFFLINE: '1', HF_HUB_CACHE: online.cacheDir, HF_ENDPOINT: server.endpoint });
    assert.equal(offline.offline, true);
    const mark = server.requests.length;
    const again = await pull('tiny/gpt2', offline);
    assert.equal(again.dir, pulled.dir);
    assert.equal(again.source, 'cache');
    await assert.rejects(pull('tiny/bloom', offline), /HF_HUB_OFFLINE is set, and tiny\/bloom is not in the Hugging Face cache \(.*\); unset HF_HUB_OFFLINE to download it/);
    assert.equal(server.requests.length, mark);
  });

  test('an unreachable Hub falls back to the cache, and says so when the model is not there', async (t) => {
    const closed = await startHubServer({});
    await closed.close();
    const config = { ...hub(t), endpoint: closed.endpoint };
    await assert.rejects(pull('tiny/gpt2', config), /cannot reach the Hugging Face Hub at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\), and tiny\/gpt2 is not in the Hugging Face cache/);
    const pulled = await pull('tiny/gpt2', { ...config, endpoint: server.endpoint });
    const fallback = await pull('tiny/gpt2', config);
    assert.equal(fallback.source, 'cache');
    assert.equal(fallback.dir, pulled.dir);
  });

  test('cancelling stops the download and keeps the partial file for later', async (t) => {
    const config = hub(t);
    server.faults = { chunkDelayMs: 20 };
    t.after(() => (server.faults = {}));
    const controller = new AbortController();
    const onProgress = (p: PullProgress) => {
      if (p.file === WEIGHTS && p.fileBytes > 0) controller.abort();
    };
    await assert.rejects(pull('tiny/gpt2', config, { signal: controller.signal, onProgress }), DownloadCancelled);
    const partial = incompletePath(repoDir(config.cacheDir, 'tiny/gpt2'), etagOf(fixture(`gpt2-tiny/${WEIGHTS}`), true));
    assert.ok(fs.statSync(partial).size > 0);
  });
});

describe('pieces', () => {
  test('model ids and revisions', () => {
    assert.deepEqual(parseModelRef('bigscience/bloom-560m'), { id: 'bigscience/bloom-560m', revision: 'main' });
    assert.deepEqual(parseModelRef('gpt2@v1.0'), { id: 'gpt2', revision: 'v1.0' });
    assert.deepEqual(parseModelRef('gpt2@v1.0', 'dev'), { id: 'gpt2', revision: 'dev' });
    for (const bad of ['a/b/c', 'a--b', '../x', 'with space', '']) assert.throws(() => parseModelRef(bad), /is not a Hugging Face model id/, bad);
    assert.equal(parseModelRef('gpt2', 'refs/pr/1').revision, 'refs/pr/1');
    for (const bad of ['../../x', 'a/../../b', '..', '/etc/passwd', 'a\\b', '..\\x']) {
      assert.throws(() => parseModelRef('gpt2', bad), { message: `"${bad}" is not a usable revision (a branch, tag or commit may not start with "/", hold "\\" or a ".." part)` }, bad);
    }
    assert.throws(() => parseModelRef('gpt2@../../x'), /"..\/..\/x" is not a usable revision/);
  });

  test('a file list without sizes or hashes is refused naming the field', () => {
    const sha = 'a'.repeat(40);
    assert.throws(() => parseRevisionInfo({ sha, siblings: [{ rfilename: 'config.json' }] }, 'URL'), /URL: field "siblings\[0\]\.size" is missing/);
    assert.throws(() => parseRevisionInfo({ sha, siblings: [{ rfilename: 'w.bin', lfs: { size: 3 } }] }, 'URL'), /field "siblings\[0\]\.lfs\.sha256"/);
    assert.throws(() => parseRevisionInfo({ siblings: [] }, 'URL'), /field "sha"/);
  });

  test('progress: speed over the recent window, ETA from it', () => {
    let now = 0;
    const seen: PullProgress[] = [];
    const tracker = new ProgressTracker(10_000, (p) => seen.push(p), () => now);
    tracker.startFile('a', 4000);
    now = 1000;
    tracker.update(500, 500);
    assert.equal(seen.at(-1)!.bytesPerSecond, 500);
    assert.equal(seen.at(-1)!.etaSeconds, (10_000 - 500) / 500);
    // Resumed bytes count toward the total but not toward the speed.
    now = 2000;
    tracker.update(3500, 0);
    assert.equal(seen.at(-1)!.bytes, 3500);
    assert.equal(seen.at(-1)!.bytesPerSecond, 250);
    tracker.endFile();
    assert.deepEqual([seen.at(-1)!.bytes, seen.at(-1)!.file], [4000, null]);
  });

  test('throttle passes the first value, then at most one per interval', () => {
    let now = 0;
    const out: number[] = [];
    const t = throttle((v: number) => out.push(v), 200, () => now);
    for (let i = 0; i < 10; i++, now += 50) t(i);
    assert.deepEqual(out, [0, 4, 8]);
  });

  test('catalog: parameters and memory from the config and the estimator, cached status from the cache', async (t) => {
    const config = hub(t);
    const entries = catalogEntries(config);
    assert.deepEqual(entries.map((e) => e.id), CATALOG.map((c) => c.id));
    const byId = new Map(entries.map((e) => [e.id, e]));
    // load.ts keeps the public shapes of gpt2, gpt2-medium and bloom-560m for benchmarks.
    for (const [id, shape] of [['gpt2', 'gpt2'], ['gpt2-medium', 'gpt2-medium'], ['bigscience/bloom-560m', 'bloom-560m']]) {
      const c = randomConfig(shape);
      const e = byId.get(id)!;
      assert.equal(e.parameters, countParameters(c), id);
      assert.equal(e.memory.loraBytes, estimatePeak({ model: c, method: 'lora', batch: 1, seq: 512 }).totalBytes, id);
      assert.equal(e.memory.fullBytes, estimatePeak({ model: c, method: 'full', batch: 1, seq: 512 }).totalBytes, id);
    }
    for (const e of entries) {
      const model = catalogModelConfig(CATALOG.find((c) => c.id === e.id)!);
      assert.equal(e.architecture, model.modelType);
      assert.ok(e.memory.loraBytes < e.memory.fullBytes, e.id);
      assert.ok(e.diskBytes >= 2 * e.parameters, e.id);
      assert.equal(e.cachedDir, null);
    }

    // Served under the catalog's id, gpt2-tiny shows as cached with its real size.
    const local = await startHubServer({ gpt2: fixture('gpt2-tiny') });
    t.after(() => local.close());
    const pulled = await pull('gpt2', { ...config, endpoint: local.endpoint });
    const gpt2 = catalogEntries(config).find((e) => e.id === 'gpt2')!;
    assert.equal(gpt2.cachedDir, pulled.dir);
    const fixtureBytes = fs.readdirSync(fixture('gpt2-tiny')).reduce((n, f) => n + fs.statSync(fixture(`gpt2-tiny/${f}`)).size, 0);
    assert.equal(gpt2.diskBytes, fixtureBytes);
    assert.notEqual(publishedWeightBytes(CATALOG.find((c) => c.id === 'gpt2')!), fixtureBytes);
  });
});

describe('app methods', () => {
  const events: DownloadProgress[] = [];
  const methods = createHubMethods({ emit: (e: ApiEvent) => e.type === 'download' && events.push(e.progress), hubToken: () => null });

  before(() => {
    process.env.HF_ENDPOINT = server.endpoint;
  });

  function finished(downloadId: string): Promise<DownloadProgress> {
    return new Promise((resolve) => {
      const poll = setInterval(() => {
        const end = events.find((e) => e.downloadId === downloadId && e.state !== 'running');
        if (end) resolve(end), clearInterval(poll);
      }, 20);
    });
  }

  test('pullModel streams throttled download events, ends with done, and resolveModelDir finds the model', async (t) => {
    process.env.HF_HUB_CACHE = tempDir(t);
    server.faults = { chunkDelayMs: 5 };
    t.after(() => (server.faults = {}));
    const started = performance.now();
    const { downloadId } = await methods.pullModel({ modelId: 'tiny/gpt2' });
    const again = await methods.pullModel({ modelId: 'tiny/gpt2@main' });
    assert.equal(again.downloadId, downloadId, 'a second pull of the same model joins the first');
    const end = await finished(downloadId);
    const seconds = (performance.now() - started) / 1000;
    const running = events.filter((e) => e.downloadId === downloadId && e.state === 'running');
    assert.ok(running.length >= 2, `${running.length} progress events`);
    assert.ok(running.length <= seconds * 5 + 1, `${running.length} events in ${seconds.toFixed(1)} s`);
    assert.equal(end.state, 'done');
    assert.equal(end.bytes, end.totalBytes);
    assert.equal(methods.resolveModelDir('tiny/gpt2'), end.dir);
    assert.equal(methods.resolveModelDir(`tiny/gpt2@${path.basename(end.dir!)}`), end.dir);
    assert.equal(methods.resolveModelDir('tiny/bloom'), null);
    assert.equal(methods.resolveModelDir(fixture('bloom-tiny')), fixture('bloom-tiny'));
    assert.equal(methods.resolveModelDir('/no/such/folder'), null);
    assert.equal((await methods.listCatalog()).length, CATALOG.length);
  });

  test('cancelPull ends a download as cancelled; failures carry the message', async (t) => {
    process.env.HF_HUB_CACHE = tempDir(t);
    server.faults = { chunkDelayMs: 50 };
    t.after(() => (server.faults = {}));
    const { downloadId } = await methods.pullModel({ modelId: 'tiny/gpt2' });
    while (!events.some((e) => e.downloadId === downloadId && e.file === WEIGHTS)) await new Promise((r) => setTimeout(r, 20));
    await methods.cancelPull({ downloadId });
    assert.equal((await finished(downloadId)).state, 'cancelled');
    await assert.rejects(methods.cancelPull({ downloadId: 'nope' }), /no download with id "nope"/);

    const failed = await finished((await methods.pullModel({ modelId: 'nobody/nothing' })).downloadId);
    assert.equal(failed.state, 'failed');
    assert.match(failed.error!.message, /model nobody\/nothing was not found on the Hub/);
    await assert.rejects(methods.pullModel({ modelId: 'not an id' }), /"not an id" is not a Hugging Face model id/);
  });
});

describe('cli', () => {
  // Not spawnSync: the stand-in Hub runs in this process and must keep answering.
  const tunesmith = (env: NodeJS.ProcessEnv, ...args: string[]) =>
    new Promise<{ status: number; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, [BIN, ...args], { encoding: 'utf8', env }, (err, stdout, stderr) => resolve({ status: err ? Number(err.code) : 0, stdout, stderr }));
    });

  test('pull downloads, models lists what is cached', async (t) => {
    const env = { ...process.env, HF_ENDPOINT: server.endpoint, HF_HUB_CACHE: tempDir(t) };
    const run = (...args: string[]) => tunesmith(env, ...args);
    const pulled = await run('pull', 'tiny/bloom');
    assert.equal(pulled.status, 0, pulled.stderr);
    const dir = pulled.stdout.trim().split('\n').at(-1)!;
    assert.ok(fs.existsSync(path.join(dir, 'model.safetensors.index.json')), pulled.stdout);
    assert.match(pulled.stdout, /tiny\/bloom@main \(commit [0-9a-f]{8}\): downloaded/);

    const listed = await run('models', '--json');
    assert.equal(listed.status, 0, listed.stderr);
    const [model] = JSON.parse(listed.stdout);
    const bytes = fs.readdirSync(fixture('bloom-tiny')).reduce((n, f) => n + fs.statSync(fixture(`bloom-tiny/${f}`)).size, 0);
    assert.deepEqual([model.id, model.dir, model.sizeBytes], ['tiny/bloom', dir, bytes]);

    const missing = await run('pull');
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /usage: tunesmith pull MODEL_ID/);
  });
});
