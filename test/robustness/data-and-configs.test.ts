// Audit group 2 (training configs and data) and the renderer-nameable paths of group 4:
// each bad input built on the fly, refused with the file, key or line named, and nothing
// trained or written where it should not be.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import type { DataPreviewRequest } from '../../core/api/contract';
import { errorInfo } from '../../core/api/errors';
import { createDataMethods } from '../../core/app/data-methods';
import { loadDataset } from '../../core/data/dataset';
import { openStore } from '../../core/store/index';
import { loadTokenizer } from '../../core/tokenizer/tokenizer';
import { fixture, tempDir } from '../helpers';
import { alpacaJsonl, assertRefused, baseConfig, cli, EXAMPLES, spawnCli, writeConfig } from './cases';

type Ctx = { after: (fn: () => void) => void };

/** `train` with the base config changed by `change` (a raw text replaces the whole config). */
async function train(t: Ctx, change: Record<string, unknown> | ((dir: string) => Record<string, unknown> | string)) {
  const dir = tempDir(t);
  const out = path.join(dir, 'run');
  const config = typeof change === 'function' ? change(dir) : baseConfig(dir, out, change);
  const file = writeConfig(dir, 'cfg.json', typeof config === 'string' ? config : { output_dir: out, ...config });
  const store = path.join(dir, 'store.db');
  const r = await cli('train', '--config', file, '--store', store, '--json-events');
  return { ...r, dir, file, out };
}

test('2.1–2.9, 2.25 config errors name the key, before any run is recorded', async (t) => {
  const cases: [Record<string, unknown> | ((dir: string) => string), RegExp | string][] = [
    [() => '{"model": "x", oops', /cfg\.json: not valid JSON \(Expected double-quoted property name .*position 15/],
    [{ learning_rat: 0.001 }, 'unknown key "learning_rat"'],
    [{ lora: { rank: 4 } }, 'unknown key "lora.rank"'],
    [{ learning_rate: '1e-3' }, '"learning_rate" must be a number > 0 (got "1e-3")'],
    [{ per_device_train_batch_size: -2 }, '"per_device_train_batch_size" must be a whole number > 0 (got -2)'],
    [{ per_device_train_batch_size: 0 }, '"per_device_train_batch_size" must be a whole number > 0 (got 0)'],
    [{ lora: { r: 0 } }, '"lora.r" must be a whole number > 0 (got 0)'],
  ];
  for (const [change, message] of cases) {
    const r = await train(t, change as never);
    assertRefused(r, typeof message === 'string' ? `${r.file}: ${message}` : message);
    assert.ok(!fs.existsSync(r.out), 'nothing written');
  }
  // 2.7: 1e999 parses to Infinity; JSON.stringify would show it as null.
  const huge = await train(t, (dir) => JSON.stringify(baseConfig(dir, path.join(dir, 'run'))).replace('"learning_rate":0.001', '"learning_rate":1e999'));
  assertRefused(huge, `${huge.file}: "learning_rate" must be a finite number > 0 (got Infinity)`);
  const nan = await train(t, (dir) => JSON.stringify(baseConfig(dir, path.join(dir, 'run'))).replace('"learning_rate":0.001', '"learning_rate":NaN'));
  assertRefused(nan, /cfg\.json: not valid JSON \(Unexpected token 'N'/);
  const zero = await train(t, (dir) => ({ ...baseConfig(dir, path.join(dir, 'run')), data: { train: alpacaJsonl(dir), max_length: 0 } }));
  assertRefused(zero, `${zero.file}: "data.max_length" must be a whole number > 0 (got 0)`);
});

test('2.19 latin-1 data is refused with the file, line and byte offset, in training and in the preview', async (t) => {
  const r = await train(t, (dir) => {
    fs.writeFileSync(path.join(dir, 'latin1.txt'), Buffer.from('Café crème brûlée naïve résumé façade.\nSecond line à la carte.\n', 'latin1'));
    return { ...baseConfig(dir, path.join(dir, 'run')), data: { train: path.join(dir, 'latin1.txt'), max_length: 32 } };
  });
  const file = path.join(r.dir, 'latin1.txt');
  assertRefused(r, `${file}:1: not valid UTF-8 (byte 0xE9 at offset 3); re-save the file as UTF-8`);
  assert.ok(!fs.existsSync(path.join(r.out, 'final')));
  const s = openStore(path.join(r.dir, 'store.db'));
  assert.deepEqual(s.listRuns().map((x) => x.status), ['failed']);
  s.close();
  // A bad byte on a later line, after a BOM (which is allowed).
  const before = Buffer.from('\uFEFFgood line\nsecond ', 'utf8');
  fs.writeFileSync(file, Buffer.concat([before, Buffer.from([0xff]), Buffer.from('\n')]));
  const preview = await createDataMethods({ home: tempDir(t), modelDir: (s) => s }).previewData(previewOf(file));
  assert.deepEqual(preview.problem, { message: `${file}:2: not valid UTF-8 (byte 0xFF at offset ${before.length}); re-save the file as UTF-8` });
  assert.deepEqual(preview.examples, []);
});

function previewOf(file: string, over: Partial<DataPreviewRequest> = {}): DataPreviewRequest {
  return { path: file, model: fixture('gpt2-tiny'), format: 'text', template: 'human_assistant', maxLength: 100000, trainOnPrompt: false, packing: false, ...over };
}

test('2.27 a token id outside the vocabulary is refused while reading, with file and line', async (t) => {
  const r = await train(t, (dir) => {
    fs.writeFileSync(path.join(dir, 'tok_oov.jsonl'), '{"input_ids":[1,2,3,99999999,5,6]}\n{"input_ids":[7,8,9,10]}\n');
    return { ...baseConfig(dir, path.join(dir, 'run')), data: { train: path.join(dir, 'tok_oov.jsonl'), max_length: 32 } };
  });
  assertRefused(r, `${path.join(r.dir, 'tok_oov.jsonl')}:1: input_ids[3] is not a valid token id (got 99999999; the model has 50257)`);
  const labels = await train(t, (dir) => {
    fs.writeFileSync(path.join(dir, 'tok.jsonl'), '{"input_ids":[1,2],"labels":[-100,2]}\n{"input_ids":[7,8],"labels":[7,50257]}\n');
    return { ...baseConfig(dir, path.join(dir, 'run')), data: { train: path.join(dir, 'tok.jsonl'), max_length: 32 } };
  });
  assertRefused(labels, `${path.join(labels.dir, 'tok.jsonl')}:2: labels[1] is not a valid token id (got 50257; the model has 50257)`);
});

test('2.12–2.18 missing, empty and broken data files name the file and the row', async (t) => {
  const rows = JSON.parse(fs.readFileSync(path.join(EXAMPLES, 'alpaca-train.json'), 'utf8')) as Record<string, string>[];
  const cases: [string, string | Buffer, (file: string) => string | RegExp][] = [
    ['nope.jsonl', '', (f) => `${f}: file not found`],
    ['empty.jsonl', '', (f) => `${f}: the file is empty`],
    ['blank.txt', '\n\n   \n\t\n\n', (f) => `${f}: the file is empty`],
    ['blank.jsonl', '\n\n   \n\n', (f) => `${f}: the file is empty`],
    [
      'broken.jsonl',
      rows.map((r, i) => (i === 9 ? '{"instruction": "List four renewable sou' : JSON.stringify(r))).join('\n'),
      (f) => new RegExp(`^${f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:10: not valid JSON \\(Unterminated string`),
    ],
    ['items.json', JSON.stringify(rows.map((r, i) => (i === 7 ? { ...r, output: undefined } : r))), () => /item 8: field "output" is missing/],
    ['rows.csv', 'instruction,input,output\nSay hi,,Hi there\nCount,"1,2",3,EXTRA,MORE\nShort only\n', () => /row 3 has 5 columns, the header has 3/],
  ];
  for (const [name, content, message] of cases) {
    const r = await train(t, (dir) => {
      if (name !== 'nope.jsonl') fs.writeFileSync(path.join(dir, name), content);
      return { ...baseConfig(dir, path.join(dir, 'run')), data: { train: path.join(dir, name), max_length: 32 } };
    });
    assertRefused(r, message(path.join(r.dir, name)));
    assert.ok(!fs.existsSync(path.join(r.out, 'final')));
  }
});

test('2.11 examples longer than the model\'s positions, 2.24 targets the model lacks, 2.26 an adapter of another architecture', async (t) => {
  const long = await train(t, (dir) => {
    const rows = [{ instruction: 'Repeat', input: '', output: 'word '.repeat(300) }, { instruction: 'Hi', input: '', output: 'Hello' }];
    fs.writeFileSync(path.join(dir, 'long.jsonl'), rows.map((r) => JSON.stringify(r)).join('\n'));
    return { ...baseConfig(dir, path.join(dir, 'run')), data: { train: path.join(dir, 'long.jsonl'), max_length: 256 } };
  });
  assertRefused(long, /"data\.max_length" is 256, .* but this model has only 128 positions; use 128 or less/);
  assertRefused(await train(t, { lora: { target_modules: ['q_proj'] } }), /match no projection of this gpt2 model \(choose from c_attn, c_proj, c_fc\)/);
  const adapter = await train(t, { lora: { init_adapter: fixture('bloom-tiny-lora-init') } });
  assertRefused(adapter, `${path.join(fixture('bloom-tiny-lora-init'), 'adapter_config.json')}: this adapter was trained on a bloom model (it targets query_key_value), but the base model is gpt2 (c_attn, c_proj, c_fc)`);
});

test('non-finite weights are refused when loading for training, naming the tensor', async (t) => {
  const dir = tempDir(t);
  const model = path.join(dir, 'gpt2-nan');
  fs.cpSync(fixture('gpt2-tiny'), model, { recursive: true });
  const file = path.join(model, 'model.safetensors');
  const bytes = fs.readFileSync(file);
  const n = Number(bytes.readBigUInt64LE(0));
  const entry = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8'))['transformer.h.1.ln_2.weight'];
  bytes.writeFloatLE(NaN, 8 + n + entry.data_offsets[0] + 4 * 5);
  fs.writeFileSync(file, bytes);
  const r = await train(t, (d) => ({ ...baseConfig(d, path.join(d, 'run')), model }));
  assertRefused(r, `${model}: weight "transformer.h.1.ln_2.weight" holds a non-finite value (NaN at element 5); these weights cannot be trained`);
});

test('2.10 a max_length far above every example trains', async (t) => {
  const big = await train(t, (dir) => ({ ...baseConfig(dir, path.join(dir, 'run')), max_steps: 1, data: { train: alpacaJsonl(dir), max_length: 100000 } }));
  assert.equal(big.code, 0, big.stderr);
  const start = JSON.parse(big.stdout.split('\n')[0]);
  assert.deepEqual([start.train.examples, start.train.truncated], [18, 0]);
});

test('4.14/4.16 previewData reads only regular files of the user\'s: no /etc, /proc (environ with HF_TOKEN), /sys, /dev, pipes or links into them', { skip: process.platform !== 'linux' && 'the paths are Linux ones' }, async (t) => {
  const dir = tempDir(t);
  const secret = 'hf_FAKE_TEST_VALUE_0000';
  const child = spawn('sleep', ['30'], { env: { ...process.env, HF_TOKEN: secret }, stdio: 'ignore' });
  t.after(() => child.kill('SIGKILL'));
  fs.symlinkSync(`/proc/${child.pid}/environ`, path.join(dir, 'innocent.txt'));
  spawnSync('mkfifo', [path.join(dir, 'pipe.txt')]);
  const methods = createDataMethods({ home: path.join(dir, 'home'), modelDir: (s) => s });
  fs.mkdirSync(path.join(dir, 'home'));
  const paths = ['/etc/shadow', '/etc/passwd', '/proc/self/environ', `/proc/${child.pid}/environ`, '/proc/self/root/etc/passwd', `/proc/${process.pid}/cwd/package.json`, '/sys/kernel/uevent_seqnum', '/dev/zero', path.join(dir, 'innocent.txt')];
  for (const p of paths) {
    let reply: unknown;
    try {
      reply = await methods.previewData(previewOf(p));
    } catch (err) {
      const info = errorInfo(err);
      assert.equal(info.field, 'path', p);
      assert.equal(info.message, `${p}: is a system location (/etc, /proc, /sys or /dev), not one of your files`);
      continue;
    }
    assert.fail(`${p} was read: ${JSON.stringify(reply).slice(0, 200)}`);
  }
  if (fs.existsSync(path.join(dir, 'pipe.txt'))) {
    const pipe = path.join(dir, 'pipe.txt');
    await assert.rejects(methods.previewData(previewOf(pipe)), (err) => errorInfo(err).message === `${pipe}: is not a regular file (a device, pipe or socket)`);
  }
});

test('2.20 a 50 MB one-line text file is cut before tokenizing: the same example as tokenizing it whole, in bounded memory', async (t) => {
  const dir = tempDir(t);
  const words = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta', 'theta', 'iota', 'kappa', 'lambda', 'mu', 'nu', 'xi'];
  // 64 KiB of words (some double spaces), repeated to 50 MiB on one line.
  let chunk = '';
  for (let i = 0; chunk.length < 2 ** 16; i++) chunk += words[(i * 7 + (i >> 3)) % words.length] + (i % 11 === 0 ? '  ' : ' ');
  const file = path.join(dir, 'huge.txt');
  const fd = fs.openSync(file, 'w');
  for (let n = 0; n < 50 * 2 ** 20; n += chunk.length) fs.writeSync(fd, chunk);
  fs.writeSync(fd, '\n');
  fs.closeSync(fd);
  for (const model of ['gpt2-tiny', 'bloom-tiny']) {
    const tokenizer = loadTokenizer(fixture(model));
    // The reference: the first 64 KiB tokenized whole hold far more than 32 tokens.
    const whole = tokenizer.encode(chunk).slice(0, 32);
    const { examples, stats } = loadDataset({ path: file, max_length: 32 }, tokenizer);
    assert.deepEqual(examples[0].input_ids, whole, model);
    assert.deepEqual([stats.examples, stats.truncated], [1, 1]);
  }
  // Peak memory of a whole training on it, in a process of its own (the base run takes about 240 MiB).
  const config = writeConfig(dir, 'c.json', { ...baseConfig(dir, path.join(dir, 'run')), max_steps: 1, per_device_train_batch_size: 1, data: { train: file, max_length: 32 } });
  const r = await spawnCli(['train', '--config', config, '--store', path.join(dir, 's.db'), '--json-events']).exited;
  assert.equal(r.code, 0, r.stderr);
  const done = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
  assert.ok(done.measured_peak_bytes < 500 * 2 ** 20, `peak RSS ${done.measured_peak_bytes}`);
});
