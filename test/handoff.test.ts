// `tunesmith handoff` and `tunesmith import` without Python's ML packages: the generated
// script's syntax and arguments, the job's data against Tunesmith's own batches, refusals,
// and importing a real Trainer output (test/fixtures/hf-trainer-lora, see its README).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { listChatTargets, resolveChatTarget } from '../core/app/chat-targets';
import { padBatch } from '../core/data/batching';
import { IMPORTED_TAG, ImportError, importTrainerRun } from '../core/handoff/import-run';
import { CHECKED_WITH } from '../core/handoff/job-files';
import { HandoffRefusal, microBatchesOf, type EpochRow } from '../core/handoff/plan';
import { hubSnapshot, writeHandoffJob } from '../core/handoff/write-job';
import { openStore } from '../core/store/index';
import { TOKENS_METRIC } from '../core/store/compare';
import { resolveTrainConfig } from '../core/train/config';
import { fixture, tempDir, tunesmith, trainEvents } from './helpers';
import { parityConfig } from './handoff-harness';

const FIELDS = JSON.parse(fs.readFileSync(fixture('hf-fields.json'), 'utf8')) as { versions: Record<string, string>; TrainingArguments: string[]; LoraConfig: string[] };

const readJsonl = (file: string) => fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));

/** The `name=` keywords of the first `call(` … `)` block in the script, one per line as train-script writes them. */
function keywords(script: string, call: string): string[] {
  const start = script.indexOf(`${call}(\n`);
  assert.ok(start >= 0, `train.py has no ${call}( block`);
  const body = script.slice(start, script.indexOf('\n    )', start));
  return [...body.matchAll(/^\s+(\w+)=/gm)].map((m) => m[1]);
}

function pythonMissing(): string | null {
  const r = spawnSync('python3', ['--version']);
  return r.error || r.status !== 0 ? 'python3 is not installed' : null;
}

describe('handoff job', () => {
  for (const method of ['full', 'lora'] as const) {
    test(`${method}: train.py compiles and passes only arguments TrainingArguments/LoraConfig ${CHECKED_WITH.transformers}/${CHECKED_WITH.peft} know`, async (t) => {
      const dir = tempDir(t);
      const job = path.join(dir, 'job');
      await writeHandoffJob({ config: parityConfig(dir, 'gpt2-tiny', method, 4), out: job });
      const script = fs.readFileSync(path.join(job, 'train.py'), 'utf8');
      const trainingArgs = keywords(script, 'TrainingArguments');
      assert.ok(trainingArgs.includes('learning_rate') && trainingArgs.includes('gradient_accumulation_steps'));
      for (const name of trainingArgs) assert.ok(FIELDS.TrainingArguments.includes(name), `TrainingArguments has no "${name}"`);
      if (method === 'lora') {
        const loraArgs = keywords(script, 'LoraConfig');
        assert.ok(loraArgs.includes('lora_alpha'));
        for (const name of loraArgs) assert.ok(FIELDS.LoraConfig.includes(name), `LoraConfig has no "${name}"`);
        assert.ok(fs.existsSync(path.join(job, 'init_adapter', 'adapter_model.safetensors')), 'the initial adapter travels with the job');
      } else {
        assert.ok(!script.includes('LoraConfig('));
      }
      // The pins are the versions the field lists were read from.
      const pins = Object.fromEntries(fs.readFileSync(path.join(job, 'requirements.txt'), 'utf8').split('\n').filter((l) => l.includes('==')).map((l) => l.split('==')));
      assert.deepEqual(pins, FIELDS.versions);
      for (const f of ['README.md', 'ds_zero2.json', 'ds_zero3.json', 'job.json', 'model/config.json']) assert.ok(fs.existsSync(path.join(job, f)), f);
      assert.equal(JSON.parse(fs.readFileSync(path.join(job, 'ds_zero3.json'), 'utf8')).zero_optimization.stage, 3);
      const skip = pythonMissing();
      if (skip) return t.skip(skip);
      const compiled = spawnSync('python3', ['-m', 'py_compile', path.join(job, 'train.py')], { encoding: 'utf8' });
      assert.equal(compiled.status, 0, compiled.stderr);
    });
  }

  test("data files hold Tunesmith's own batches, step by step, in its shuffled order over epochs", async (t) => {
    const dir = tempDir(t);
    // 14 training rows, batches of 2, accumulation 2: 4 steps an epoch, the last of one micro-batch; 7 steps cross into epoch 2.
    const config = parityConfig(dir, 'gpt2-tiny', 'full', 7);
    const job = path.join(dir, 'job');
    await writeHandoffJob({ config, out: job });
    const rows = readJsonl(path.join(job, 'data', 'train.jsonl')) as EpochRow[];
    const configFile = path.join(dir, 'run.json');
    fs.writeFileSync(configFile, JSON.stringify(config));
    const events = trainEvents('--config', configFile);
    const start = events.find((e) => e.event === 'start');
    const steps = events.filter((e) => e.event === 'step');
    // Each epoch is the training set once, in an order of its own.
    const epochs = [...new Set(rows.map((r) => r.epoch))];
    assert.deepEqual(epochs, [0, 1]);
    const key = (r: { input_ids: number[]; labels: number[] }) => JSON.stringify([r.input_ids, r.labels]);
    const [first, second] = epochs.map((e) => rows.filter((r) => r.epoch === e));
    assert.equal(first.length, start.train.examples);
    assert.deepEqual(first.map(key).sort(), second.map(key).sort());
    assert.notDeepEqual(first.map(key), second.map(key), 'shuffle gives each epoch its own order');
    // The trainer's tokens per step (its padded batches' attention masks) from the job's rows grouped as Trainer groups them.
    const perEpoch = [first, second].map((epoch) => microBatchesOf(epoch, config.per_device_train_batch_size));
    const groups = perEpoch.flatMap((micro) => Array.from({ length: Math.ceil(micro.length / 2) }, (_, i) => micro.slice(2 * i, 2 * i + 2)));
    let seen = 0;
    const tokensSeen = groups.slice(0, steps.length).map((group) => (seen += group.reduce((n, b) => n + padBatch(b, 50256).attention_mask.flat().reduce((a, m) => a + m, 0), 0)));
    assert.deepEqual(tokensSeen, steps.map((e) => e.tokens_seen));
    // Validation rows as the trainer evaluates them.
    const validation = readJsonl(path.join(job, 'data', 'validation.jsonl'));
    assert.equal(validation.length, start.validation.examples);
    assert.equal(validation.reduce((n: number, r: { input_ids: number[] }) => n + r.input_ids.length, 0), start.validation.tokens);
    const job_ = JSON.parse(fs.readFileSync(path.join(job, 'job.json'), 'utf8'));
    assert.equal(job_.data.total_steps, steps.length);
    assert.deepEqual(job_.config, JSON.parse(JSON.stringify(config)));
  });

  test('refuses a folder that is not empty, and a model that is not a model folder, writing nothing', async (t) => {
    const dir = tempDir(t);
    const config = parityConfig(dir, 'gpt2-tiny', 'full', 4);
    const busy = path.join(dir, 'busy');
    fs.mkdirSync(busy);
    fs.writeFileSync(path.join(busy, 'notes.txt'), 'mine');
    await assert.rejects(writeHandoffJob({ config, out: busy }), (e: Error) => e instanceof HandoffRefusal && e.message.includes('not empty'));
    assert.deepEqual(fs.readdirSync(busy), ['notes.txt']);
    const out = path.join(dir, 'job');
    await assert.rejects(writeHandoffJob({ config: { ...config, model: dir }, out }), (e: Error) => e instanceof HandoffRefusal && e.message.includes('no config.json'));
    assert.equal(fs.existsSync(out), false);
    // The CLI says why, with its usage error code for a missing flag.
    const r = tunesmith('handoff', '--out', out);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--config FILE --out DIR/);
  });
});

/** The Trainer-made fixture, with job.json's relative model path pointed at this checkout's fixture. */
function importFixture(dir: string): string {
  const out = path.join(dir, 'hf-trainer-lora');
  fs.cpSync(fixture('hf-trainer-lora'), out, { recursive: true });
  const jobFile = path.join(out, 'job.json');
  const job = JSON.parse(fs.readFileSync(jobFile, 'utf8'));
  job.config.model = fixture('gpt2-tiny');
  fs.writeFileSync(jobFile, JSON.stringify(job));
  return out;
}

describe('import a Trainer run', () => {
  test("curves are trainer_state.json's values exactly; the run is completed, tagged, in Compare beside a local run and in the Playground", async (t) => {
    const dir = tempDir(t);
    const out = importFixture(dir);
    // Never unpickled: the import works the same with training_args.bin unreadable.
    fs.writeFileSync(path.join(out, 'final', 'training_args.bin'), 'not a pickle');
    const storeFile = path.join(dir, 'store.db');
    const local = parityConfig(dir, 'gpt2-tiny', 'lora', 2);
    const localFile = path.join(dir, 'local.json');
    fs.writeFileSync(localFile, JSON.stringify(local));
    trainEvents('--config', localFile, '--store', storeFile);

    const r = tunesmith('import', out, '--store', storeFile, '--json');
    assert.equal(r.code, 0, r.stderr);
    const imported = JSON.parse(r.stdout);
    const store = openStore(storeFile);
    t.after(() => store.close());
    const run = store.getRun(imported.id)!;
    assert.equal(run.status, 'completed');
    assert.deepEqual(run.tags, [IMPORTED_TAG]);
    assert.equal(run.backend, 'transformers');
    assert.equal(run.outputDir, out);

    const state = JSON.parse(fs.readFileSync(path.join(out, 'trainer_state.json'), 'utf8'));
    const logs = state.log_history.filter((h: Record<string, number>) => 'loss' in h);
    const evals = state.log_history.filter((h: Record<string, number>) => 'eval_loss' in h);
    const curves = store.runCurves(run.id);
    const expect = (entries: Record<string, number>[], key: string) => ({ steps: entries.map((h) => h.step), values: entries.map((h) => h[key]) });
    assert.deepEqual(curves.loss, expect(logs, 'loss'));
    assert.deepEqual(curves.grad_norm, expect(logs, 'grad_norm'));
    assert.deepEqual(curves.learning_rate, expect(logs, 'learning_rate'));
    assert.deepEqual(curves[TOKENS_METRIC], expect(logs, 'num_input_tokens_seen'));
    assert.deepEqual(curves.eval_loss, expect(evals, 'eval_loss'));
    const summary = state.log_history.at(-1);
    assert.equal(run.finalMetrics!.train_loss, summary.train_loss);
    assert.equal(run.finalMetrics!.steps, state.global_step);
    assert.equal(run.finalMetrics!.eval_loss, evals.at(-1).eval_loss);

    const localRun = store.listRuns().find((x) => x.id !== run.id)!;
    const cmp = store.compareRuns([localRun.id, run.id]);
    assert.deepEqual(cmp.curves.byStep.loss.values[1].filter((v) => v !== null), logs.map((h: Record<string, number>) => h.loss));
    assert.ok(cmp.curves.byStep.loss.values[0].some((v) => v !== null), 'the local run is in the comparison');
    assert.ok(cmp.curves.byTokens.loss.x.length > 0, 'both compare by tokens seen');

    const ctx = { store, modelDir: (s: string) => s };
    assert.ok(listChatTargets(ctx).some((x) => x.target.kind === 'run' && x.target.runId === run.id));
    const target = resolveChatTarget(ctx, { kind: 'run', runId: run.id });
    assert.deepEqual(target.files, { modelDir: fixture('gpt2-tiny'), adapterDir: path.join(out, 'final') });
  });

  test('bad output folders are refused with the file named, and nothing is recorded', async (t) => {
    const dir = tempDir(t);
    const store = openStore(path.join(dir, 'store.db'));
    t.after(() => store.close());
    await assert.rejects(importTrainerRun(store, { outputDir: dir }), (e: Error) => e instanceof ImportError && e.message.includes('trainer_state.json: not found'));

    const broken = importFixture(path.join(dir, 'a'));
    const stateFile = path.join(broken, 'trainer_state.json');
    const state = JSON.parse(fs.readFileSync(stateFile, 'utf8'));
    state.log_history[2].loss = 'high';
    fs.writeFileSync(stateFile, JSON.stringify(state));
    await assert.rejects(importTrainerRun(store, { outputDir: broken }), (e: Error) => e instanceof ImportError && e.message.includes('log_history[2]: "loss" must be a number'));

    // An adapter on a base model it does not fit.
    const mismatched = importFixture(path.join(dir, 'b'));
    const jobFile = path.join(mismatched, 'job.json');
    const job = JSON.parse(fs.readFileSync(jobFile, 'utf8'));
    job.config.model = fixture('bloom-tiny');
    fs.writeFileSync(jobFile, JSON.stringify(job));
    await assert.rejects(importTrainerRun(store, { outputDir: mismatched }), (e: Error) => e instanceof ImportError && e.message.includes('does not load as a LoRA adapter'));
    assert.deepEqual(store.listRuns(), []);
  });

  test('without job.json the config comes from the adapter folder', async (t) => {
    const dir = tempDir(t);
    const out = importFixture(dir);
    fs.rmSync(path.join(out, 'job.json'));
    const adapterFile = path.join(out, 'final', 'adapter_config.json');
    const adapter = JSON.parse(fs.readFileSync(adapterFile, 'utf8'));
    fs.writeFileSync(adapterFile, JSON.stringify({ ...adapter, base_model_name_or_path: fixture('gpt2-tiny') }));
    const store = openStore(path.join(dir, 'store.db'));
    t.after(() => store.close());
    const run = await importTrainerRun(store, { outputDir: out });
    const config = resolveTrainConfig(run.config);
    assert.equal(config.method, 'lora');
    assert.equal(config.model, fixture('gpt2-tiny'));
    assert.equal(config.max_steps, JSON.parse(fs.readFileSync(path.join(out, 'trainer_state.json'), 'utf8')).max_steps);
  });
});

test('a model in the Hugging Face cache is fetched on the GPU machine by its id and commit; other folders travel in the job', () => {
  const commit = 'a'.repeat(40);
  assert.deepEqual(hubSnapshot(`/home/me/.cache/huggingface/hub/models--bigscience--bloom-560m/snapshots/${commit}`), { id: 'bigscience/bloom-560m', revision: commit });
  assert.deepEqual(hubSnapshot(`/cache/models--gpt2/snapshots/${commit}/`), { id: 'gpt2', revision: commit });
  assert.equal(hubSnapshot(fixture('gpt2-tiny')), null);
  assert.equal(hubSnapshot('/cache/models--gpt2/snapshots/main'), null);
});
