// The experiment store on real SQLite files in a temp folder.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { defaultStorePath, downsample, LATEST_VERSION, migrate, MIGRATIONS, openStore, type Point } from '../core/store/index';
import { prepareRunFolder, recordRunEntry } from '../core/train/run-folder';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tunesmith-store-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));
let counter = 0;
const dbFile = () => path.join(root, `s${counter++}`, 'tunesmith.db');

function version(file: string): number {
  const db = new Database(file, { readonly: true });
  try {
    return db.pragma('user_version', { simple: true }) as number;
  } finally {
    db.close();
  }
}

function tables(file: string): string[] {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all() as string[];
  } finally {
    db.close();
  }
}

/** A process id that is certainly not running: a child that has already exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', '']);
  assert.ok(r.pid);
  return r.pid;
}

function snapshot(file: string) {
  const dir = path.dirname(file);
  return { bytes: fs.readFileSync(file), mtime: fs.statSync(file).mtimeMs, listing: fs.readdirSync(dir).sort() };
}

describe('opening and migrating', () => {
  test('a new file gets every table at the latest version, with WAL and foreign keys on', () => {
    const file = dbFile();
    const store = openStore(file);
    assert.equal(store.db.pragma('journal_mode', { simple: true }), 'wal');
    assert.equal(store.db.pragma('foreign_keys', { simple: true }), 1);
    assert.ok((store.db.pragma('busy_timeout', { simple: true }) as number) > 0);
    store.close();
    assert.equal(version(file), LATEST_VERSION);
    for (const t of ['models', 'datasets', 'runs', 'metrics', 'checkpoints', 'samples', 'chat_sessions', 'chat_messages', 'run_tags']) {
      assert.ok(tables(file).includes(t), t);
    }
  });

  test('an empty file is treated as a new store', () => {
    const file = dbFile();
    fs.mkdirSync(path.dirname(file));
    fs.writeFileSync(file, '');
    openStore(file).close();
    assert.equal(version(file), LATEST_VERSION);
  });

  test('the default path follows TUNESMITH_HOME', () => {
    const saved = process.env.TUNESMITH_HOME;
    try {
      process.env.TUNESMITH_HOME = path.join(root, 'home');
      assert.equal(defaultStorePath(), path.join(root, 'home', 'tunesmith.db'));
      openStore().close();
      assert.ok(fs.existsSync(path.join(root, 'home', 'tunesmith.db')));
      delete process.env.TUNESMITH_HOME;
      assert.equal(defaultStorePath(), path.join(os.homedir(), '.tunesmith', 'tunesmith.db'));
    } finally {
      if (saved === undefined) delete process.env.TUNESMITH_HOME;
      else process.env.TUNESMITH_HOME = saved;
    }
  });

  for (let k = 1; k < LATEST_VERSION; k++) {
    test(`a store at version ${k} migrates to ${LATEST_VERSION} keeping its runs`, () => {
      const file = dbFile();
      fs.mkdirSync(path.dirname(file));
      const old = new Database(file);
      migrate(old, MIGRATIONS.slice(0, k));
      assert.equal(old.pragma('user_version', { simple: true }), k);
      old.prepare("INSERT INTO runs (id, name, status, method, config, created_at) VALUES ('old', 'old run', 'completed', 'lora', '{}', 1)").run();
      old.close();

      const store = openStore(file);
      assert.equal(store.db.pragma('user_version', { simple: true }), LATEST_VERSION);
      store.tagRun('old', 'kept');
      assert.deepEqual(store.getRun('old')?.tags, ['kept']);
      assert.equal(store.getRun('old')?.notes, '');
      store.close();
    });
  }

  test('a failing migration leaves the file at the previous version', () => {
    const file = dbFile();
    openStore(file).close();
    const db = new Database(file);
    const broken = [...MIGRATIONS, { description: 'broken', up: (d: Database.Database) => { d.exec('CREATE TABLE half_done (a)'); throw new Error('boom'); } }];
    assert.throws(() => migrate(db, broken), (e: Error) => e.message.includes(file) && e.message.includes(`version ${LATEST_VERSION + 1}`) && e.message.includes('boom'));
    assert.equal(db.pragma('user_version', { simple: true }), LATEST_VERSION);
    assert.ok(!(db.prepare("SELECT name FROM sqlite_master WHERE name = 'half_done'").get()));
    db.close();
  });

  test('a file that is not SQLite is refused and left untouched', () => {
    const file = dbFile();
    fs.mkdirSync(path.dirname(file));
    fs.writeFileSync(file, 'these are my notes, not a database\n');
    const before = snapshot(file);
    assert.throws(() => openStore(file), (e: Error) => e.message.includes(file) && /not an SQLite database/.test(e.message));
    assert.deepEqual(snapshot(file), before);
  });

  test('a store from a newer Tunesmith is refused and left untouched', () => {
    const file = dbFile();
    openStore(file).close();
    const db = new Database(file);
    db.pragma(`user_version = ${LATEST_VERSION + 5}`);
    db.close();
    const before = snapshot(file);
    assert.throws(() => openStore(file), (e: Error) => e.message.includes(file) && /newer than this Tunesmith supports/.test(e.message));
    assert.deepEqual(snapshot(file), before);
  });

  test('a newer version still in the WAL (another process has it open) is refused too', () => {
    const file = dbFile();
    openStore(file).close();
    const newer = new Database(file);
    newer.pragma('wal_autocheckpoint = 0');
    newer.pragma(`user_version = ${LATEST_VERSION + 1}`);
    const before = fs.readFileSync(file);
    assert.throws(() => openStore(file), /newer than this Tunesmith supports/);
    assert.deepEqual(fs.readFileSync(file), before);
    newer.close();
  });
});

describe('runs', () => {
  test('create, run, finish, list with filters and sorting', () => {
    const store = openStore(dbFile());
    const model = { source: 'gpt2', configSummary: { n_layer: 12 }, parameterCount: 124439808 };
    const dataset = { path: '/data/poems.jsonl', format: 'jsonl', contentHash: 'abc', stats: { rows: 10 } };
    const a = store.createRun({ name: 'a', method: 'lora', config: { lr: 1 }, model, dataset, estimatedPeakBytes: 100 });
    assert.equal(a.status, 'queued');
    assert.equal(a.model, 'gpt2');
    assert.equal(a.dataset, '/data/poems.jsonl');
    const running = store.setRunStatus(a.id, 'running');
    assert.equal(running.pid, process.pid);
    assert.ok(running.startedAt);
    const done = store.finishRun(a.id, { status: 'completed', finalMetrics: { eval_loss: 2.5 }, measuredPeakBytes: 90 });
    assert.equal(done.status, 'completed');
    assert.deepEqual(done.finalMetrics, { eval_loss: 2.5 });
    assert.equal(done.measuredPeakBytes, 90);
    assert.ok(done.endedAt);

    const b = store.createRun({ name: 'b', method: 'full', config: {}, model: { source: '/models/bloom-560m' } });
    store.finishRun(b.id, { status: 'completed', finalMetrics: { eval_loss: 1.5 } });
    const c = store.createRun({ name: 'c', method: 'lora', config: {}, model });
    store.finishRun(c.id, { status: 'failed', error: 'out of memory' });
    store.tagRun(b.id, 'best');
    store.tagRun(c.id, 'best');
    store.tagRun(c.id, 'oom');
    assert.equal(store.untagRun(c.id, 'oom'), true);

    const ids = (o: Parameters<typeof store.listRuns>[0]) => store.listRuns(o).map((r) => r.name);
    assert.deepEqual(ids({ sort: 'name' }), ['a', 'b', 'c']);
    assert.deepEqual(ids({ sort: 'name', order: 'desc' }), ['c', 'b', 'a']);
    assert.deepEqual(ids({ status: 'completed', sort: 'name' }), ['a', 'b']);
    assert.deepEqual(ids({ model: 'bloom' }), ['b']);
    assert.deepEqual(ids({ method: 'lora', sort: 'name' }), ['a', 'c']);
    assert.deepEqual(ids({ tag: 'best', sort: 'name' }), ['b', 'c']);
    assert.deepEqual(ids({ sort: 'metric:eval_loss' }), ['b', 'a', 'c'], 'runs without the metric last');
    assert.equal(store.getRun(c.id)?.error, 'out of memory');
    assert.throws(() => store.listRuns({ sort: 'bogus' as 'name' }), /sort must be one of/);
    assert.throws(() => store.setRunStatus('nope', 'running'), /no run with id "nope"/);
    store.close();
  });

  test('a resumed run is found by its output folder, runs again and keeps the highest measured peak', () => {
    const store = openStore(dbFile());
    const older = store.createRun({ name: 'old', method: 'lora', config: { lr: 1 }, outputDir: '/runs/x' });
    store.finishRun(older.id, { status: 'completed' });
    const run = store.createRun({ name: 'x', method: 'lora', config: { lr: 1 }, outputDir: '/runs/x', status: 'running' });
    assert.equal(store.findRunByOutputDir('/runs/x')?.id, run.id, 'the latest run in that folder');
    assert.equal(store.findRunByOutputDir('/runs/y'), undefined);
    const dataset = { path: '/data/a.jsonl', format: 'alpaca', contentHash: 'h1', stats: { examples: 3 } };
    store.recordRunStart(run.id, { backend: 'wasm', dataset });
    assert.equal(store.getRun(run.id)?.backend, 'wasm');
    assert.equal(store.getRun(run.id)?.dataset, '/data/a.jsonl');
    store.finishRun(run.id, { status: 'failed', error: 'disk full', measuredPeakBytes: 500, measuredTensorPeakBytes: 50 });

    const resumed = store.resumeRun(run.id, { lr: 2 });
    assert.equal(resumed.status, 'running');
    assert.equal(resumed.endedAt, null);
    assert.equal(resumed.error, null);
    assert.deepEqual(resumed.config, { lr: 2 });
    const done = store.finishRun(run.id, { status: 'completed', measuredPeakBytes: 300, measuredTensorPeakBytes: 80, estimatedPeakBytes: 400 });
    assert.deepEqual([done.measuredPeakBytes, done.measuredTensorPeakBytes, done.estimatedPeakBytes], [500, 80, 400]);
    assert.equal(done.backend, 'wasm');
    assert.throws(() => store.resumeRun('nope', {}), /no run with id "nope"/);
    store.close();
  });

  test('a running run whose process is gone, or that belongs to an earlier start of this pid, becomes interrupted', () => {
    const file = dbFile();
    const store = openStore(file);
    const dead = store.createRun({ name: 'dead', method: 'lora', config: {}, status: 'running', pid: deadPid() });
    store.recordCheckpoint(dead.id, { step: 10, path: '/ckpt/10', evalLoss: 3 });
    store.recordCheckpoint(dead.id, { step: 20, path: '/ckpt/20', evalLoss: 2.5, isBest: true });
    const ours = store.createRun({ name: 'ours', method: 'lora', config: {}, status: 'running' });
    const reused = store.createRun({ name: 'reused', method: 'lora', config: {}, status: 'running' });
    store.db.prepare("UPDATE runs SET owner = 'an earlier start' WHERE id = ?").run(reused.id);
    const alive = store.createRun({ name: 'alive', method: 'lora', config: {}, status: 'running', pid: process.ppid });
    store.close();

    const reopened = openStore(file);
    assert.equal(reopened.getRun(dead.id)?.status, 'interrupted');
    assert.equal(reopened.getRun(reused.id)?.status, 'interrupted');
    assert.equal(reopened.getRun(ours.id)?.status, 'running');
    assert.equal(reopened.getRun(alive.id)?.status, 'running');
    assert.equal(reopened.lastCheckpoint(dead.id)?.step, 20);
    assert.equal(reopened.lastCheckpoint(dead.id)?.path, '/ckpt/20');
    assert.deepEqual(reopened.markInterruptedRuns(), [], 'nothing left to mark');
    reopened.close();
  });

  test('deleteRun removes the rows of every table and the files the run recorded writing', () => {
    const store = openStore(dbFile());
    const out = path.join(root, `out${counter++}`);
    prepareRunFolder(out);
    recordRunEntry(out, 'checkpoint-10');
    fs.mkdirSync(path.join(out, 'checkpoint-10'));
    fs.writeFileSync(path.join(out, 'checkpoint-10', 'model.safetensors'), 'x');
    const run = store.createRun({ name: 'gone', method: 'lora', config: {}, outputDir: out, status: 'running' });
    const keep = store.createRun({ name: 'keep', method: 'lora', config: {} });
    for (const id of [run.id, keep.id]) {
      const w = store.metricsWriter(id);
      w.log(1, { loss: 3 });
      w.flush();
      store.recordCheckpoint(id, { step: 10, path: path.join(out, 'checkpoint-10') });
      store.recordSample(id, { step: 10, prompt: 'Once', output: 'upon a time' });
      store.tagRun(id, 'x');
    }
    assert.throws(() => store.deleteRun(run.id, { removeFiles: true }), /still running/);
    store.finishRun(run.id, { status: 'stopped' });
    store.deleteRun(run.id, { removeFiles: true });
    assert.equal(store.getRun(run.id), undefined);
    for (const t of ['metrics', 'checkpoints', 'samples', 'run_tags']) {
      const count = (id: string) => store.db.prepare(`SELECT count(*) FROM ${t} WHERE run_id = ?`).pluck().get(id);
      assert.equal(count(run.id), 0, t);
      assert.equal(count(keep.id), 1, t);
    }
    assert.ok(!fs.existsSync(out));
    assert.throws(() => store.deleteRun(run.id), /no run with id/);
    store.close();
  });

  test('chat sessions keep messages with their sampling settings and timings', () => {
    const store = openStore(dbFile());
    const id = store.createChatSession({ modelSource: 'gpt2', adapterPath: '/runs/a/final', sampling: { temperature: 0.7 } });
    store.addChatMessage(id, { role: 'user', text: 'hi' });
    store.addChatMessage(id, { role: 'assistant', text: 'hello', timings: { tokensPerSecond: 40 } });
    const s = store.getChatSession(id)!;
    assert.deepEqual(s.sampling, { temperature: 0.7 });
    assert.deepEqual(s.messages.map((m) => [m.role, m.text, m.timings]), [['user', 'hi', null], ['assistant', 'hello', { tokensPerSecond: 40 }]]);
    store.deleteChatSession(id);
    assert.equal(store.db.prepare('SELECT count(*) FROM chat_messages').pluck().get(), 0);
    store.close();
  });
});

describe('metrics', () => {
  test('a second connection reads committed steps while the writer inserts, and its snapshot stays stable', () => {
    const file = dbFile();
    const store = openStore(file);
    const run = store.createRun({ name: 'r', method: 'lora', config: {}, status: 'running' });
    const reader = new Database(file, { readonly: true });
    const count = reader.prepare('SELECT count(*) FROM metrics WHERE run_id = ?').pluck();
    const writer = store.metricsWriter(run.id);
    let seen = 0;
    for (let step = 1; step <= 50; step++) {
      writer.log(step, { loss: 1 / step, lr: 0.001 });
      writer.log(step, { grad_norm: step });
      assert.equal(writer.flush(), step);
      const n = count.get(run.id) as number;
      assert.equal(n, step * 3, 'every committed row is visible to the reader');
      assert.ok(n >= seen);
      seen = n;
    }
    reader.exec('BEGIN');
    assert.equal(count.get(run.id), 150);
    writer.log(51, { loss: 0.01 });
    writer.flush();
    assert.equal(count.get(run.id), 150, 'an open read transaction sees its snapshot');
    reader.exec('COMMIT');
    assert.equal(count.get(run.id), 151);
    reader.close();
    store.close();
  });

  test('logging a later step commits the earlier one; NaN is stored and left out of curves', () => {
    const store = openStore(dbFile());
    const run = store.createRun({ name: 'r', method: 'lora', config: {} });
    const w = store.metricsWriter(run.id);
    w.log(1, { loss: 2 }, 0.1);
    assert.equal(w.lastCommittedStep, null);
    w.log(2, { loss: Number.NaN });
    assert.equal(w.lastCommittedStep, 1);
    w.log(3, { loss: 1 });
    w.flush();
    assert.equal(store.db.prepare('SELECT count(*) FROM metrics').pluck().get(), 3);
    assert.deepEqual(store.runCurves(run.id), { loss: { steps: [1, 3], values: [2, 1] } });
    assert.deepEqual(store.lastMetricValues(run.id), { loss: 1 });
    store.close();
  });

  test('runCurves downsamples each metric to maxPoints', () => {
    const store = openStore(dbFile());
    const run = store.createRun({ name: 'r', method: 'lora', config: {} });
    const w = store.metricsWriter(run.id);
    for (let s = 0; s < 5000; s++) w.log(s, { loss: s === 1234 ? 100 : 5 - s / 1000, lr: 1 });
    w.flush();
    const curves = store.runCurves(run.id, { maxPoints: 200 });
    assert.deepEqual(Object.keys(curves).sort(), ['loss', 'lr']);
    assert.ok(curves.loss.steps.length <= 200);
    assert.equal(curves.loss.steps[0], 0);
    assert.equal(curves.loss.steps.at(-1), 4999);
    assert.ok(curves.loss.values.includes(100), 'the spike survives');
    store.close();
  });
});

describe('downsample', () => {
  const wave = (n: number): Point[] => Array.from({ length: n }, (_, i) => ({ step: i * 10, value: Math.sin(i / 7) + (i === 777 ? -50 : 0) + (i === 333 ? 40 : 0) }));

  test('short curves come back whole', () => {
    const pts = wave(10);
    assert.deepEqual(downsample(pts, 10), pts);
    assert.deepEqual(downsample([], 5), []);
  });

  for (const [n, max] of [[10000, 2000], [10000, 7], [1001, 1000], [5, 4], [100, 3], [100, 2]] as const) {
    test(`${n} points to at most ${max}: first, last, min and max kept, in order`, () => {
      const pts = wave(n);
      const out = downsample(pts, max);
      assert.ok(out.length <= max, `${out.length} > ${max}`);
      assert.equal(out[0], pts[0]);
      assert.equal(out.at(-1), pts.at(-1));
      for (let i = 1; i < out.length; i++) assert.ok(out[i].step > out[i - 1].step);
      if (max >= 4) {
        const min = Math.min(...pts.map((p) => p.value));
        const maxV = Math.max(...pts.map((p) => p.value));
        assert.ok(out.some((p) => p.value === min), 'global minimum kept');
        assert.ok(out.some((p) => p.value === maxV), 'global maximum kept');
      }
    });
  }

  test('maxPoints below 2 is an error', () => {
    assert.throws(() => downsample(wave(10), 1), /maxPoints must be/);
  });
});

describe('compareRuns', () => {
  test('aligns curves by step and tokens, shows config differences, final metrics and samples', () => {
    const store = openStore(dbFile());
    const base = { lr: 1e-4, lora: { r: 8, alpha: 16, targets: ['c_attn'] }, seed: 1 };
    const a = store.createRun({ name: 'a', method: 'lora', config: { ...base, output_dir: '/runs/a' } });
    const b = store.createRun({ name: 'b', method: 'lora', config: { ...base, lr: 3e-4, lora: { ...base.lora, alpha: 32 }, warmup: 10, output_dir: '/runs/b' } });
    const wa = store.metricsWriter(a.id);
    const wb = store.metricsWriter(b.id);
    for (let s = 1; s <= 4; s++) {
      wa.log(s * 10, { loss: 4 - s, tokens_seen: s * 1000 });
      wb.log(s * 5, { loss: 5 - s, tokens_seen: s * 1000 });
    }
    wa.flush();
    wb.flush();
    store.finishRun(a.id, { status: 'completed', finalMetrics: { eval_loss: 2 } });
    store.finishRun(b.id, { status: 'completed', finalMetrics: { eval_loss: 1.8, perplexity: 6 } });
    store.recordSample(a.id, { step: 10, prompt: 'Once', output: 'early' });
    store.recordSample(a.id, { step: 40, prompt: 'Once', output: 'late' });
    store.recordSample(b.id, { step: 20, prompt: 'Once', output: 'b says' });
    store.recordSample(b.id, { step: 20, prompt: 'Only b', output: 'x' });

    const c = store.compareRuns([a.id, b.id]);
    assert.deepEqual(c.runs.map((r) => r.name), ['a', 'b']);
    assert.deepEqual(c.config.differencesOnly.map((r) => r.key), ['lora.alpha', 'lr', 'warmup']);
    assert.deepEqual(c.config.differencesOnly.find((r) => r.key === 'warmup')?.values, [undefined, 10]);
    // Each run's own folder differs by construction; it stays in the full table only.
    assert.deepEqual(c.config.all.find((r) => r.key === 'output_dir')?.values, ['/runs/a', '/runs/b']);
    const same = c.config.all.filter((r) => !r.differs).map((r) => r.key);
    assert.deepEqual(same, ['lora.r', 'lora.targets', 'seed']);
    assert.ok(!c.config.differencesOnly.some((r) => same.includes(r.key)));

    assert.deepEqual(Object.keys(c.curves.byStep), ['loss'], 'tokens_seen is the x axis, not a curve');
    assert.deepEqual(c.curves.byStep.loss.x, [5, 10, 15, 20, 30, 40]);
    assert.deepEqual(c.curves.byStep.loss.values, [[null, 3, null, 2, 1, 0], [4, 3, 2, 1, null, null]]);
    assert.deepEqual(c.curves.byTokens.loss.x, [1000, 2000, 3000, 4000]);
    assert.deepEqual(c.curves.byTokens.loss.values, [[3, 2, 1, 0], [4, 3, 2, 1]]);

    assert.deepEqual(c.finalMetrics, [{ name: 'eval_loss', values: [2, 1.8] }, { name: 'perplexity', values: [null, 6] }]);
    assert.deepEqual(c.samples, [
      { prompt: 'Once', outputs: [{ step: 40, output: 'late' }, { step: 20, output: 'b says' }] },
      { prompt: 'Only b', outputs: [null, { step: 20, output: 'x' }] },
    ]);
    assert.throws(() => store.compareRuns([a.id]), /at least two/);
    assert.throws(() => store.compareRuns([a.id, 'nope']), /no run with id "nope"/);
    store.close();
  });
});
