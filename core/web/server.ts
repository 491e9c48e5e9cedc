// The web host: the same app as the Electron window, in a browser on this computer. It serves
// the built renderer with a bridge in place of Electron's preload, answers POST /api/<method>
// through the same dispatch as IPC, and pushes events over a WebSocket. Loopback only, and
// every request is checked by core/web/guard.ts first.
import fs from 'node:fs';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import type { ApiErrorInfo, ApiResult } from '../api/contract';
import { describeFailure, handleApiRequest } from '../api/dispatch';
import type { AppServiceHandle } from '../app/context';
import { createEventSocket } from './event-socket';
import { cookieValue, MISSING_TOKEN, newToken, refuseForeign, tokenMatches, type Refusal } from './guard';
import { webPage } from './page';
import { API_PREFIX, EVENTS_PATH, TOKEN_HEADER, TOKEN_PARAM } from './protocol';
import { findStaticFile } from './static-files';

/** Far above any real request (a chat message is capped at 100,000 characters). */
export const MAX_BODY_BYTES = 1024 * 1024;
const LOOPBACK = '127.0.0.1';

export interface WebHostOptions {
  handle: Pick<AppServiceHandle, 'service' | 'onEvent'>;
  /** The electron-vite renderer build, out/renderer. */
  rendererDir: string;
  /** 0 picks a free port. */
  port: number;
}

export interface WebHost {
  /** The page's address, token included: the one thing to hand the user. */
  url: string;
  port: number;
  close(): Promise<void>;
}

function sendResult(res: ServerResponse, status: number, result: ApiResult<unknown>): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(JSON.stringify(result));
}

function sendError(res: ServerResponse, status: number, error: ApiErrorInfo): void {
  sendResult(res, status, { ok: false, error });
}

/** The body, or null once it passes the limit (the rest is not read). */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | null> {
  if (Number(req.headers['content-length'] ?? 0) > limit) return Promise.resolve(null);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.pause();
        resolve(null);
      } else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** Like JSON.parse, but an empty body is the "no request" of members that take none. */
function parseJsonBody(body: Buffer): { value: unknown } | { error: ApiErrorInfo } {
  const text = body.toString('utf8');
  if (text.trim() === '') return { value: undefined };
  try {
    return { value: JSON.parse(text) as unknown };
  } catch (error) {
    return { error: { message: 'The request body is not valid JSON', detail: (error as Error).message } };
  }
}

export async function startWebHost(opts: WebHostOptions): Promise<WebHost> {
  const rendererDir = path.resolve(opts.rendererDir);
  const indexFile = path.join(rendererDir, 'index.html');
  if (!fs.existsSync(indexFile)) throw new Error(`${indexFile} not found: run \`npm run build\` first`);
  const page = webPage(fs.readFileSync(indexFile, 'utf8'), indexFile);
  const token = newToken();
  const events = createEventSocket((listener) => opts.handle.onEvent(listener));
  let port = 0;
  // Cookies are per host name, not per port: naming it by port keeps two hosts apart.
  const cookieName = () => `tunesmith-token-${port}`;

  // The headers every page and asset goes out with; the CSP is the page's own, from its meta tag.
  const pageHeaders = () => ({
    'content-security-policy': page.csp,
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    // The page address holds the token; no request may pass it on as a Referer.
    'referrer-policy': 'no-referrer',
    'cache-control': 'no-cache',
  });

  function servePage(res: ServerResponse): void {
    res.writeHead(200, {
      ...pageHeaders(),
      'content-type': 'text/html; charset=utf-8',
      // Scripts and styles the page loads cannot carry the token in their URLs, so they get it this way.
      'set-cookie': `${cookieName()}=${token}; HttpOnly; SameSite=Strict; Path=/`,
    });
    res.end(page.html);
  }

  function serveAsset(res: ServerResponse, urlPath: string): void {
    const found = findStaticFile(rendererDir, urlPath);
    if (!found) {
      res.writeHead(404, pageHeaders()).end();
      return;
    }
    res.writeHead(200, { ...pageHeaders(), 'content-type': found.contentType });
    fs.createReadStream(found.file)
      .on('error', () => res.destroy())
      .pipe(res);
  }

  async function serveApi(req: IncomingMessage, res: ServerResponse, method: string): Promise<void> {
    if (req.method !== 'POST') {
      res.setHeader('allow', 'POST');
      return sendError(res, 405, { message: `API calls are POST requests, not ${req.method}` });
    }
    const body = await readBody(req, MAX_BODY_BYTES);
    if (body === null) {
      res.setHeader('connection', 'close');
      return sendError(res, 413, { message: `The request is larger than ${MAX_BODY_BYTES} bytes` });
    }
    const parsed = parseJsonBody(body);
    if ('error' in parsed) return sendError(res, 400, parsed.error);
    sendResult(res, 200, await handleApiRequest(opts.handle.service, method, parsed.value));
  }

  /**
   * API calls show the token in a header, which a cross-site page cannot set; the page and the
   * WebSocket in the query, as a browser adds no headers to either; assets the cookie the page set.
   */
  function refusal(req: IncomingMessage, url: URL): Refusal | null {
    const foreign = refuseForeign(req.headers, port);
    if (foreign) return foreign;
    const fromQuery = url.searchParams.get(TOKEN_PARAM);
    const given = url.pathname.startsWith(API_PREFIX)
      ? req.headers[TOKEN_HEADER]
      : url.pathname === EVENTS_PATH || isPagePath(url.pathname)
        ? fromQuery
        : (fromQuery ?? cookieValue(req.headers, cookieName()));
    return tokenMatches(typeof given === 'string' ? given : null, token) ? null : MISSING_TOKEN;
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = requestUrl(req);
    if (!url) return sendError(res, 400, { message: 'The request URL cannot be read' });
    const refused = refusal(req, url);
    if (refused) return sendError(res, refused.status, { message: refused.message });
    if (url.pathname.startsWith(API_PREFIX)) return serveApi(req, res, url.pathname.slice(API_PREFIX.length));
    if (req.method !== 'GET') {
      res.writeHead(405, { allow: 'GET' }).end();
      return;
    }
    if (isPagePath(url.pathname)) servePage(res);
    else serveAsset(res, url.pathname);
  }

  const server = http.createServer((req, res) => {
    route(req, res).catch((error: unknown) => {
      if (res.headersSent) res.destroy();
      else sendError(res, 500, describeFailure(error));
    });
  });

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    // A client that resets mid-handshake must not take the host down with an unhandled error.
    socket.on('error', () => socket.destroy());
    const url = requestUrl(req);
    const refused = url?.pathname === EVENTS_PATH ? refusal(req, url) : { status: 404, message: 'Not found' };
    if (!refused) return events.accept(req, socket, head);
    socket.end(`HTTP/1.1 ${refused.status} ${http.STATUS_CODES[refused.status]}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, LOOPBACK, resolve);
  });
  port = (server.address() as AddressInfo).port;

  return {
    url: `http://${LOOPBACK}:${port}/?${TOKEN_PARAM}=${token}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        events.close();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Only path and query are read: the Host header is checked on its own, so the URL's host never matters. */
function requestUrl(req: IncomingMessage): URL | null {
  try {
    return new URL(req.url ?? '/', `http://${LOOPBACK}`);
  } catch {
    return null;
  }
}

function isPagePath(pathname: string): boolean {
  return pathname === '/' || pathname === '/index.html';
}
