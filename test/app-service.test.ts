// The app service's training half with real worker processes (core/app/node-launcher):
// runs stream events and land in the store, stop/resume/extend continue exactly where they
// should, the wizard's estimate and warmup, export, and shutdown. gpt2-tiny keeps runs short.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import type { ApiEvent, RunSummary, TrainConfigDraft } from '../core/api/contract';
import type { ProcessLauncher, WorkerProcess } from '../core/app/context';
import { nodeLauncher } from '../core/app/node-launcher';
import type { AppServiceHandle } from '../core/app/context';
import { createAppService } from '../core/app/service';
import { tf } from '../core/engine/backend';
import { modelConfigForEstimate } from '../core/memory/model-config';
import { estimateForTrainConfig } from '../core/memory/train-config';
import { loadAdapter } from '../core/models/lora';
import { loadModel } from '../core/models/load';
import { openStore } from '../core/store/index';
import { loadTokenizer } from '../core/tokenizer/tokenizer';
import { resolveTrainConfig, totalOptimizerSteps } from '../core/train/config';
import { eventLine } from '../core/train/event-lines';
import type { TrainEvent } from '../core/train/events';
import { loadTrainingData } from '../core/train/trainer';
import { failure, fixture, REFERENCE, tempDir } from './helpers';

const ALPACA = path.resolve(import.meta.dirname, '../examples/data/alpaca-train.json');
const MODEL = fixture('gpt2-tiny');

type Ctx = { after: (fn: () => void | Promise<void>) => void };

/** 18 examples, batch 4: five steps an epoch. */
function draft(extra: Partial<TrainConfigDraft> = {}): TrainConfigDraft {
  return {
    model: MODEL,
    data: { train: ALPACA, max_length: 64 },
    per_device_train_batch_size: 4,
    num_train_epochs: 1,
    learning_rate: 1e-3,
    logging_steps: 1,
    save_steps: 2,
    seed: 5,
    ...extra,
  };
}

interface Harness {
  home: string;
  handle: AppServiceHandle;
  service: AppServiceHandle['service'];
  events: ApiEvent[];
  /** The run's TrainEvents so far, in order. */
  trainEvents(runId: string): TrainEvent[];
  /** Resolves with the first run-status of the run that is not 'running'. */
  ended(runId: string): Promise<ApiEvent & { type: 'run-status' }>;
  /** Resolves once a run-status `status` of the run arrives after this call. */
  nextStatus(runId: string, status: string): Promise<void>;
  /** Resolves once the run has reported step `step` (or a later one). */
  stepReached(runId: string, step: number): Promise<void>;
}

function open(t: Ctx, home = tempDir(t), launcher: ProcessLauncher = nodeLauncher): Harness {
  const handle = createAppService({ home, host: 'web', versions: { node: process.versions.node }, launcher });
  let closed = false;
  const shutdown = handle.shutdown;
  handle.shutdown = () => {
    closed = true;
    return shutdown();
  };
  t.after(async () => {
    if (!closed) await handle.shutdown();
  });
  const events: ApiEvent[] = [];
  const waiters: { test: (e: ApiEvent) => boolean; resolve: (e: ApiEvent) => void }[] = [];
  handle.onEvent((e) => {
    events.push(e);
    for (const w of waiters.filter((w) => w.test(e))) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve(e);
    }
  });
  const waitFor = (test: (e: ApiEvent) => boolean, from = 0) => {
    const seen = events.slice(from).find(test);
    return seen ? Promise.resolve(seen) : new Promise<ApiEvent>((resolve) => waiters.push({ test, resolve }));
  };
  return {
    home,
    handle,
    service: handle.service,
    events,
    trainEvents: (runId) => events.flatMap((e) => (e.type === 'run-event' && e.runId === runId ? [e.event] : [])),
    ended: (runId) => waitFor((e) => e.type === 'run-status' && e.runId === runId && e.status !== 'running') as Promise<ApiEvent & { type: 'run-status' }>,
    nextStatus: async (runId, status) => {
      await waitFor((e) => e.type === 'run-status' && e.runId === runId && e.status === status, events.length);
    },
    stepReached: async (runId, step) => {
      await waitFor((e) => e.type === 'run-event' && e.runId === runId && e.event.event === 'step' && e.event.step >= step);
    },
  };
}

const steps = (events: TrainEvent[]) => events.flatMap((e) => (e.event === 'step' ? [e] : []));

test('a LoRA run and a full run train side by side: events stream, rows complete with curves, logs and exports', async (t) => {
  const h = open(t);
  const lora = await h.service.startRun({ name: 'lora run', config: draft() });
  const full = await h.service.startRun({ name: 'full run', config: draft({ method: 'full' }) });
  for (const run of [lora, full]) {
    assert.equal(run.status, 'running');
    assert.equal(run.outputDir, path.join(h.home, 'runs', run.id));
  }
  assert.deepEqual(await Promise.all([h.ended(lora.id), h.ended(full.id)]).then((s) => s.map((e) => [e.status, e.error])), [['completed', null], ['completed', null]]);

  for (const [run, method, exports] of [[lora, 'lora', ['peft', 'merged', 'gguf']], [full, 'full', ['hf', 'gguf']]] as const) {
    const events = h.trainEvents(run.id);
    assert.deepEqual([events[0].event, events.at(-1)!.event], ['start', 'done']);
    assert.equal(events[0].event === 'start' && events[0].method, method);
    const stepped = steps(events);
    assert.deepEqual(stepped.map((e) => e.step), [1, 2, 3, 4, 5]);

    const detail = await h.service.getRun({ runId: run.id });
    assert.equal(detail.run.status, 'completed');
    assert.equal(detail.run.name, run.name);
    assert.deepEqual(detail.curves.loss, { steps: stepped.map((e) => e.step), values: stepped.map((e) => e.loss) });
    assert.deepEqual(detail.checkpoints.map((c) => c.step), [2, 4, 5]);
    assert.deepEqual(detail.exports, exports);
    assert.equal(detail.live, null);
    // The log holds every event's line (and is the file the run page reads after a restart).
    const logged = detail.log.join('\n');
    for (const e of events) assert.ok(logged.includes(eventLine(e)), `log lacks: ${eventLine(e)}`);
    assert.deepEqual(
      h.events.flatMap((e) => (e.type === 'run-log' && e.runId === run.id ? [e.line] : [])),
      detail.log,
      'run-log events carried the same lines',
    );
  }
  const listed = await h.service.listRuns();
  assert.deepEqual(listed.map((r) => r.id).sort(), [lora.id, full.id].sort());
  const lastLoss = (r: RunSummary) => steps(h.trainEvents(r.id)).at(-1)!.loss;
  for (const r of listed) assert.equal(r.lastMetrics.loss, lastLoss(r));

  const comparison = await h.service.compareRuns({ runIds: [lora.id, full.id] });
  assert.deepEqual(comparison.config.differencesOnly.map((row) => row.key).filter((k) => k === 'method'), ['method']);
});

test('Stop leaves a checkpoint at the step reached; Resume continues from it to the end, each step once', async (t) => {
  const h = open(t);
  const run = await h.service.startRun({ name: 'stopped', config: draft({ num_train_epochs: 4, save_steps: 100 }) });
  await h.stepReached(run.id, 2);
  const live = (await h.service.getRun({ runId: run.id })).live!;
  assert.equal(live.totalSteps, 20);
  assert.ok(live.step >= 2 && live.etaSeconds !== null && live.etaSeconds > 0, JSON.stringify(live));
  const refused = await failure(h.service.deleteRun({ runId: run.id, removeFiles: true }));
  assert.equal(refused.field, 'runId');
  assert.match(refused.message, /stop it before deleting/);

  const stopping = h.nextStatus(run.id, 'stopped');
  await h.service.stopRun({ runId: run.id });
  await stopping;
  const stoppedAt = steps(h.trainEvents(run.id)).at(-1)!.step;
  assert.ok(stoppedAt < 20);
  const stopped = await h.service.getRun({ runId: run.id });
  assert.equal(stopped.run.status, 'stopped');
  assert.deepEqual(stopped.checkpoints.map((c) => c.step), [stoppedAt]);
  assert.equal(stopped.live, null);

  const before = h.trainEvents(run.id).length;
  const completed = h.nextStatus(run.id, 'completed');
  const resumed = await h.service.resumeRun({ runId: run.id });
  assert.equal(resumed.status, 'running');
  await completed;
  const second = h.trainEvents(run.id).slice(before);
  assert.ok(second[0].event === 'start' && second[0].resumed_from === path.join(run.outputDir!, `checkpoint-${stoppedAt}`));
  assert.deepEqual(steps(second).map((e) => e.step), Array.from({ length: 20 - stoppedAt }, (_, i) => stoppedAt + 1 + i));
  const detail = await h.service.getRun({ runId: run.id });
  assert.equal(detail.run.status, 'completed');
  assert.deepEqual(detail.curves.loss.steps, Array.from({ length: 20 }, (_, i) => i + 1));
  assert.ok(detail.log.some((l) => l.includes('resuming training')));
});

test('Extend trains a finished run for more epochs from its last checkpoint; refused while it is not finished', async (t) => {
  const h = open(t);
  const run = await h.service.startRun({ name: 'extended', config: draft() });
  const notYet = await failure(h.service.extendRun({ runId: run.id, extraEpochs: 1 }));
  assert.match(notYet.message, /only a finished run can be extended/);
  await h.ended(run.id);
  const bad = await failure(h.service.extendRun({ runId: run.id, extraEpochs: 0 }));
  assert.equal(bad.field, 'extraEpochs');

  const before = h.trainEvents(run.id).length;
  const completed = h.nextStatus(run.id, 'completed');
  await h.service.extendRun({ runId: run.id, extraEpochs: 1 });
  await completed;
  const more = h.trainEvents(run.id).slice(before);
  assert.ok(more[0].event === 'start' && more[0].resumed_from === path.join(run.outputDir!, 'checkpoint-5') && more[0].total_steps === 10);
  assert.deepEqual(steps(more).map((e) => e.step), [6, 7, 8, 9, 10]);
  const detail = await h.service.getRun({ runId: run.id });
  assert.equal(detail.run.status, 'completed');
  assert.equal((detail.run.config as { num_train_epochs: number }).num_train_epochs, 2);
  assert.deepEqual(detail.curves.loss.steps, Array.from({ length: 10 }, (_, i) => i + 1));
});

test('warmup times a few steps of the draft in a scratch process and records nothing; its failures name the field', async (t) => {
  const h = open(t);
  const config = draft({ num_train_epochs: 3 });
  const warm = await h.service.measureWarmup({ config });
  const resolved = resolveTrainConfig({ ...config, output_dir: h.home });
  const examples = loadTrainingData(resolved, loadTokenizer(MODEL)).train.length;
  assert.equal(warm.totalSteps, totalOptimizerSteps(resolved, examples));
  assert.ok(warm.secondsPerStep > 0 && warm.tokensPerSecond > 0, JSON.stringify(warm));
  assert.ok(Math.abs(warm.etaSeconds - warm.secondsPerStep * warm.totalSteps) < 1e-9);
  // A problem the trainer finds only in the data comes back naming the field.
  const long = path.join(tempDir(t), 'long.json');
  fs.writeFileSync(long, JSON.stringify([{ instruction: 'Write at length.', input: '', output: 'and so on '.repeat(100) }]));
  const tooLong = await failure(h.service.measureWarmup({ config: draft({ data: { train: long, max_length: 512 } }) }));
  assert.equal(tooLong.field, 'config.data.max_length');
  assert.match(tooLong.message, /only 128 positions/);
  assert.deepEqual(await h.service.listRuns(), []);
  assert.ok(!fs.existsSync(path.join(h.home, 'runs')), 'no run folder');
  assert.deepEqual(h.events, []);
});

test('estimate: the draft at its data\'s longest example; suggestions are patches that give their own estimate; bad fields named', async (t) => {
  const h = open(t);
  const dir = tempDir(t);
  const short = path.join(dir, 'short.json');
  fs.writeFileSync(short, JSON.stringify([{ instruction: 'Say hi.', input: '', output: 'Hi!' }, { instruction: 'Count to three.', input: '', output: '1, 2, 3' }]));
  const config = draft({ data: { train: short, max_length: 128 } });
  const view = await h.service.estimateMemory({ config });
  const resolved = resolveTrainConfig({ ...config, output_dir: dir });
  const longest = Math.max(...loadTrainingData(resolved, loadTokenizer(MODEL)).train.map((e) => e.input_ids.length));
  assert.ok(longest < 128);
  assert.equal(view.seq, longest);
  // Two examples: the batch of 4 holds two.
  assert.equal(view.batch, 2);
  const reference = estimateForTrainConfig({ ...resolved, per_device_train_batch_size: 2, data: { ...resolved.data, max_length: longest } }, modelConfigForEstimate(MODEL));
  assert.equal(view.totalBytes, reference.totalBytes);
  assert.equal(view.band, reference.band);
  assert.deepEqual(view.suggestions, []);

  // A batch larger than the data holds only the data: 8192 over 18 examples is a batch of 18.
  const examples = loadTrainingData(resolveTrainConfig({ ...draft(), output_dir: dir }), loadTokenizer(MODEL)).train.length;
  const capped = await h.service.estimateMemory({ config: draft({ method: 'full', per_device_train_batch_size: 8192 }) });
  assert.equal(capped.batch, examples);
  assert.equal(capped.totalBytes, (await h.service.estimateMemory({ config: draft({ method: 'full', per_device_train_batch_size: examples }) })).totalBytes);

  // Far too big a model (a 19B shape's config.json beside the tiny tokenizer): each
  // suggestion, applied to the draft, estimates what it promised.
  const giant = path.join(dir, 'giant');
  fs.cpSync(MODEL, giant, { recursive: true });
  const giantConfig = JSON.parse(fs.readFileSync(path.join(MODEL, 'config.json'), 'utf8'));
  fs.writeFileSync(path.join(giant, 'config.json'), JSON.stringify({ ...giantConfig, n_layer: 96, n_embd: 4096, n_head: 32, n_positions: 1024 }));
  const huge = draft({ model: giant, method: 'full', per_device_train_batch_size: 8, data: { train: ALPACA, max_length: 128 } });
  const tooBig = await h.service.estimateMemory({ config: huge });
  assert.equal(tooBig.band, 'exceeds');
  assert.ok(tooBig.suggestions.length > 0);
  for (const s of tooBig.suggestions) {
    const patched = structuredClone(huge) as Record<string, any>;
    for (const [key, value] of Object.entries(s.patch)) {
      assert.ok(['method', 'per_device_train_batch_size', 'gradient_accumulation_steps', 'data.max_length'].includes(key), key);
      if (key === 'data.max_length') patched.data.max_length = value;
      else patched[key] = value;
    }
    assert.equal((await h.service.estimateMemory({ config: patched as TrainConfigDraft })).totalBytes, s.totalBytes, s.change);
  }

  const cases: [Partial<TrainConfigDraft>, string, RegExp][] = [
    [{ lora: { r: 0 } }, 'config.lora.r', /"lora\.r" must be a whole number > 0/],
    [{ per_device_train_batch_size: 2.5 }, 'config.per_device_train_batch_size', /whole number/],
    [{ warmup_ratio: 2 }, 'config.warmup_ratio', /\[0, 1\)/],
    [{ data: { train: 'relative.json' } }, 'config.data.train', /not an absolute path/],
    [{ data: { train: path.join(dir, 'missing.json') } }, 'config.data.train', /no such file/],
    [{ model: path.join(dir, 'no-model') }, 'config.model', /no such folder/],
    // A Hub id that is not in the download cache (an id no cache holds).
    [{ model: 'tunesmith-tests/never-downloaded' }, 'config.model', /not downloaded yet/],
  ];
  for (const [change, field, message] of cases) {
    const info = await failure(h.service.estimateMemory({ config: draft(change) }));
    assert.equal(info.field, field, info.message);
    assert.match(info.message, message);
  }
  const unknown = await failure(h.service.estimateMemory({ config: { ...draft(), lora_rank: 4 } as TrainConfigDraft }));
  assert.equal(unknown.field, 'config.lora_rank');
});

test('checkRun reports the pre-flight issues on the real model and data; startRun refuses an error with its field and records nothing', async (t) => {
  const h = open(t);
  const examples = loadTrainingData(resolveTrainConfig({ ...draft(), output_dir: h.home }), loadTokenizer(MODEL)).train.length;
  const check = await h.service.checkRun({ config: draft({ per_device_train_batch_size: 4096, learning_rate: 5, lora: { target_modules: ['foo_proj'] } }) });
  assert.equal(check.examples, examples);
  assert.equal(check.batch, examples);
  assert.deepEqual(
    check.issues.map((i) => [i.severity, i.field]),
    [
      ['error', 'lora.target_modules'],
      ['warning', 'per_device_train_batch_size'],
      ['warning', 'learning_rate'],
    ],
  );
  assert.deepEqual((await h.service.checkRun({ config: draft() })).issues, []);
  const refused = await failure(h.service.startRun({ name: 'bad targets', config: draft({ lora: { target_modules: ['foo_proj'] } }) }));
  assert.equal(refused.field, 'config.lora.target_modules');
  assert.match(refused.message, /no module "foo_proj"; it has c_attn, c_proj, c_fc/);
  const tooLong = await failure(h.service.startRun({ name: 'too long', config: draft({ data: { train: ALPACA, max_length: 512 } }) }));
  assert.equal(tooLong.field, 'config.data.max_length');
  assert.deepEqual(await h.service.listRuns(), []);
  assert.deepEqual(h.events, []);
});

test('export writes folders that load: the adapter, the merged model, the full model; bad requests are refused', async (t) => {
  const { launcher, alive, launches } = countingLauncher();
  const h = open(t, tempDir(t), launcher);
  const dir = tempDir(t);
  const lora = await h.service.startRun({ name: 'lora', config: draft() });
  const full = await h.service.startRun({ name: 'full', config: draft({ method: 'full' }) });
  await Promise.all([h.ended(lora.id), h.ended(full.id)]);

  const trainingLaunches = launches();
  const peft = await h.service.exportRun({ runId: lora.id, kind: 'peft', destination: path.join(dir, 'peft') });
  assert.equal(launches(), trainingLaunches, 'copying the adapter needs no worker');
  const merged = await h.service.exportRun({ runId: lora.id, kind: 'merged', destination: path.join(dir, 'merged') });
  assert.equal(launches(), trainingLaunches + 1, 'the merge ran in a worker');
  const hf = await h.service.exportRun({ runId: full.id, kind: 'hf', destination: path.join(dir, 'hf') });
  assert.equal(launches(), trainingLaunches + 1, 'copying the full model needs no worker');
  assert.equal(peft.path, path.join(dir, 'peft'));

  // The merged model computes what the base model with the exported adapter computes.
  const ids = REFERENCE['gpt2-tiny'].forward.input_ids;
  const { model: base } = loadModel(MODEL);
  const adapter = loadAdapter(peft.path, base);
  const { model: folded } = loadModel(merged.path);
  const logits = (m: typeof base, opts = {}) => tf.tidy(() => m.forward(tf.tensor2d([ids], undefined, 'int32'), opts).logits.dataSync() as Float32Array);
  const withAdapter = logits(base, { lora: adapter.layers });
  const viaMerge = logits(folded);
  const plain = logits(base);
  const diff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
  assert.ok(diff(withAdapter, plain) > 1e-4, 'the adapter changes the logits');
  assert.ok(diff(withAdapter, viaMerge) < 1e-4, `merged differs by ${diff(withAdapter, viaMerge)}`);
  const { model: fullModel } = loadModel(hf.path);
  assert.ok(diff(logits(fullModel), plain) > 1e-4, 'the full run changed the weights');
  for (const m of [base, folded, fullModel]) m.dispose();

  // A run whose folder has no result, as one that failed before finishing.
  const unfinished = { id: 'unfinished', outputDir: tempDir(t) };
  const store = openStore(path.join(h.home, 'tunesmith.db'));
  store.createRun({ id: unfinished.id, name: 'unfinished', method: 'lora', config: {}, model: { source: MODEL }, outputDir: unfinished.outputDir });
  store.finishRun(unfinished.id, { status: 'failed', error: 'stopped short' });
  store.close();
  const aFile = path.join(dir, 'a-file');
  fs.writeFileSync(aFile, '');

  const refusals: [Parameters<typeof h.service.exportRun>[0], string, RegExp][] = [
    [{ runId: lora.id, kind: 'peft', destination: peft.path }, 'destination', /already exists and is not an empty folder/],
    [{ runId: lora.id, kind: 'peft', destination: aFile }, 'destination', /already exists and is not an empty folder/],
    [{ runId: unfinished.id, kind: 'peft', destination: path.join(dir, 'x') }, 'runId', /final: not found; has the run finished\?/],
    [{ runId: lora.id, kind: 'hf', destination: path.join(dir, 'x') }, 'kind', /exports as peft, merged or gguf, not hf/],
    [{ runId: full.id, kind: 'peft', destination: path.join(dir, 'x') }, 'kind', /exports as hf or gguf, not peft/],
    [{ runId: lora.id, kind: 'peft', destination: 'relative' }, 'destination', /not an absolute path/],
    [{ runId: lora.id, kind: 'peft', destination: path.join(dir, 'no', 'such', 'parent') }, 'destination', /no such folder/],
    [{ runId: 'nope', kind: 'peft', destination: path.join(dir, 'x') }, 'runId', /no run with id "nope"/],
  ];
  for (const [req, field, message] of refusals) {
    const info = await failure(h.service.exportRun(req));
    assert.equal(info.field, field, info.message);
    assert.match(info.message, message);
  }
  assert.ok(!fs.existsSync(path.join(dir, 'x')));
  assert.equal(launches(), trainingLaunches + 1, 'refusals are found before any worker starts');
  // A failure inside the export worker comes back with its message.
  const adapterConfig = path.join(lora.outputDir!, 'final', 'adapter_config.json');
  const missingBase = path.join(dir, 'moved-away');
  fs.writeFileSync(adapterConfig, JSON.stringify({ ...JSON.parse(fs.readFileSync(adapterConfig, 'utf8')), base_model_name_or_path: missingBase }));
  const noBase = await failure(h.service.exportRun({ runId: lora.id, kind: 'merged', destination: path.join(dir, 'x') }));
  assert.equal(noBase.message, `${adapterConfig}: base model folder "${missingBase}" not found`);
  assert.equal(launches(), trainingLaunches + 2);
  assert.equal(alive.size, 0, 'the export workers exited');

  await h.service.deleteRun({ runId: unfinished.id, removeFiles: false });
  await h.service.deleteRun({ runId: full.id, removeFiles: true });
  assert.ok(!fs.existsSync(full.outputDir!));
  assert.deepEqual((await h.service.listRuns()).map((r) => r.id), [lora.id]);
});

test('shutdown stops a training run with a checkpoint; a new service resumes it from there', async (t) => {
  const home = tempDir(t);
  const first = open(t, home);
  const run = await first.service.startRun({ name: 'across restarts', config: draft({ num_train_epochs: 40, save_steps: 1000 }) });
  await first.stepReached(run.id, 3);
  await first.handle.shutdown();
  const reached = steps(first.trainEvents(run.id)).at(-1)!.step;
  assert.equal(first.trainEvents(run.id).at(-1)!.event, 'checkpoint');
  const store = openStore(path.join(home, 'tunesmith.db'));
  try {
    assert.equal(store.getRun(run.id)!.status, 'stopped');
    assert.equal(store.lastCheckpoint(run.id)!.step, reached);
  } finally {
    store.close();
  }

  const second = open(t, home);
  const logBefore = (await second.service.getRun({ runId: run.id })).log;
  assert.ok(logBefore.some((l) => l.includes(`step ${reached}: checkpoint saved`)), 'the log survives the restart');
  await second.service.resumeRun({ runId: run.id });
  await second.stepReached(run.id, reached + 1);
  const resumed = second.trainEvents(run.id);
  assert.ok(resumed[0].event === 'start' && resumed[0].resumed_from === path.join(run.outputDir!, `checkpoint-${reached}`));
  assert.equal(steps(resumed)[0].step, reached + 1);
});

test('a worker killed from outside leaves its run interrupted (resumable), with the signal and the end of its stderr in the error', async (t) => {
  // Workers that say something on stderr as they start, as a crashing engine would before dying.
  const NOTE = 'worker note on stderr';
  const noisy: ProcessLauncher = (name, env) =>
    nodeLauncher(name, { ...env, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import data:text/javascript,console.error(${encodeURIComponent(JSON.stringify(NOTE))})` });
  const h = open(t, tempDir(t), noisy);
  const run = await h.service.startRun({ name: 'doomed', config: draft({ num_train_epochs: 40, save_steps: 1000 }) });
  await h.stepReached(run.id, 1);
  const store = openStore(path.join(h.home, 'tunesmith.db'));
  const pid = store.getRun(run.id)!.pid!;
  store.close();
  assert.notEqual(pid, process.pid, 'the worker owns the running row');
  process.kill(pid, 'SIGKILL');
  const ended = await h.ended(run.id);
  assert.equal(ended.status, 'interrupted');
  assert.equal(ended.error!.split('\n')[0], 'the training process was killed (SIGKILL); resume the run to continue from its last checkpoint');
  assert.ok(ended.error!.split('\n').slice(1).includes(NOTE), ended.error!);
  const detail = await h.service.getRun({ runId: run.id });
  assert.equal(detail.run.error, ended.error);
  assert.deepEqual(detail.log.slice(-ended.error!.split('\n').length), `interrupted: ${ended.error}`.split('\n'), 'the log ends with why');
});

test('a run that cannot start (damaged settings.json) is left failed with the error, so it can be resumed or deleted', async (t) => {
  const h = open(t);
  fs.writeFileSync(path.join(h.home, 'settings.json'), JSON.stringify({ backend: 'gpu' }));
  const refused = await failure(h.service.startRun({ name: 'unlaunchable', config: draft() }));
  assert.match(refused.message, /settings\.json: "backend" must be one of/);
  const [run] = await h.service.listRuns();
  assert.equal(run.status, 'failed');
  assert.equal(run.error, refused.message);
  assert.equal((await h.ended(run.id)).error, refused.message);
  // Resume tries again rather than calling it already training, and fails the same way.
  assert.equal((await failure(h.service.resumeRun({ runId: run.id }))).message, refused.message);
  assert.equal((await h.service.getRun({ runId: run.id })).run.status, 'failed');
  await h.service.deleteRun({ runId: run.id, removeFiles: true });
  assert.deepEqual(await h.service.listRuns(), []);
});

/** nodeLauncher, counting the workers it started and keeping those that have not exited yet. */
function countingLauncher() {
  const alive = new Set<WorkerProcess>();
  let launched = 0;
  const launcher: ProcessLauncher = (name, env) => {
    const worker = nodeLauncher(name, env);
    launched++;
    alive.add(worker);
    worker.onExit(() => alive.delete(worker));
    return worker;
  };
  return { launcher, alive, launches: () => launched };
}

test('a new warm-up cancels the one before it, and starting a run cancels any warm-up', async (t) => {
  const { launcher, alive } = countingLauncher();
  const h = open(t, tempDir(t), launcher);
  const first = h.service.measureWarmup({ config: draft() });
  const second = h.service.measureWarmup({ config: draft({ num_train_epochs: 2 }) });
  assert.equal((await failure(first)).message, 'superseded');
  assert.equal(alive.size, 1, 'only the newer warm-up runs');
  assert.ok((await second).secondsPerStep > 0);
  assert.equal(alive.size, 0);

  const third = h.service.measureWarmup({ config: draft() });
  const run = await h.service.startRun({ name: 'run', config: draft() });
  assert.match((await failure(third)).message, /warm-up cancelled: a run started/);
  assert.equal(alive.size, 1, 'only the run\'s worker');
  assert.equal((await h.ended(run.id)).status, 'completed');
});
