// `npm test` runs `electron-vite build` first; these check that what it produced can load.
// No Electron binary is available here, so the bundles are checked as files.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { getAppInfo } from '../core/app-info';
import { activeKernels, BACKEND_ORDER } from '../core/engine/backend';
import { BRIDGE_SCRIPT } from '../core/web/protocol';
import { APP_PAGE_URL, appPageMatcher } from '../main/app-page';

const OUT = path.resolve(import.meta.dirname, '../out');

test('the main bundle and the worker bundles beside it parse as modules', () => {
  // main/utility-launcher.ts forks out/main/<name>-worker.js; the GPU window's preload is an .mjs (main/gpu-window.ts).
  for (const bundle of ['index.js', 'training-worker.js', 'inference-worker.js', 'gpu-worker.mjs']) {
    const r = spawnSync(process.execPath, ['--check', path.join(OUT, `main/${bundle}`)], { encoding: 'utf8' });
    assert.equal(r.status, 0, `${bundle}: ${r.stderr}`);
  }
});

test('the preload is CommonJS that requires only electron, as a sandboxed preload must', () => {
  const code = fs.readFileSync(path.join(OUT, 'preload/index.cjs'), 'utf8');
  assert.doesNotMatch(code, /^\s*import\s/m);
  const required = [...code.matchAll(/require\(["']([^"']+)["']\)/g)].map((m) => m[1]);
  assert.deepEqual([...new Set(required)], ['electron']);
});

test('the renderer page loads only local assets under a strict CSP', () => {
  const html = fs.readFileSync(path.join(OUT, 'renderer/index.html'), 'utf8');
  assert.match(html, /Content-Security-Policy/);
  assert.match(html, /default-src 'self'/);
  const refs = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
  assert.ok(refs.length > 0);
  for (const ref of refs) {
    assert.doesNotMatch(ref, /^(https?:)?\/\//, ref);
    assert.ok(fs.existsSync(path.join(OUT, 'renderer', ref)), `${ref} exists`);
  }
});

test('the web bridge is built beside the page, and the app never loads it itself', () => {
  const bridge = path.join(OUT, 'renderer', BRIDGE_SCRIPT);
  assert.ok(fs.existsSync(bridge), `${bridge} exists`);
  const rendererFiles = fs.readdirSync(path.join(OUT, 'renderer'), { recursive: true, encoding: 'utf8' }).filter((f) => /\.(js|html)$/.test(f) && f !== BRIDGE_SCRIPT);
  for (const file of rendererFiles) {
    assert.ok(!fs.readFileSync(path.join(OUT, 'renderer', file), 'utf8').includes(BRIDGE_SCRIPT), `${file} refers to the bridge`);
  }
  for (const [, ref] of fs.readFileSync(bridge, 'utf8').matchAll(/from\s*"([^"]+)"/g)) {
    assert.ok(fs.existsSync(path.join(OUT, 'renderer', ref)), `the bridge's import ${ref} exists`);
  }
});

test('electron-builder accepts the packaging config: it unpacks native libraries and burns the fuses', async () => {
  const require = createRequire(import.meta.url);
  const { getConfig, validateConfiguration } = require('app-builder-lib/out/util/config/config') as typeof import('app-builder-lib/out/util/config/config');
  const { DebugLogger } = require('builder-util') as typeof import('builder-util');
  const config = await getConfig(path.resolve(OUT, '..'), null, null);
  await validateConfiguration(config, new DebugLogger(false));
  assert.equal(config.productName, 'Tunesmith');
  assert.ok(Array.isArray(config.asarUnpack) && config.asarUnpack.includes('**/*.node'));
  // Electron's security checklist: no ELECTRON_RUN_AS_NODE, NODE_OPTIONS or --inspect backdoor
  // into the signed binary, cookies encrypted, and only the integrity-checked app.asar loaded.
  assert.deepEqual(config.electronFuses, {
    runAsNode: false,
    enableCookieEncryption: true,
    enableNodeOptionsEnvironmentVariable: false,
    enableNodeCliInspectArguments: false,
    enableEmbeddedAsarIntegrityValidation: true,
    onlyLoadAppFromAsar: true,
    grantFileProtocolExtraPrivileges: false,
  });
});

test('the main process answers IPC from its own page only', () => {
  const built = appPageMatcher(APP_PAGE_URL, undefined);
  assert.ok(built(APP_PAGE_URL));
  assert.ok(built(`${APP_PAGE_URL}#/runs/r1?tab=log`));
  const file = pathToFileURL(path.join(OUT, 'renderer/index.html')).href;
  for (const other of [file, 'app://tunesmith/other.html', 'app://other/index.html', 'https://example.com/', 'about:blank', '', 'devtools://devtools/bundled/inspector.html']) {
    assert.equal(built(other), false, other);
  }
  const dev = appPageMatcher(APP_PAGE_URL, 'http://localhost:5173/');
  assert.ok(dev('http://localhost:5173/#/settings'));
  assert.equal(dev('http://localhost:5174/'), false);
  assert.equal(dev(APP_PAGE_URL), false, 'the built page is not the page while the dev server is');
});

test('the app icons are where electron-builder looks, at the sizes it needs', () => {
  const build = path.resolve(OUT, '../build');
  const png = fs.readFileSync(path.join(build, 'icon.png'));
  // PNG signature, then the IHDR chunk's width and height.
  assert.equal(png.subarray(1, 4).toString('ascii'), 'PNG');
  assert.deepEqual([png.readUInt32BE(16), png.readUInt32BE(20)], [512, 512]);
  const ico = fs.readFileSync(path.join(build, 'icon.ico'));
  const icoSizes = Array.from({ length: ico.readUInt16LE(4) }, (_, i) => ico.readUInt8(6 + 16 * i) || 256);
  assert.ok(icoSizes.includes(256) && icoSizes.includes(16), `ico sizes ${icoSizes}`);
  const icns = fs.readFileSync(path.join(build, 'icon.icns'));
  assert.equal(icns.subarray(0, 4).toString('ascii'), 'icns');
  assert.equal(icns.readUInt32BE(4), icns.length);
  const types: string[] = [];
  for (let at = 8; at < icns.length; at += icns.readUInt32BE(at + 4)) types.push(icns.subarray(at, at + 4).toString('ascii'));
  assert.ok(types.includes('ic09') && types.includes('ic10'), `icns elements ${types}`);
});

test('the app reports its name, version and engine', async () => {
  const info = await getAppInfo({ node: process.versions.node }, 'web');
  assert.equal(info.name, 'Tunesmith');
  assert.match(info.version, /^\d+\.\d+\.\d+/);
  assert.ok((BACKEND_ORDER as readonly string[]).includes(info.backend), info.backend);
  // Fast bf16 is offered exactly where the native kernels have a bf16 kernel for this CPU.
  assert.equal(info.bf16Kernel, activeKernels()?.info().bf16 ?? null);
});
