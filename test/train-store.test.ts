// `tunesmith train` records every run in the experiment store: through to the end, when
// resumed, killed, stopped by a signal or failing; bloom-tiny keeps each run short.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { openStore, type ExperimentStore } from '../core/store/index';
import { BIN, CLI_ENV, fixture, REFERENCE, TEST_HOME, tempDir, trainEvents, tunesmith, writeTokenized, type ReferenceBatch } from './helpers';

type Event = Record<string, any> & { event: string };

function setup(t: { after: (fn: () => void) => void }, extra: Record<string, unknown> = {}, withValidation = false) {
  const dir = tempDir(t);
  const { batch } = (REFERENCE['bloom-tiny'] as unknown as { full_finetune: { batch: ReferenceBatch } }).full_finetune;
  const data = writeTokenized(path.join(dir, 'train.jsonl'), batch);
  const out = path.join(dir, 'run');
  const config = path.join(dir, 'config.json');
  fs.writeFileSync(config, JSON.stringify({
    model: fixture('bloom-tiny'),
    output_dir: out,
    method: 'full',
    data: { train: data, format: 'tokenized', ...(withValidation && { validation: data }) },
    per_device_train_batch_size: 2,
    learning_rate: 1e-3,
    logging_steps: 1,
    seed: 3,
    ...extra,
  }));
  return { dir, data, out, config, db: path.join(dir, 'store', 'tunesmith.db') };
}

function withStore<T>(file: string, fn: (store: ExperimentStore) => T): T {
  const store = openStore(file);
  try {
    return fn(store);
  } finally {
    store.close();
  }
}

const STEP_METRICS = ['loss', 'grad_norm', 'learning_rate', 'tokens_per_second', 'tokens_seen'] as const;

/** Every stored point of each step metric, to compare with the step events. */
function stepCurves(store: ExperimentStore, runId: string) {
  const curves = store.runCurves(runId, { names: [...STEP_METRICS] });
  return Object.fromEntries(STEP_METRICS.map((n) => [n, curves[n].steps.map((step, i) => [step, curves[n].values[i]])]));
}

function expectedCurves(events: Event[]) {
  const steps = events.filter((e) => e.event === 'step');
  return Object.fromEntries(STEP_METRICS.map((n) => [n, steps.map((e) => [e.step, e[n]])]));
}

/** `tunesmith train --json-events` in the background, for tests that kill it. */
function startTraining(args: string[]) {
  const child = spawn(process.execPath, [BIN, 'train', ...args, '--json-events'], { env: CLI_ENV, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const waiters: { step: number; resolve: () => void }[] = [];
  // Only complete lines count; the process may be killed in the middle of one.
  const events = () => stdout.split('\n').slice(0, -1).map((l) => JSON.parse(l) as Event);
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    const reached = Math.max(0, ...events().filter((e) => e.event === 'step').map((e) => e.step));
    for (const w of waiters.filter((w) => reached >= w.step)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  return {
    child,
    events,
    stderr: () => stderr,
    closed,
    stepReached: (step: number) =>
      Promise.race([
        new Promise<void>((resolve) => waiters.push({ step, resolve })),
        closed.then(() => Promise.reject(new Error(`training ended before step ${step}:\n${stderr}`))),
      ]),
  };
}

test('a finished run is in the store: step and eval metrics, checkpoints, samples, final metrics and peaks', (t) => {
  const s = setup(t, { num_train_epochs: 3, save_steps: 2, eval_steps: 2, sample_prompts: ['Human: hi'] }, true);
  const events = trainEvents('--config', s.config, '--store', s.db) as Event[];
  const start = events[0];
  const done = events.at(-1)!;
  const evals = events.filter((e) => e.event === 'eval');
  const checkpoints = events.filter((e) => e.event === 'checkpoint');
  const samples = events.filter((e) => e.event === 'sample');
  assert.ok(evals.length >= 2 && checkpoints.length >= 2 && samples.length >= 2, 'the config makes several of each');

  assert.ok(done.measured_peak_bytes > 0);
  // Weights, both Adam moments and the gradients of every trainable float32 are alive after a backward pass.
  assert.ok(done.measured_tensor_peak_bytes >= 16 * start.trainable_parameters, `${done.measured_tensor_peak_bytes} bytes`);
  assert.ok(done.measured_tensor_peak_bytes < done.measured_peak_bytes);
  // Runtime overhead dominates a tiny model; bench:memory checks the estimate's accuracy on real shapes.
  assert.equal(start.estimated_peak_bytes, done.estimated_peak_bytes, 'the same estimate at start and end');
  const ratio = done.estimated_peak_bytes / done.measured_peak_bytes;
  assert.ok(ratio > 0.5 && ratio < 2, `estimate ${done.estimated_peak_bytes} vs measured ${done.measured_peak_bytes}`);

  withStore(s.db, (store) => {
    const [run, ...others] = store.listRuns();
    assert.equal(others.length, 0);
    assert.equal(run.status, 'completed');
    assert.ok(run.pid !== null && run.pid !== process.pid, 'owned by the training process');
    assert.equal(run.backend, start.backend);
    assert.equal(run.method, 'full');
    assert.equal(run.model, fixture('bloom-tiny'));
    assert.equal(run.dataset, s.data);
    assert.equal(run.outputDir, s.out);
    assert.equal((run.config as { learning_rate: number }).learning_rate, 1e-3);
    assert.equal(run.measuredPeakBytes, done.measured_peak_bytes);
    assert.equal(run.measuredTensorPeakBytes, done.measured_tensor_peak_bytes);
    assert.equal(run.estimatedPeakBytes, done.estimated_peak_bytes);
    assert.equal(run.error, null);
    assert.deepEqual(run.finalMetrics, {
      train_loss: done.train_loss,
      steps: done.step,
      seconds: done.seconds,
      stopped_early: 0,
      eval_loss: done.eval_loss,
      perplexity: Math.exp(done.eval_loss),
      best_step: done.best_step,
      last_loss: done.last_loss,
      result_step: done.result_step,
    });

    assert.deepEqual(stepCurves(store, run.id), expectedCurves(events));
    // Compare's by-tokens axis: each step adds that step's non-padding tokens.
    const seen = stepCurves(store, run.id).tokens_seen.map(([, v]) => v);
    assert.ok(seen.every((v, i) => v > (seen[i - 1] ?? 0)), `tokens seen grow every step: ${seen}`);
    const curves = store.runCurves(run.id, { names: ['eval_loss', 'perplexity'] });
    assert.deepEqual(curves.eval_loss, { steps: evals.map((e) => e.step), values: evals.map((e) => e.eval_loss) });
    assert.deepEqual(curves.perplexity, { steps: evals.map((e) => e.step), values: evals.map((e) => e.perplexity) });
    const rows = store.db.prepare('SELECT count(*) FROM metrics WHERE run_id = ?').pluck().get(run.id);
    assert.equal(rows, STEP_METRICS.length * events.filter((e) => e.event === 'step').length + 2 * evals.length, 'nothing else, nothing twice');

    const lastBest = checkpoints.filter((c) => c.is_best).at(-1);
    assert.deepEqual(
      store.listCheckpoints(run.id).map((c) => ({ step: c.step, path: c.path, evalLoss: c.evalLoss, isBest: c.isBest })),
      checkpoints.map((c) => ({ step: c.step, path: c.path, evalLoss: c.eval_loss, isBest: c === lastBest })),
    );
    assert.deepEqual(store.listSamples(run.id).map(({ step, prompt, output }) => ({ step, prompt, output })), samples.map(({ step, prompt, output }) => ({ step, prompt, output })));

    const shown = tunesmith('runs', 'show', run.id, '--store', s.db);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, new RegExp(`backend\\s+${start.backend}`));
    assert.match(shown.stdout, new RegExp(`peak memory\\s+${Math.round(done.measured_peak_bytes / 2 ** 20)} MiB RSS`));
  });
});

test('a run killed with SIGKILL is interrupted on the next open; --resume continues the same row', async (t) => {
  const s = setup(t, { max_steps: 40, save_steps: 10 });
  const first = startTraining(['--config', s.config]);
  t.after(() => first.child.kill('SIGKILL'));
  // Past checkpoint-10 and a few committed steps, far from checkpoint-20: the resume repeats steps already stored.
  await first.stepReached(13);
  first.child.kill('SIGKILL');
  assert.equal((await first.closed).signal, 'SIGKILL');
  const db = path.join(TEST_HOME, 'tunesmith.db');

  const before = withStore(db, (store) => {
    const run = store.findRunByOutputDir(s.out)!;
    assert.equal(run.status, 'interrupted');
    const ckpt = store.lastCheckpoint(run.id)!;
    assert.equal(ckpt.step, 10);
    const stored = store.db.prepare("SELECT step FROM metrics WHERE run_id = ? AND name = 'loss' ORDER BY step").pluck().all(run.id) as number[];
    assert.ok(stored.length > ckpt.step, `steps after the checkpoint were committed too: ${stored.length}`);
    assert.deepEqual(stored, stored.map((_, i) => i + 1), 'steps stored without gaps');
    return { id: run.id, ckpt, rows: store.db.prepare('SELECT * FROM metrics WHERE run_id = ? ORDER BY step, name').all(run.id) as { step: number }[] };
  });

  const resumed = trainEvents('--resume', s.out) as Event[];
  assert.equal(resumed[0].resumed_from, path.join(s.out, `checkpoint-${before.ckpt.step}`));
  withStore(db, (store) => {
    const runs = store.listRuns().filter((r) => r.outputDir === s.out);
    assert.deepEqual(runs.map((r) => [r.id, r.status]), [[before.id, 'completed']]);
    const after = store.db.prepare('SELECT * FROM metrics WHERE run_id = ? ORDER BY step, name').all(before.id) as { step: number }[];
    assert.deepEqual(after.slice(0, before.rows.length), before.rows, 'what the first process stored is kept as it was');
    const loss = stepCurves(store, before.id).loss;
    assert.deepEqual(loss.map(([step]) => step), Array.from({ length: 40 }, (_, i) => i + 1), 'each step once');
    const lastKept = before.rows.at(-1)!.step;
    const fresh = expectedCurves(resumed.filter((e) => e.event !== 'step' || e.step > lastKept));
    for (const name of STEP_METRICS) assert.deepEqual(stepCurves(store, before.id)[name].filter(([step]) => step > lastKept), fresh[name], name);
    assert.equal(store.getRun(before.id)!.measuredPeakBytes, resumed.at(-1)!.measured_peak_bytes, 'the only process that measured one');
  });
});

test('SIGTERM stops the run between steps: status stopped, every reported step stored, a checkpoint there, exit code 143', async (t) => {
  const s = setup(t, { max_steps: 5000, save_steps: 0 });
  const run = startTraining(['--config', s.config, '--store', s.db]);
  t.after(() => run.child.kill('SIGKILL'));
  await run.stepReached(3);
  run.child.kill('SIGTERM');
  const { code } = await run.closed;
  assert.equal(code, 143, run.stderr());
  assert.match(run.stderr(), /training stopped by SIGTERM/);
  const events = run.events();
  const lastStep = events.filter((e) => e.event === 'step').at(-1)!.step;
  assert.ok(lastStep < 5000);
  assert.deepEqual(events.at(-1), { event: 'checkpoint', step: lastStep, path: path.join(s.out, `checkpoint-${lastStep}`), eval_loss: null, is_best: false }, 'saved where it stopped');
  withStore(s.db, (store) => {
    const [stored] = store.listRuns();
    assert.equal(stored.status, 'stopped');
    assert.equal(store.lastCheckpoint(stored.id)?.step, lastStep);
    assert.equal(events[0].event, 'start');
    assert.equal(stored.estimatedPeakBytes, events[0].estimated_peak_bytes, 'the estimate is kept from the start, with no done event');
    assert.ok(stored.endedAt);
    assert.deepEqual(stepCurves(store, stored.id), expectedCurves(events));
  });
});

test('a run that fails is failed with its error (a broken dataset, before it starts); an unusable output folder is refused before any run is recorded', (t) => {
  const s = setup(t, { max_steps: 4, save_steps: 2 });
  // A file where the output folder should be: found before anything loads (a full disk mid-run is test/robustness/disk-full.test.ts).
  fs.writeFileSync(s.out, 'in the way');
  const r = tunesmith('train', '--config', s.config, '--store', s.db, '--json-events');
  assert.equal(r.code, 1);
  assert.equal(r.stderr, `tunesmith: ${s.out}: output_dir exists and is not a folder\n`);
  assert.equal(r.stdout, '');
  withStore(s.db, (store) => assert.deepEqual(store.listRuns(), []));

  fs.rmSync(s.out);
  fs.appendFileSync(s.data, '{"input_ids": [1, 2\n');
  const broken = tunesmith('train', '--config', s.config, '--store', s.db, '--json-events');
  assert.equal(broken.code, 1);
  assert.equal(broken.stdout, '', 'no start event');
  withStore(s.db, (store) => {
    const run = store.listRuns({ sort: 'created' })[0];
    assert.equal(run.status, 'failed');
    assert.ok(run.error?.includes(s.data), run.error ?? '');
    assert.equal(`tunesmith: ${run.error}\n`, broken.stderr);
    assert.equal(run.backend, null, 'it never started');
  });
});

test('a store that is not SQLite stops training before it starts, naming the file, and is left as it was', (t) => {
  const s = setup(t, { max_steps: 2 });
  const bad = path.join(s.dir, 'not-a-store.db');
  fs.writeFileSync(bad, 'just some text, not a database\n'.repeat(10));
  const before = fs.readFileSync(bad);
  const r = tunesmith('train', '--config', s.config, '--store', bad, '--json-events');
  assert.equal(r.code, 1);
  assert.ok(r.stderr.includes(bad), r.stderr);
  assert.equal(r.stdout, '');
  assert.ok(!fs.existsSync(s.out), 'no output written');
  assert.deepEqual(fs.readFileSync(bad), before);
});
