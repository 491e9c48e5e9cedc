// The web host with a fake service: who it refuses, what it answers, and that the real
// renderer runs in a browser through it. Needs `npm run build` (out/renderer) first.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { after, before, test } from 'node:test';
import { WebSocket } from 'ws';
import type { ApiEvent, ApiResult, RunSummary } from '../core/api/contract';
import { MAX_BODY_BYTES, type WebHost } from '../core/web/server';
import { fakeHandle, startTestHost } from './fake-service';
import { fixture, tempDir } from './helpers';
import { openUrl } from './ui/harness';

const ROOT = path.resolve(import.meta.dirname, '..');
const RENDERER = path.join(ROOT, 'out/renderer');
const START = path.join(ROOT, 'core/web/start.ts');

const APP_INFO = { name: 'Tunesmith', version: '0.0.0-test', backend: 'fake-engine', platform: 'test', versions: { node: '20' }, host: 'web' };
const SETTINGS = { dataDir: '/tmp/tunesmith-test', backend: 'auto', theme: 'system', hasHubToken: false };
const handle = fakeHandle({
  appInfo: () => APP_INFO,
  getSettings: () => SETTINGS,
  listRuns: () => [],
  getRun: (req) => ({ asked: req }),
});

let host: WebHost;
let token: string;

before(async () => {
  ({ host, token } = await startTestHost(handle, RENDERER));
});
after(() => host.close());

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** http.request, so Host and Origin can be anything a hostile client would send. */
function request(opts: { path: string; method?: string; headers?: Record<string, string>; body?: string | Buffer }): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: host.port, path: opts.path, method: opts.method ?? 'GET', headers: opts.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

function apiCall(method: string, body: string | Buffer, headers: Record<string, string> = {}): Promise<Reply> {
  return request({ path: `/api/${method}`, method: 'POST', headers: { 'content-type': 'application/json', 'x-tunesmith-token': token, ...headers }, body });
}

function resultOf(reply: Reply): ApiResult<unknown> {
  return JSON.parse(reply.body) as ApiResult<unknown>;
}

/** Resolves with the open socket, or rejects with the HTTP status the upgrade was refused with. */
function connectEvents(query: string, headers: Record<string, string> = {}): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${host.port}/events${query}`, { headers });
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`status ${res.statusCode}`)));
    ws.once('error', reject);
  });
}

test('it listens on 127.0.0.1 only', async () => {
  assert.equal(new URL(host.url).hostname, '127.0.0.1');
  const others = Object.values(os.networkInterfaces())
    .flat()
    .filter((a) => a && !a.internal)
    .map((a) => a!.address);
  for (const address of [...others, '::1']) {
    const error = await new Promise<NodeJS.ErrnoException | null>((resolve) => {
      const socket = net.connect({ host: address, port: host.port }, () => {
        socket.destroy();
        resolve(null);
      });
      socket.on('error', resolve);
    });
    assert.ok(error, `${address}:${host.port} accepted a connection`);
  }
});

test('without the token, or with a wrong one, page, API and events are refused', async () => {
  for (const query of ['', '?token=wrong', `?token=${token.slice(0, -1)}`]) {
    assert.equal((await request({ path: `/${query}` })).status, 401, `page ${query}`);
    await assert.rejects(connectEvents(query), /status 401/);
  }
  const missing = await request({ path: '/api/listRuns', method: 'POST', body: 'null' });
  assert.equal(missing.status, 401);
  assert.match((resultOf(missing) as { error: { message: string } }).error.message, /access token/);
  assert.equal((await apiCall('listRuns', 'null', { 'x-tunesmith-token': 'wrong' })).status, 401);
  // The token in the query is the page's credential, not the API's: a link alone cannot call it.
  assert.equal((await request({ path: `/api/listRuns?token=${token}`, method: 'POST', body: 'null' })).status, 401);
  assert.equal(handle.calls.filter((c) => c.method === 'listRuns').length, 0);
});

test('a foreign Host header is refused even with the token (DNS rebinding)', async () => {
  for (const hostHeader of [`evil.com:${host.port}`, 'evil.com', `127.0.0.1:${host.port + 1}`]) {
    assert.equal((await request({ path: `/?token=${token}`, headers: { host: hostHeader } })).status, 403, hostHeader);
    assert.equal((await apiCall('listRuns', 'null', { host: hostHeader })).status, 403, hostHeader);
  }
  assert.equal((await request({ path: `/?token=${token}`, headers: { host: `localhost:${host.port}` } })).status, 200);
});

test('a foreign Origin is refused even with the token, for calls and the events socket', async () => {
  for (const origin of ['http://evil.com', 'null', `http://127.0.0.1:${host.port + 1}`]) {
    assert.equal((await apiCall('listRuns', 'null', { origin })).status, 403, origin);
    await assert.rejects(connectEvents(`?token=${token}`, { origin }), /status 403/);
  }
  const sameOrigin = await apiCall('listRuns', 'null', { origin: `http://127.0.0.1:${host.port}` });
  assert.deepEqual(resultOf(sameOrigin), { ok: true, value: [] });
});

test('a correct call reaches the service and its answer comes back', async () => {
  const reply = await apiCall('getRun', JSON.stringify({ runId: 'r1' }));
  assert.equal(reply.status, 200);
  assert.deepEqual(resultOf(reply), { ok: true, value: { asked: { runId: 'r1' } } });
  assert.deepEqual(handle.calls.at(-1), { method: 'getRun', request: { runId: 'r1' } });
  assert.deepEqual(resultOf(await apiCall('stopRun', JSON.stringify({ runId: 'r1' }))), { ok: true, value: null });
});

test('events reach every connected socket', async () => {
  const sockets = await Promise.all([connectEvents(`?token=${token}`), connectEvents(`?token=${token}`)]);
  const event: ApiEvent = { type: 'run-log', runId: 'r1', line: 'step 1' };
  const received = sockets.map((ws) => new Promise((resolve) => ws.once('message', (data) => resolve(JSON.parse(String(data))))));
  handle.emit(event);
  assert.deepEqual(await Promise.all(received), [event, event]);
  for (const ws of sockets) ws.close();
});

test('a page that sends too much on the events socket is cut off, and the host serves on', async () => {
  const ws = await connectEvents(`?token=${token}`);
  const closed = new Promise<number>((resolve) => ws.once('close', resolve));
  ws.on('error', () => undefined);
  ws.send(Buffer.alloc(64 * 1024));
  assert.equal(await closed, 1009, 'closed as "message too big"');
  assert.equal((await apiCall('listRuns', 'null')).status, 200);
});

/** The status line of a hand-written request, for what http.request will not send. */
function rawStatus(lines: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port: host.port }, () => socket.write(lines.join('\r\n') + '\r\n\r\n'));
    socket.once('data', (data) => {
      resolve(String(data).split('\r\n')[0]);
      socket.destroy();
    });
    socket.on('error', reject);
  });
}

test('an unreadable request URL is refused, for plain requests and upgrades alike', async () => {
  const hostLine = `Host: 127.0.0.1:${host.port}`;
  assert.equal(await rawStatus(['GET http://[:: HTTP/1.1', hostLine]), 'HTTP/1.1 400 Bad Request');
  const upgrade = ['Connection: Upgrade', 'Upgrade: websocket', 'Sec-WebSocket-Version: 13', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=='];
  assert.equal(await rawStatus([`GET http://[::/events?token=${token} HTTP/1.1`, hostLine, ...upgrade]), 'HTTP/1.1 404 Not Found');
  assert.equal((await apiCall('listRuns', 'null')).status, 200, 'the host serves on');
});

test('malformed payloads are answered with the field at fault, and never reach the service', async () => {
  const before = handle.calls.length;
  assert.deepEqual(resultOf(await apiCall('getRun', JSON.stringify({ runId: 42 }))), { ok: false, error: { message: 'runId must be a string', field: 'runId' } });
  assert.deepEqual(resultOf(await apiCall('getRun', JSON.stringify({ runId: 'r1', force: true }))), { ok: false, error: { message: 'force is not a known field', field: 'force' } });
  const draft = { model: 'gpt2', data: { train: '/d.json' }, lora: { r: 'eight' } };
  assert.deepEqual(resultOf(await apiCall('estimateMemory', JSON.stringify({ config: draft }))), {
    ok: false,
    error: { message: 'config.lora.r must be a number', field: 'config.lora.r' },
  });
  const notJson = await apiCall('getRun', '{runId: r1');
  assert.equal(notJson.status, 400);
  const parsed = resultOf(notJson);
  assert.ok(!parsed.ok);
  assert.equal(parsed.error.message, 'The request body is not valid JSON');
  assert.equal(handle.calls.length, before);
});

test('an unknown method is an error, as is a body over the size limit', async () => {
  const unknown = resultOf(await apiCall('formatDisk', 'null'));
  assert.ok(!unknown.ok);
  assert.match(unknown.error.message, /no API call named "formatDisk"/);
  const huge = await apiCall('getRun', Buffer.alloc(MAX_BODY_BYTES + 1, 0x20));
  assert.equal(huge.status, 413);
  assert.equal((await apiCall('getRun', JSON.stringify({ runId: 'r1' }))).status, 200, 'the host still answers after a refused body');
});

test('the page carries its CSP as a header, loads the bridge before the app, and keeps to its folder', async () => {
  const page = await request({ path: `/?token=${token}` });
  assert.equal(page.status, 200);
  const builtHtml = fs.readFileSync(path.join(RENDERER, 'index.html'), 'utf8');
  const metaCsp = /http-equiv="Content-Security-Policy"\s+content="([^"]+)"/.exec(builtHtml)?.[1];
  assert.ok(metaCsp);
  assert.equal(page.headers['content-security-policy'], metaCsp);
  const scripts = [...page.body.matchAll(/<script[^>]*src="([^"]+)"/g)].map((m) => m[1]);
  assert.equal(scripts[0], './web-bridge.js');
  assert.ok(scripts.length >= 2, 'the app script follows');

  const cookie = (page.headers['set-cookie'] ?? [])[0]?.split(';')[0] ?? '';
  const assetPath = scripts[1].replace(/^\./, '');
  assert.equal((await request({ path: assetPath })).status, 401, 'assets need the token too');
  const asset = await request({ path: assetPath, headers: { cookie } });
  assert.equal(asset.status, 200);
  assert.match(asset.headers['content-type'] ?? '', /javascript/);
  assert.equal((await request({ path: '/%2e%2e/package.json', headers: { cookie } })).status, 404);
  assert.equal((await request({ path: '/..%2fpackage.json', headers: { cookie } })).status, 404);
});

test('in a browser, the page shows the app shell and the bridge carries calls, errors and events', async () => {
  const ui = await openUrl(host.url);
  try {
    const nav = ui.page.getByRole('navigation', { name: 'Main' });
    await nav.getByRole('link', { name: 'Runs' }).waitFor();
    await nav.getByText(`Engine: ${APP_INFO.backend}`).waitFor();
    await ui.screenshot('web-host-shell');

    const failure = await ui.page.evaluate(() => window.tunesmith!.getRun({ runId: 7 as unknown as string }).then(String, (e: Error) => e.message));
    assert.match(failure, /"field":"runId"/);

    const listening = ui.page.evaluate(
      () => new Promise((resolve) => window.tunesmith!.onEvent((event) => resolve(event))),
    );
    const event: ApiEvent = { type: 'chat-token', streamId: 's1', text: 'Hi' };
    // The socket may still be connecting when the page has rendered: emit until it is heard.
    const timer = setInterval(() => handle.emit(event), 100);
    try {
      assert.deepEqual(await listening, event);
    } finally {
      clearInterval(timer);
    }
  } finally {
    await ui.close();
  }
});

test('the `npm run web` entry refuses a bad port, naming the flag', () => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', START, '--port', 'eighty'], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--port must be a whole number; got "eighty"/);
});

test('the `npm run web` entry serves the real service: a run started over HTTP streams over the WebSocket, and Ctrl+C stops the host', async (t) => {
  const home = tempDir(t);
  const child = spawn(process.execPath, ['--import', 'tsx', START, '--port', '0', '--home', home], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => child.kill('SIGKILL'));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  let stdout = '';
  const url = await new Promise<URL>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const found = /http:\/\/127\.0\.0\.1:\d+\/\?token=\S+/.exec(stdout);
      if (found) resolve(new URL(found[0]));
    });
    void exited.then((code) => reject(new Error(`the web host exited (${code}) before printing its address:\n${stdout}`)));
  });
  const realToken = url.searchParams.get('token') ?? '';
  const call = async (method: string, request: unknown) => {
    const res = await fetch(new URL(`/api/${method}`, url), { method: 'POST', headers: { 'x-tunesmith-token': realToken }, body: JSON.stringify(request) });
    return (await res.json()) as ApiResult<unknown>;
  };

  const info = await call('appInfo', null);
  assert.ok(info.ok && (info.value as { host: string }).host === 'web', JSON.stringify(info));

  const events: ApiEvent[] = [];
  const ws = new WebSocket(`ws://127.0.0.1:${url.port}/events?token=${realToken}`);
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  ws.on('message', (data) => events.push(JSON.parse(String(data)) as ApiEvent));

  const draft = { model: fixture('gpt2-tiny'), data: { train: path.join(ROOT, 'examples/data/alpaca-train.json'), max_length: 32 }, max_steps: 2, per_device_train_batch_size: 2, logging_steps: 1 };
  const started = await call('startRun', { name: 'over the web', config: draft });
  assert.ok(started.ok, JSON.stringify(started));
  const runId = (started.value as RunSummary).id;
  const ended = await new Promise<ApiEvent>((resolve) => {
    const poll = setInterval(() => {
      const end = events.find((e) => e.type === 'run-status' && e.runId === runId && e.status !== 'running' && e.status !== 'queued');
      if (end) {
        clearInterval(poll);
        resolve(end);
      }
    }, 50);
  });
  assert.deepEqual(ended, { type: 'run-status', runId, status: 'completed', error: null });
  const steps = events.flatMap((e) => (e.type === 'run-event' && e.runId === runId && e.event.event === 'step' ? [e.event.step] : []));
  assert.deepEqual(steps, Array.from({ length: draft.max_steps }, (_, i) => i + 1), 'every step, as logging_steps is 1');
  const listed = await call('listRuns', null);
  assert.ok(listed.ok);
  assert.deepEqual(
    (listed.value as RunSummary[]).map((r) => [r.id, r.status]),
    [[runId, 'completed']],
  );
  ws.close();

  child.kill('SIGINT');
  assert.equal(await exited, 0);
});
