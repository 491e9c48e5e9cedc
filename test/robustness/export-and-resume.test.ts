// Audit 3.4, 3.6, 3.12–3.16 and exports killed at random moments: a stop keeps a checkpoint,
// a resume with nothing to resume from says so, an export refuses what it cannot do, and a
// killed export never leaves a folder under the destination's name that looks finished.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { openStore } from '../../core/store/index';
import { tempDir } from '../helpers';
import { assertRefused, baseConfig, cli, spawnCli, writeConfig } from './cases';

test('3.12/3.13 a resume with no checkpoint, or of a path that does not exist, says what it looked for', async (t) => {
  const dir = tempDir(t);
  for (const p of [dir, path.join(dir, 'nope')]) {
    assertRefused(await cli('train', '--resume', p, '--store', path.join(dir, 's.db')), `${p}: no checkpoint to resume from (looked for checkpoint-N folders with trainer_state.json)`);
  }
});

test('3.4 SIGTERM stops between steps with a checkpoint, exit 143, status stopped', async (t) => {
  const dir = tempDir(t);
  const store = path.join(dir, 's.db');
  const out = path.join(dir, 'run');
  const run = spawnCli(['train', '--config', writeConfig(dir, 'c.json', baseConfig(dir, out, { max_steps: 400 })), '--store', store, '--json-events']);
  await run.event((e) => e.event === 'step');
  run.child.kill('SIGTERM');
  const r = await run.exited;
  assert.equal(r.code, 143, r.stderr);
  assert.match(r.stderr, /training stopped by SIGTERM/);
  const last = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
  assert.equal(last.event, 'checkpoint');
  assert.ok(fs.existsSync(path.join(out, `checkpoint-${last.step}`, 'trainer_state.json')));
  assert.ok(!fs.existsSync(path.join(out, '.tunesmith.lock')), 'the lock went with it');
  const s = openStore(store);
  assert.equal(s.listRuns()[0].status, 'stopped');
  s.close();
});

test('3.14–3.16 exports refuse an unfinished run, a non-empty destination and the wrong kind; killed at any moment, an export leaves its destination absent or complete', async (t) => {
  const dir = tempDir(t);
  const store = path.join(dir, 's.db');
  const lora = path.join(dir, 'lora');
  const unfinished = path.join(dir, 'unfinished');
  fs.mkdirSync(unfinished);
  assertRefused(await cli('export', '--run', unfinished, '--format', 'hf', '--out', path.join(dir, 'x')), `${path.join(unfinished, 'final')}: not found; has the run finished?`);
  assert.ok(!fs.existsSync(path.join(dir, 'x')));
  const trained = await cli('train', '--config', writeConfig(dir, 'c.json', baseConfig(dir, lora)), '--store', store, '--json-events');
  assert.equal(trained.code, 0, trained.stderr);
  const busy = path.join(dir, 'busy');
  fs.mkdirSync(busy);
  fs.writeFileSync(path.join(busy, 'keep.txt'), 'mine');
  assertRefused(await cli('export', '--run', lora, '--format', 'peft', '--out', busy), `${busy}: already exists and is not an empty folder; choose a new one`);
  assert.equal(fs.readFileSync(path.join(busy, 'keep.txt'), 'utf8'), 'mine');
  assertRefused(await cli('export', '--run', lora, '--format', 'hf', '--out', path.join(dir, 'y')), `${lora} is a LoRA run; it exports as peft, merged or gguf, not hf`);

  // The merged model written whole: killed at spread-out moments, the destination is absent or complete.
  const whole = path.join(dir, 'whole');
  assert.equal((await cli('export', '--run', lora, '--format', 'merged', '--out', whole)).code, 0);
  const expected = fs.readdirSync(whole).sort();
  for (const delayMs of [300, 900, 1500, 2500]) {
    const out = path.join(dir, `killed-${delayMs}`);
    const run = spawnCli(['export', '--run', lora, '--format', 'merged', '--out', out]);
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    run.child.kill('SIGKILL');
    await run.exited;
    if (fs.existsSync(out)) {
      assert.deepEqual(fs.readdirSync(out).sort(), expected, `killed after ${delayMs} ms`);
      assert.equal(fs.statSync(path.join(out, 'model.safetensors')).size, fs.statSync(path.join(whole, 'model.safetensors')).size);
    }
  }
  // A second export is not blocked by the killed ones' stale locks.
  assert.equal((await cli('export', '--run', lora, '--format', 'peft', '--out', path.join(dir, 'after'))).code, 0);
});

test('3.6 a store on a full disk fails naming the file', { skip: (process.platform !== 'linux' || process.getuid?.() !== 0) && 'needs root on Linux to mount a small tmpfs' }, async (t) => {
  const dir = tempDir(t);
  const small = path.join(dir, 'small');
  fs.mkdirSync(small);
  const mount = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', small], { encoding: 'utf8' });
  if (mount.status !== 0) return t.skip(`this machine cannot mount a tmpfs: ${mount.stderr.trim()}`);
  try {
    const db = path.join(small, 'tunesmith.db');
    // An empty 64 KiB disk fails in the first migration; one nearly full already fails setting up the journal.
    assertRefused(await cli('runs', '--store', db, 'list'), `${db}: migration to schema version 1 (core tables) failed, file left at version 0: database or disk is full`);
    fs.rmSync(db, { force: true });
    for (const f of fs.readdirSync(small)) fs.rmSync(path.join(small, f), { force: true });
    fs.writeFileSync(path.join(small, 'filler'), Buffer.alloc(60 * 1024));
    assertRefused(await cli('runs', '--store', db, 'list'), new RegExp(`^${db.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: (cannot open the store|migration to schema version 1 \\(core tables\\) failed, file left at version 0): database or disk is full$`));
  } finally {
    spawnSync('umount', [small]);
  }
});
