// Drives the built renderer (out/renderer) in Chromium (test/ui/browser.ts says which) with Playwright. Two ways in:
// - `openStubbedUi(handler)`: the page's `window.tunesmith` forwards every call to a Node-side
//   handler, so a component test controls exactly what the host answers;
// - `openUrl(url)`: a real host (the web host) serves page and API itself.
// Screenshots go to test-artifacts/screenshots, kept by CI and looked at by people.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { API_METHODS, type ApiEvent, type ApiMethod, type ApiResult } from '../../core/api/contract';
import { API_ERROR_MARK, errorInfo } from '../../core/api/errors';
import { findStaticFile } from '../../core/web/static-files';
import { findChromium, launchHint } from './browser';

const ROOT = path.resolve(import.meta.dirname, '../..');
const RENDERER = path.join(ROOT, 'out/renderer');
export const SCREENSHOTS = path.join(ROOT, 'test-artifacts/screenshots');

// A headless, offline Chromium: without the background-networking flags it keeps trying (and
// failing) to reach Google. Not the Lambda defaults of @sparticuz/chromium (--single-process,
// --disable-web-security): the page must run under the same security model as in the app.
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export async function launchBrowser(): Promise<Browser> {
  if (!fs.existsSync(path.join(RENDERER, 'index.html'))) throw new Error(`${RENDERER}/index.html not found: run \`npm run build\` first`);
  const choice = findChromium();
  try {
    return await chromium.launch({ executablePath: choice.executablePath, args: CHROMIUM_ARGS, env: choice.env ? { ...process.env, ...choice.env } : undefined });
  } catch (error) {
    throw new Error(`could not start ${choice.executablePath} (${choice.source})${launchHint(choice)}: ${(error as Error).message}`);
  }
}

/** Serves out/renderer as it is on disk, like the app's app:// scheme. */
async function serveRenderer(): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer((req, res) => {
    const found = findStaticFile(RENDERER, new URL(req.url ?? '/', 'http://x').pathname);
    if (!found) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': found.contentType });
    fs.createReadStream(found.file).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}/index.html`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

export type StubHandler = (method: ApiMethod, request: unknown) => unknown;

export interface UiSession {
  page: Page;
  /** Sends an event to every `onEvent` listener in the page. */
  emit(event: ApiEvent): Promise<void>;
  /** Every call the page made, in order. */
  calls: { method: ApiMethod; request: unknown }[];
  screenshot(name: string): Promise<string>;
  close(): Promise<void>;
}

async function screenshotTo(page: Page, name: string): Promise<string> {
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  const file = path.join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/**
 * Opens the renderer with a stub host. The handler's return value (or thrown error)
 * reaches the page exactly as a real host's result would, so errors render the same.
 */
export async function openStubbedUi(handler: StubHandler, opts: { hash?: string; viewport?: { width: number; height: number } } = {}): Promise<UiSession> {
  const browser = await launchBrowser();
  const served = await serveRenderer();
  const page = await browser.newPage({ viewport: opts.viewport ?? { width: 1200, height: 800 } });
  const calls: UiSession['calls'] = [];
  await page.exposeFunction('__tunesmithStub', async (method: ApiMethod, request: unknown): Promise<ApiResult<unknown>> => {
    calls.push({ method, request });
    try {
      return { ok: true, value: (await handler(method, request)) ?? null };
    } catch (error) {
      return { ok: false, error: errorInfo(error) };
    }
  });
  await page.addInitScript(
    ({ methods, mark }) => {
      const listeners = new Set<(e: unknown) => void>();
      const w = window as unknown as Record<string, unknown>;
      const call = w.__tunesmithStub as (m: string, r: unknown) => Promise<{ ok: boolean; value?: unknown; error?: unknown }>;
      const api: Record<string, unknown> = {
        onEvent(listener: (e: unknown) => void) {
          listeners.add(listener);
          return () => listeners.delete(listener);
        },
      };
      for (const method of methods) {
        api[method] = async (request?: unknown) => {
          const result = await call(method, request);
          if (result.ok) return result.value;
          throw new Error(mark + JSON.stringify(result.error));
        };
      }
      w.tunesmith = api;
      w.__tunesmithEmit = (event: unknown) => listeners.forEach((l) => l(event));
    },
    { methods: [...API_METHODS], mark: API_ERROR_MARK },
  );
  await page.goto(served.url + (opts.hash ? `#${opts.hash}` : ''));
  return {
    page,
    calls,
    emit: (event) => page.evaluate((e) => (window as unknown as { __tunesmithEmit: (e: unknown) => void }).__tunesmithEmit(e), event),
    screenshot: (name) => screenshotTo(page, name),
    close: async () => {
      await browser.close();
      await served.close();
    },
  };
}

/** Opens a URL a real host serves (the web host), for end-to-end tests. */
export async function openUrl(url: string, opts: { viewport?: { width: number; height: number } } = {}): Promise<Omit<UiSession, 'emit' | 'calls'>> {
  const browser = await launchBrowser();
  const page = await browser.newPage({ viewport: opts.viewport ?? { width: 1280, height: 860 } });
  await page.goto(url);
  return { page, screenshot: (name) => screenshotTo(page, name), close: () => browser.close() };
}
