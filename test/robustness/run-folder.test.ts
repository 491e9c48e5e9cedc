// A run's output folder: checked before any step runs (2.21–2.23), and deleting a run removes
// only what it wrote, never the user's files beside it (3.18).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { openStore } from '../../core/store/index';
import { tempDir } from '../helpers';
import { assertRefused, baseConfig, cli, spawnCli, writeConfig } from './cases';

const isRoot = process.getuid?.() === 0;

test('3.18 runs delete of a run whose output_dir is the project folder removes only what the run wrote', async (t) => {
  const proj = tempDir(t);
  const store = path.join(proj, '..', `${path.basename(proj)}.db`);
  t.after(() => fs.rmSync(store, { force: true }));
  fs.writeFileSync(path.join(proj, 'notes.txt'), 'mine\n');
  const config = baseConfig(proj, '.', { save_steps: 1 });
  fs.renameSync(path.join(proj, 'alpaca.jsonl'), path.join(proj, 'my-data.jsonl'));
  writeConfig(proj, 'run.json', { ...config, data: { train: 'my-data.jsonl', max_length: 32 } });
  const trained = await cli('train', '--config', path.join(proj, 'run.json'), '--store', store, '--json-events');
  assert.equal(trained.code, 0, trained.stderr);
  assert.ok(fs.existsSync(path.join(proj, 'final')) && fs.existsSync(path.join(proj, 'checkpoint-2')));
  const s = openStore(store);
  const [run] = s.listRuns();
  // What the confirmation shows: only the run's own entries and its record, not the folder.
  assert.deepEqual(s.runFilesToDelete(run.id).map((p) => path.relative(proj, p)).sort(), ['.tunesmith-files.json', 'checkpoint-1', 'checkpoint-2', 'final']);
  s.close();
  const deleted = await cli('runs', '--store', store, 'delete', run.id, '--yes');
  assert.equal(deleted.code, 0, deleted.stderr);
  assert.match(deleted.stdout, new RegExp(`^deleted run ${run.id}; removed:\\n`));
  assert.deepEqual(fs.readdirSync(proj).sort(), ['my-data.jsonl', 'notes.txt', 'run.json']);
  assert.equal(fs.readFileSync(path.join(proj, 'notes.txt'), 'utf8'), 'mine\n');
});

test('3.18 a folder Tunesmith created goes with the run, unless the user put something in it', async (t) => {
  const dir = tempDir(t);
  const store = path.join(dir, 'store.db');
  const out = path.join(dir, 'made', 'by', 'tunesmith');
  const kept = path.join(dir, 'kept');
  for (const o of [out, kept]) {
    const r = await cli('train', '--config', writeConfig(dir, 'c.json', baseConfig(dir, o)), '--store', store, '--json-events');
    assert.equal(r.code, 0, r.stderr);
  }
  fs.writeFileSync(path.join(kept, 'my-notes.txt'), 'x');
  const s = openStore(store);
  const ids = s.listRuns({ sort: 'created', order: 'asc' }).map((r) => r.id);
  s.deleteRun(ids[0], { removeFiles: true });
  assert.ok(!fs.existsSync(path.join(dir, 'made')), 'the three folders it created are gone');
  s.deleteRun(ids[1], { removeFiles: true });
  assert.deepEqual(fs.readdirSync(kept), ['my-notes.txt']);
  s.close();
});

test('2.21 an output_dir that is a file is refused before anything is recorded or trained', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'outfile');
  fs.writeFileSync(file, 'keep me');
  const store = path.join(dir, 'store.db');
  const r = await cli('train', '--config', writeConfig(dir, 'c.json', baseConfig(dir, file)), '--store', store);
  assertRefused(r, `${file}: output_dir exists and is not a folder`);
  assert.equal(fs.readFileSync(file, 'utf8'), 'keep me');
  const s = openStore(store);
  assert.deepEqual(s.listRuns(), []);
  s.close();
  const under = path.join(file, 'run');
  assertRefused(await cli('train', '--config', writeConfig(dir, 'c.json', baseConfig(dir, under)), '--store', store), `${under}: cannot create output_dir: ${file} is a file`);
});

test('2.23 an output_dir under /proc fails within seconds (it used to spin forever, deaf to SIGTERM)', { skip: process.platform !== 'linux' && 'needs /proc' }, async (t) => {
  const dir = tempDir(t);
  const cli = spawnCli(['train', '--config', writeConfig(dir, 'c.json', baseConfig(dir, '/proc/self/run1')), '--store', path.join(dir, 's.db')]);
  const timer = setTimeout(() => cli.child.kill('SIGKILL'), 60_000);
  const r = await cli.exited;
  clearTimeout(timer);
  assert.equal(r.code, 1, `killed after a minute: ${r.signal}`);
  assert.equal(r.stderr.trim(), 'tunesmith: /proc/self/run1: output_dir is in a kernel pseudo filesystem (/proc, /sys or /dev); choose a folder on a disk');
});

test('2.22 an output_dir on a read-only mount is refused before training', { skip: !isRoot && 'needs root to bind-mount a read-only folder' }, async (t) => {
  const dir = tempDir(t);
  const src = path.join(dir, 'src');
  const ro = path.join(dir, 'ro');
  fs.mkdirSync(src);
  fs.mkdirSync(ro);
  const mount = spawnSync('sh', ['-c', `mount --bind '${src}' '${ro}' && mount -o remount,bind,ro '${ro}'`], { encoding: 'utf8' });
  if (mount.status !== 0) {
    spawnSync('umount', [ro]);
    return t.skip(`this machine does not allow a read-only bind mount: ${mount.stderr.trim()}`);
  }
  try {
    const out = path.join(ro, 'run1');
    const r = await cli('train', '--config', writeConfig(dir, 'c.json', baseConfig(dir, out)), '--store', path.join(dir, 's.db'));
    assertRefused(r, `${out}: cannot create output_dir: read-only file system (EROFS)`);
    assert.deepEqual(fs.readdirSync(src), []);
  } finally {
    spawnSync('umount', [ro]);
  }
});
