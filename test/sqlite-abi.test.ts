// scripts/sqlite-abi.ts decides whether `npm start` / `npm test` must rebuild better-sqlite3 by
// reading the ABI out of the addon on disk and comparing it with the runtime's.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { addonAbi, runtimeAbi } from '../scripts/sqlite-abi';

const require = createRequire(import.meta.url);

test('the addon this Node just loaded reads as built for this Node, and Electron wants another ABI', () => {
  new Database(':memory:').close(); // it loads, so it is built for this runtime
  const addon = path.join(path.dirname(require.resolve('better-sqlite3/package.json')), 'build/Release/better_sqlite3.node');
  assert.equal(addonAbi(fs.readFileSync(addon)), process.versions.modules);
  assert.equal(runtimeAbi('node'), process.versions.modules);
  const electron = runtimeAbi('electron');
  assert.match(electron, /^\d+$/);
  assert.notEqual(electron, process.versions.modules, 'Electron bundles its own Node with its own ABI');
});

test('a file without Node registration symbol has no ABI (a missing or Node-API build is rebuilt)', () => {
  assert.equal(addonAbi(Buffer.from('\x7fELF napi_register_module_v1')), null);
  assert.equal(addonAbi(Buffer.from('junk node_register_module_v145 junk')), '145');
});
