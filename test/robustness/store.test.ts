// 3.9–3.11: a damaged or foreign store file is named, never written into, and what can
// still be read is listed.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { openStore } from '../../core/store/index';
import { tempDir } from '../helpers';
import { baseConfig, cli, writeConfig } from './cases';

/** A store of 20 runs with metrics, its WAL checkpointed into the file (closing does that). */
function makeStore(file: string): string[] {
  const store = openStore(file);
  const ids: string[] = [];
  for (let i = 0; i < 20; i++) {
    const run = store.createRun({ name: `run ${i}`, method: 'lora', config: { note: 'x'.repeat(500), i }, outputDir: `/nowhere/${i}` });
    store.finishRun(run.id, { status: 'completed' });
    const w = store.metricsWriter(run.id);
    for (let step = 1; step <= 40; step++) w.log(step, { loss: 10 / step, learning_rate: 1e-3 });
    w.flush();
    ids.push(run.id);
  }
  store.close();
  return ids;
}

/** Deterministic junk, so a failure can be reproduced. */
function junk(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0, x = seed; i < n; i++) b[i] = (x = (x * 1103515245 + 12345) >>> 0) >>> 24;
  return b;
}

const DAMAGES: Record<string, (bytes: Buffer) => Buffer> = {
  mid: (b) => (junk(2000, 7).copy(b, b.length >> 1), b),
  trunc: (b) => b.subarray(0, 50_000),
};

test('3.9/3.10 a damaged store: runs list names it and lists what it can, train refuses, and the file stays byte-identical', async (t) => {
  const dir = tempDir(t);
  const original = path.join(dir, 'good.db');
  const ids = makeStore(original);
  assert.ok(fs.statSync(original).size > 100_000, 'big enough to damage in the middle');
  for (const [name, damage] of Object.entries(DAMAGES)) {
    const db = path.join(dir, `${name}.db`);
    fs.writeFileSync(db, damage(fs.readFileSync(original)));
    const before = fs.readFileSync(db);
    const message = new RegExp(`^tunesmith: ${db.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: the run store is damaged \\(.+\\); move it aside or restore a backup \\(runs keeps working with --store on another file\\)$`);
    for (const json of [true, false]) {
      const r = await cli('runs', '--store', db, 'list', ...(json ? ['--json'] : []));
      assert.equal(r.code, 1, `${name}: ${r.stderr}`);
      assert.match(r.stderr.trim(), message);
      if (json) {
        const listed = (JSON.parse(r.stdout) as { id: string }[]).map((x) => x.id);
        assert.ok(listed.every((id) => ids.includes(id)), `${name}: only real runs are listed`);
      }
    }
    const train = await cli('train', '--config', writeConfig(dir, 'c.json', baseConfig(dir, path.join(dir, `run-${name}`))), '--store', db);
    assert.equal(train.code, 1);
    assert.match(train.stderr.trim(), message);
    assert.ok(fs.readFileSync(db).equals(before), `${name}: the damaged file was not written into`);
    assert.ok(!fs.existsSync(path.join(dir, `run-${name}`)), 'nothing trained');
  }
  // The intact store is untouched by all this and still lists every run.
  const r = await cli('runs', '--store', original, 'list', '--json');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).length, 20);
});

test('3.11 a text file in place of the store is refused for runs and train, and left as it was', async (t) => {
  const dir = tempDir(t);
  const db = path.join(dir, 'tunesmith.db');
  fs.writeFileSync(db, 'my shopping list\n');
  const message = `tunesmith: ${db}: not a Tunesmith store (not an SQLite database); move it aside or set TUNESMITH_HOME`;
  const listed = await cli('runs', '--store', db, 'list');
  assert.equal(listed.code, 1);
  assert.equal(listed.stderr.trim(), message);
  const train = await cli('train', '--config', writeConfig(dir, 'c.json', baseConfig(dir, path.join(dir, 'run'))), '--store', db);
  assert.equal(train.code, 1);
  assert.equal(train.stderr.trim(), message);
  assert.equal(fs.readFileSync(db, 'utf8'), 'my shopping list\n');
});

test('3.9 the web app on a damaged store says how to move it aside, and with --move-damaged-store keeps it for recovery and starts anew', async (t) => {
  const home = tempDir(t);
  const db = path.join(home, 'tunesmith.db');
  makeStore(db);
  fs.writeFileSync(db, DAMAGES.mid(fs.readFileSync(db)));
  const damaged = fs.readFileSync(db);
  const start = path.resolve(import.meta.dirname, '../../core/web/start.ts');
  const run = (...extra: string[]) => spawn(process.execPath, ['--import', 'tsx', start, '--port', '0', '--home', home, ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
  const refused = run();
  let stderr = '';
  refused.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
  const code = await new Promise((resolve) => refused.on('close', resolve));
  assert.equal(code, 1);
  assert.match(stderr, new RegExp(`^tunesmith web: ${db.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: the run store is damaged .*\\nTo keep it for recovery and start a new store, run again with --move-damaged-store\\.\\n$`));
  assert.ok(fs.readFileSync(db).equals(damaged));

  const moved = run('--move-damaged-store');
  t.after(() => moved.kill('SIGKILL'));
  let stdout = '';
  await new Promise<void>((resolve) => moved.stdout.setEncoding('utf8').on('data', (d) => ((stdout += d), /Tunesmith is running at/.test(stdout) && resolve())));
  const aside = /Moved the damaged store to (.+); starting a new one\./.exec(stdout)![1];
  assert.ok(fs.readFileSync(aside).equals(damaged), 'the damaged file is kept, unchanged, beside the new one');
  moved.kill('SIGINT');
  await new Promise((resolve) => moved.on('close', resolve));
  const fresh = openStore(db);
  assert.deepEqual(fresh.listRuns(), []);
  fresh.close();
});
