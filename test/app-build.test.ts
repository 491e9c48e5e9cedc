// `npm test` runs `electron-vite build` first; these check that what it produced can load.
// No Electron binary is available here, so the bundles are checked as files.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { getAppInfo } from '../core/app-info';
import { BACKEND_ORDER } from '../core/engine/backend';

const OUT = path.resolve(import.meta.dirname, '../out');

test('the main bundle parses as a module', () => {
  const r = spawnSync(process.execPath, ['--check', path.join(OUT, 'main/index.js')], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
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

test('the app reports its name, version and engine', async () => {
  const info = await getAppInfo({ node: process.versions.node }, 'web');
  assert.equal(info.name, 'Tunesmith');
  assert.match(info.version, /^\d+\.\d+\.\d+/);
  assert.ok((BACKEND_ORDER as readonly string[]).includes(info.backend), info.backend);
});
