// Every ready-made config in examples/ runs end to end: the same settings and the shipped
// sample data, with the tiny fixture models standing in for real GPT-2 / BLOOM, 2 steps,
// and small batches so the whole file stays fast.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { resolveTrainConfig } from '../core/train/config';
import { fixture, tempDir, trainEvents } from './helpers';

const ROOT = path.resolve(import.meta.dirname, '..');
const EXAMPLES = path.join(ROOT, 'examples');

interface Case {
  fixture: 'gpt2-tiny' | 'bloom-tiny';
  outputs: string[];
}

const FULL = ['model.safetensors', 'config.json'];
const LORA = ['adapter_model.safetensors', 'adapter_config.json'];

const CASES: Record<string, Case> = {
  'gpt2-wikitext.json': { fixture: 'gpt2-tiny', outputs: FULL },
  'gpt2-alpaca-lora.json': { fixture: 'gpt2-tiny', outputs: LORA },
  'bloom-zh-alpaca-full.json': { fixture: 'bloom-tiny', outputs: FULL },
  'gpt2-textfile-block128.json': { fixture: 'gpt2-tiny', outputs: FULL },
};

/** The fixture's context length: gpt2-tiny has 128 positions where GPT-2 has 1024; BLOOM (ALiBi) has no limit. */
function contextLimit(model: string): number {
  const config = JSON.parse(fs.readFileSync(path.join(fixture(model), 'config.json'), 'utf8')) as { n_positions?: number };
  return config.n_positions ?? Infinity;
}

type Json = Record<string, unknown>;
type Event = Json & { event: string };

/** The example config, made runnable on the fixture: every path absolute, the run short. */
function testConfig(name: string, c: Case, dir: string): Json {
  const raw = JSON.parse(fs.readFileSync(path.join(EXAMPLES, name), 'utf8')) as Json;
  const data = { ...(raw.data as Json) };
  for (const key of ['train', 'validation']) if (typeof data[key] === 'string') data[key] = path.resolve(EXAMPLES, data[key] as string);
  data.max_length = Math.min(data.max_length as number, contextLimit(c.fixture));
  const small = (key: string) => Math.min((raw[key] as number | undefined) ?? 1, 2);
  return {
    ...raw,
    model: fixture(c.fixture),
    output_dir: path.join(dir, 'run'),
    data,
    max_steps: 2,
    logging_steps: 1,
    per_device_train_batch_size: small('per_device_train_batch_size'),
    per_device_eval_batch_size: small('per_device_eval_batch_size'),
    gradient_accumulation_steps: small('gradient_accumulation_steps'),
  };
}

describe('examples/ configs', () => {
  test('every config in examples/ is valid and covered here', () => {
    const configs = fs.readdirSync(EXAMPLES).filter((f) => f.endsWith('.json')).sort();
    assert.deepEqual(configs, Object.keys(CASES).sort());
    for (const name of configs) {
      const raw = JSON.parse(fs.readFileSync(path.join(EXAMPLES, name), 'utf8'));
      const config = resolveTrainConfig(raw, name);
      assert.ok(fs.existsSync(path.resolve(EXAMPLES, config.data.train)), `${name}: ${config.data.train} is missing`);
    }
  });

  for (const [name, c] of Object.entries(CASES)) {
    test(`${name} trains on ${c.fixture}`, (t) => {
      const dir = tempDir(t);
      const config = testConfig(name, c, dir);
      const file = path.join(dir, name);
      fs.writeFileSync(file, JSON.stringify(config, null, 2));
      const events = trainEvents('--config', file) as Event[];

      const start = events.find((e) => e.event === 'start') as Event & { train: { examples: number }; method: string };
      assert.ok(start, 'no start event');
      assert.equal(start.method, (config.method as string | undefined) ?? 'lora');
      assert.ok(start.train.examples > 0, `no training examples: ${JSON.stringify(start.train)}`);

      const steps = events.filter((e) => e.event === 'step') as (Event & { step: number; loss: number })[];
      assert.deepEqual(steps.map((s) => s.step), [1, 2]);
      for (const s of steps) assert.ok(Number.isFinite(s.loss) && s.loss > 0, `step ${s.step} loss ${s.loss}`);

      const data = config.data as Json;
      if (data.validation || ((data.validation_split as number | undefined) ?? 0) > 0) {
        const evals = events.filter((e) => e.event === 'eval') as (Event & { eval_loss: number })[];
        assert.equal(evals.length, 1, 'one evaluation, at the end');
        assert.ok(Number.isFinite(evals[0].eval_loss), `eval loss ${evals[0].eval_loss}`);
      }

      const done = events.at(-1) as Event & { output_dir: string };
      assert.equal(done.event, 'done');
      for (const out of c.outputs) assert.ok(fs.existsSync(path.join(done.output_dir, out)), `${out} missing in ${done.output_dir}`);
    });
  }
});

describe('examples/hold-out.mjs', () => {
  test('splits a JSON file into train and test parts, by the seed', (t) => {
    const dir = tempDir(t);
    const rows = Array.from({ length: 20 }, (_, i) => ({ instruction: `q${i}`, input: '', output: `a${i}` }));
    const file = path.join(dir, 'data.json');
    fs.writeFileSync(file, JSON.stringify(rows));
    const split = () => {
      const r = spawnSync(process.execPath, [path.join(EXAMPLES, 'hold-out.mjs'), file, '--test', '0.1', '--seed', '7'], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      const read = (part: string) => JSON.parse(fs.readFileSync(path.join(dir, `data-${part}.json`), 'utf8')) as typeof rows;
      return { train: read('train'), test: read('test') };
    };
    const first = split();
    assert.equal(first.test.length, 2);
    assert.equal(first.train.length, 18);
    const key = (r: (typeof rows)[number]) => r.instruction;
    assert.deepEqual([...first.train, ...first.test].map(key).sort(), rows.map(key).sort());
    assert.deepEqual(split(), first);
  });
});
