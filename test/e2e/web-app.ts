// The app as `npm run web` serves it, over a data folder of its own, opened in Chromium:
// the real web host and core in their own process, workers and all. The renderer build
// (out/renderer) must exist: run `npm run build` first.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { openUrl, SCREENSHOTS } from '../ui/harness';

const ROOT = path.resolve(import.meta.dirname, '../..');
const START = path.join(ROOT, 'core/web/start.ts');
/** Long enough for the host's own shutdown wait, which lets a training run checkpoint. */
const EXIT_WAIT_MS = 30_000;

export interface WebApp {
  /** The page's address, token included. */
  url: string;
  /** The data folder the host keeps runs, store and settings in. */
  home: string;
  page: Page;
  /**
   * Saves the whole page as test-artifacts/screenshots/<name>.png, and with `window` also what
   * the window shows, as <name>-window.png. Throws first if the page is wider than the window.
   */
  screenshot(name: string, opts?: { window?: boolean }): Promise<void>;
  /** Closes the browser, stops the host as Ctrl+C would and removes the data folder. */
  close(): Promise<void>;
}

/** Nothing may be wider than the window: a long word or table must wrap or scroll in its own box. */
async function checkWidth(page: Page, name: string): Promise<void> {
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  if (overflow > 0) throw new Error(`${name}: the page is ${overflow}px wider than the window`);
}

/** Resolves with the address the host prints, or rejects with its output if it exits first. */
function addressOf(child: ReturnType<typeof spawn>): Promise<string> {
  return new Promise((resolve, reject) => {
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const found = /http:\/\/127\.0\.0\.1:\d+\/\?token=\S+/.exec(output);
      if (found) resolve(found[0]);
    });
    child.once('exit', (code) => reject(new Error(`the web host exited (${code}) before printing its address:\n${output}`)));
  });
}

export async function startWebApp(): Promise<WebApp> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'tunesmith-e2e-'));
  const child = spawn(process.execPath, ['--import', 'tsx', START, '--port', '0', '--home', home], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let ui: Awaited<ReturnType<typeof openUrl>> | null = null;
  const close = async () => {
    await ui?.close();
    child.kill('SIGINT');
    const timer = setTimeout(() => child.kill('SIGKILL'), EXIT_WAIT_MS);
    await exited;
    clearTimeout(timer);
    fs.rmSync(home, { recursive: true, force: true });
  };
  try {
    const url = await addressOf(child);
    const opened = await openUrl(url);
    ui = opened;
    const screenshot = async (name: string, opts: { window?: boolean } = {}) => {
      await checkWidth(opened.page, name);
      await opened.screenshot(name);
      if (opts.window) await opened.page.screenshot({ path: path.join(SCREENSHOTS, `${name}-window.png`) });
    };
    return { url, home, page: opened.page, screenshot, close };
  } catch (error) {
    await close();
    throw error;
  }
}
