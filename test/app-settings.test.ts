// Settings live in <home>/settings.json: they survive a restart, the Hub token never
// comes back out, and a damaged file is reported rather than replaced.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { createSettingsMethods, readSettingsFile } from '../core/app/settings';
import { tempDir } from './helpers';

test('settings: defaults without a file, then changes survive a fresh service on the same home', async (t) => {
  const home = tempDir(t);
  const first = createSettingsMethods({ home });
  assert.deepEqual(await first.getSettings(), { dataDir: home, backend: 'auto', theme: 'system', hasHubToken: false });
  await first.updateSettings({ backend: 'wasm' });
  await first.updateSettings({ theme: 'dark', hubToken: 'hf_secret' });

  const again = await createSettingsMethods({ home }).getSettings();
  assert.deepEqual(again, { dataDir: home, backend: 'wasm', theme: 'dark', hasHubToken: true });
  assert.ok(!JSON.stringify(again).includes('hf_secret'));
  assert.equal(readSettingsFile(home).hubToken, 'hf_secret');
  assert.equal(fs.statSync(path.join(home, 'settings.json')).mode & 0o777, 0o600);

  const cleared = await createSettingsMethods({ home }).updateSettings({ hubToken: '' });
  assert.equal(cleared.hasHubToken, false);
  assert.equal(readSettingsFile(home).hubToken, null);
});

test('settings: keys this version does not know are kept when saving', async (t) => {
  const home = tempDir(t);
  const file = path.join(home, 'settings.json');
  fs.writeFileSync(file, JSON.stringify({ theme: 'light', fromNewerVersion: { a: 1 } }));
  await createSettingsMethods({ home }).updateSettings({ backend: 'cpu' });
  assert.deepEqual(JSON.parse(fs.readFileSync(file, 'utf8')), { backend: 'cpu', theme: 'light', hubToken: null, fromNewerVersion: { a: 1 } });
});

test('settings: a damaged file is an error naming it, and is left as it was', async (t) => {
  const home = tempDir(t);
  const file = path.join(home, 'settings.json');
  const methods = createSettingsMethods({ home });
  for (const [content, why] of [
    ['{"theme": "dark",', /not valid JSON/],
    ['{"theme": "purple"}', /"theme" must be one of system, light, dark \(got "purple"\)/],
    ['[1, 2]', /must be a JSON object/],
  ] as const) {
    fs.writeFileSync(file, content);
    await assert.rejects(methods.getSettings(), (err: Error) => err.message.startsWith(file) && why.test(err.message));
    await assert.rejects(methods.updateSettings({ theme: 'light' }), (err: Error) => err.message.startsWith(file));
    assert.equal(fs.readFileSync(file, 'utf8'), content);
  }
});

test('settings: an invalid change names the field and writes nothing', async (t) => {
  const home = tempDir(t);
  const methods = createSettingsMethods({ home });
  await assert.rejects(methods.updateSettings({ backend: 'gpu' as 'cpu' }), /"backend" must be one of auto, webgpu, native, tensorflow, wasm, cpu/);
  assert.equal(fs.existsSync(path.join(home, 'settings.json')), false);
});
