// Audit group 4, the cases test/web-host.test.ts does not already hold one by one: path
// traversal in 14 spellings (4.8), a chunked body past the limit (4.10), API names that are
// object internals (4.12) and GET on the API (4.13). Needs `npm run build` (out/renderer).
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { MAX_BODY_BYTES, type WebHost } from '../../core/web/server';
import { fakeHandle, startTestHost } from '../fake-service';

const RENDERER = path.resolve(import.meta.dirname, '../../out/renderer');
const handle = fakeHandle({ listRuns: () => [] });
let host: WebHost;
let token: string;

before(async () => {
  ({ host, token } = await startTestHost(handle, RENDERER));
});
after(() => host.close());

/** A request written byte for byte, so paths reach the host exactly as given (curl --path-as-is). */
function raw(lines: string[], body = ''): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(host.port, '127.0.0.1', () => socket.end(`${lines.join('\r\n')}\r\n\r\n${body}`));
    let reply = '';
    socket.setEncoding('latin1').on('data', (d) => (reply += d));
    socket.on('end', () => resolve(reply));
    socket.on('error', reject);
  });
}

const statusOf = (reply: string) => Number(reply.slice(9, 12));

test('4.8 path traversal in every spelling stays in the renderer folder: 404', async () => {
  const paths = [
    '/../../etc/passwd',
    '/..%2f..%2fetc%2fpasswd',
    '/%2e%2e/%2e%2e/etc/passwd',
    '/%2e%2e%2f%2e%2e%2fetc%2fpasswd',
    '/..%5c..%5cetc%5cpasswd',
    '/%252e%252e/%252e%252e/etc/passwd',
    '/%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd',
    '/..%c0%af..%c0%afetc%c0%afpasswd',
    '//etc/passwd',
    '/%2fetc%2fpasswd',
    '/index.html%00.png',
    '/assets/..%2f..%2fmain/index.js',
    '/assets/../../package.json',
    '/./../core/web/server.ts',
  ];
  for (const p of paths) {
    const reply = await raw([`GET ${p}?token=${token} HTTP/1.1`, `Host: 127.0.0.1:${host.port}`, 'Connection: close']);
    assert.equal(statusOf(reply), 404, p);
    assert.doesNotMatch(reply, /root:|"name": "tunesmith"|startWebHost/, p);
  }
});

test('4.10 a chunked body past the limit is refused with 413, 4.12 object internals are not API names, 4.13 GET on the API is 405', async () => {
  const chunk = 'x'.repeat(64 * 1024);
  let body = '';
  for (let sent = 0; sent <= MAX_BODY_BYTES; sent += chunk.length) body += `${chunk.length.toString(16)}\r\n${chunk}\r\n`;
  body += '0\r\n\r\n';
  const head = ['POST /api/getRun HTTP/1.1', `Host: 127.0.0.1:${host.port}`, `x-tunesmith-token: ${token}`, 'content-type: application/json', 'transfer-encoding: chunked', 'Connection: close'];
  assert.equal(statusOf(await raw(head, body)), 413);

  const call = (method: string, verb = 'POST') =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request(
        { host: '127.0.0.1', port: host.port, path: `/api/${method}`, method: verb, headers: { 'x-tunesmith-token': token, 'content-type': 'application/json' } },
        (res) => {
          let text = '';
          res.setEncoding('utf8').on('data', (d) => (text += d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        },
      );
      req.on('error', reject);
      req.end(verb === 'POST' ? 'null' : undefined);
    });
  for (const name of ['nope', '__proto__', 'constructor', 'hasOwnProperty', 'toString']) {
    const reply = await call(name);
    assert.match(JSON.parse(reply.body).error.message, new RegExp(`Tunesmith has no API call named "${name}"`), name);
  }
  assert.equal((await call('listRuns', 'GET')).status, 405);
  assert.equal(handle.calls.length, 0, 'none of these reached the service');
});
