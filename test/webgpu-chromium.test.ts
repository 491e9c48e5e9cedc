// The desktop app's GPU route in a real Chromium: the engine on Chromium's own WebGPU
// (navigator.gpu, no Dawn), as it runs in the app's hidden GPU window, bundled for a page and
// driven in the headless Chromium of test/ui/browser.ts with WebGPU on SwiftShader (Chromium's
// CPU Vulkan, shipped with @sparticuz/chromium). The fixtures' transformers numbers must come
// out: the 4-step full fine-tune's losses and gradient norms within 1e-4 (norms relative, as in
// webgpu-parity.test.ts) and the greedy ids exactly. Skipped, with the reason, where Chromium
// cannot start or gives no WebGPU adapter.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as esbuild from 'esbuild';
import { chromium, type Browser, type Page } from 'playwright-core';
import { openWeights } from '../core/checkpoint/model-folder';
import { findChromium } from './ui/browser';
import { fixture, maxAbsDiff, REFERENCE, type ReferenceBatch, type ReferenceHyperparameters } from './helpers';
import type { GpuWindowReport } from '../core/app/gpu-window-protocol';
import type { PageAnswer, PageRequest } from './webgpu-chromium/page';

const HERE = path.join(import.meta.dirname, 'webgpu-chromium');

// WebGPU on SwiftShader, the flags; the page is served from 127.0.0.1, a secure context,
// which navigator.gpu requires.
const WEBGPU_ARGS = ['--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-vulkan=swiftshader', '--use-webgpu-adapter=swiftshader', '--use-angle=swiftshader'];
const OFFLINE_ARGS = ['--headless', '--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** page.ts for a browser: Node's built-ins become throwing stand-ins, Dawn's package is left out (a page never imports it). */
async function bundlePage(dir: string): Promise<void> {
  const stand_in = path.join(HERE, 'node-builtins.ts');
  await esbuild.build({
    entryPoints: [path.join(HERE, 'page.ts')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    outfile: path.join(dir, 'page.js'),
    external: ['webgpu'],
    logLevel: 'error',
    plugins: [{ name: 'node-builtins', setup: (b) => void b.onResolve({ filter: /^(node:.*|fs|path|module|url|util|os|crypto)$/ }, () => ({ path: stand_in })) }],
  });
  fs.writeFileSync(path.join(dir, 'index.html'), '<!doctype html><meta charset="utf-8"><title>GPU worker test</title><script type="module" src="page.js"></script>\n');
}

/** Serves the bundle, and each fixture's config and tensors (raw float32) as a page fetches them. */
async function serve(dir: string): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const weights = /^\/weights\/([\w-]+)\/(.+)$/.exec(url.pathname);
    try {
      if (weights) {
        const [, model, file] = weights;
        if (file === 'config.json') return void res.writeHead(200, { 'content-type': 'application/json' }).end(fs.readFileSync(path.join(fixture(model), 'config.json')));
        const source = openWeights(fixture(model));
        try {
          if (file === 'index.json') return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(source.list()));
          const values = source.read(decodeURIComponent(file));
          return void res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(Buffer.from(values.buffer, values.byteOffset, values.byteLength));
        } finally {
          source.close();
        }
      }
      const file = path.join(dir, path.basename(url.pathname === '/' ? 'index.html' : url.pathname));
      if (!fs.existsSync(file)) return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': file.endsWith('.js') ? 'text/javascript' : 'text/html' }).end(fs.readFileSync(file));
    } catch (err) {
      res.writeHead(500).end(String(err));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}/`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** Chromium with WebGPU on SwiftShader and a page on it, or why there is none. */
async function openGpuPage(url: string): Promise<{ browser: Browser; page: Page } | string> {
  let choice;
  try {
    choice = findChromium();
  } catch (err) {
    return `no Chromium (${(err as Error).message})`;
  }
  let browser: Browser;
  try {
    browser = await chromium.launch({ executablePath: choice.executablePath, args: [...OFFLINE_ARGS, ...WEBGPU_ARGS], env: choice.env ? { ...process.env, ...choice.env } : undefined });
  } catch (err) {
    return `${choice.executablePath} did not start: ${(err as Error).message.split('\n')[0]}`;
  }
  const page = await browser.newPage();
  page.on('pageerror', (err) => console.log(`# page error: ${err.message}`));
  page.on('console', (m) => m.type() === 'error' && console.log(`# page console: ${m.text()}`));
  await page.goto(url);
  const adapter = await page.evaluate(async () => {
    const gpu = (navigator as { gpu?: GPU }).gpu;
    if (!gpu) return `navigator.gpu is undefined (secure context: ${isSecureContext})`;
    return (await gpu.requestAdapter()) ? null : 'navigator.gpu.requestAdapter() answered null';
  });
  if (adapter) {
    await browser.close();
    return `${choice.source} gives no WebGPU adapter with ${WEBGPU_ARGS.join(' ')}: ${adapter}`;
  }
  return { browser, page };
}

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tunesmith-webgpu-chromium-'));
await bundlePage(work);
const server = await serve(work);
const opened = await openGpuPage(server.url);
const skip = typeof opened === 'string' ? opened : false;
after(async () => {
  if (typeof opened !== 'string') await opened.browser.close();
  await server.close();
  fs.rmSync(work, { recursive: true, force: true });
});

describe("the engine on Chromium's WebGPU (the app's GPU window) matches transformers", { skip }, () => {
  let page: Page;
  before(async () => {
    page = (opened as { page: Page }).page;
    // The 4 MB module is still loading when the adapter check above is answered.
    await page.waitForFunction(() => 'runOnGpu' in globalThis, undefined, { timeout: 60_000 });
  });

  test("the GPU window's start answers main with the adapter, as Settings' probe", async () => {
    const report = await page.evaluate(() => (globalThis as unknown as { probeGpuWindow(): Promise<GpuWindowReport> }).probeGpuWindow());
    assert.equal(report.kind, 'gpu', JSON.stringify(report));
    assert.match((report as { adapter: string }).adapter, /, Chromium(, software)?; (memory: RAM|memory unknown|\d+ MiB memory), buffers up to \d+ MiB, bindings up to \d+ MiB$/);
    // And the limits main's memory estimate compares with, those of the adapter named.
    const { adapter, limits } = report as Extract<GpuWindowReport, { kind: 'gpu' }>;
    assert.equal(limits.software, /, software;/.test(adapter), adapter);
    assert.ok(adapter.endsWith(`bindings up to ${Math.round(limits.maxStorageBufferBindingSize / 2 ** 20)} MiB`), adapter);
  });

  // BLOOM's tiny fixture (vocabulary 2000): SwiftShader runs GPT-2's 50257-wide head several times slower.
  test('bloom-tiny: greedy ids, then 4 full fine-tuning steps', { timeout: 600_000 }, async () => {
    const ref = REFERENCE['bloom-tiny'];
    const run = (ref as unknown as { full_finetune: { batch: ReferenceBatch; hyperparameters: ReferenceHyperparameters; losses: number[]; grad_norms: number[] } }).full_finetune;
    const hp = run.hyperparameters;
    const request: PageRequest = {
      model: 'bloom-tiny',
      batch: run.batch,
      steps: run.losses.length,
      hyperparameters: { lr: hp.lr, weight_decay: hp.weight_decay, betas: [hp.betas[0], hp.betas[1]], eps: hp.eps, max_grad_norm: hp.max_grad_norm },
      greedy: { prompt_ids: ref.greedy.prompt_ids, max_new_tokens: ref.greedy.max_new_tokens },
    };
    const answer = await page.evaluate((r) => (globalThis as unknown as { runOnGpu(r: PageRequest): Promise<PageAnswer> }).runOnGpu(r), request);
    console.log(`# chromium adapter: ${answer.adapter}; losses ${answer.losses.map((l) => l.toFixed(6)).join(', ')}`);
    // Reported as Dawn's adapters are, and never taken by Automatic when it is a CPU rasteriser.
    assert.match(answer.adapter, /, Chromium(, software)?; (memory: RAM|memory unknown|\d+ MiB memory), buffers up to \d+ MiB, bindings up to \d+ MiB$/);
    if (answer.software) assert.match(answer.automatic ?? '', /only WebGPU adapter is a software one/);
    assert.deepEqual(answer.greedyIds, ref.greedy.new_ids);
    assert.ok(maxAbsDiff(answer.losses, run.losses) <= 1e-4, `losses ${answer.losses} vs ${run.losses}`);
    answer.gradNorms.forEach((n, i) => assert.ok(Math.abs(n / run.grad_norms[i] - 1) <= 2e-4, `grad_norm[${i}]: ${n} vs ${run.grad_norms[i]}`));
  });
});
