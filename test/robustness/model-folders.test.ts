// Audit group 1: damaged model folders, each built on the fly from a fixture copy. Every one
// is refused with the file and the problem named, before any weight is used.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { copyFixture, fixture, REFERENCE, tempDir } from '../helpers';
import { assertRefused, cli, readSafetensors, writeSafetensorsParts } from './cases';

const IDS = REFERENCE['gpt2-tiny'].forward.input_ids.join(',');
const forward = (model: string) => cli('forward', '--model', model, '--ids', IDS, '--json');

/** A gpt2-tiny copy whose model.safetensors header `edit` changes (data kept). */
function withHeader(t: { after: (fn: () => void) => void }, edit: (h: Record<string, any>) => void): { model: string; file: string } {
  const model = copyFixture('gpt2-tiny', tempDir(t));
  const file = path.join(model, 'model.safetensors');
  const { header, data } = readSafetensors(file);
  edit(header);
  writeSafetensorsParts(file, header, data);
  return { model, file };
}

describe('safetensors headers', () => {
  test('1.11 negative, fractional and out-of-order data_offsets are refused, naming the tensor', async (t) => {
    for (const offsets of [[-64, 64], [0.5, 128.5], [128, 0], ['0', 128]]) {
      const { model, file } = withHeader(t, (h) => (h['transformer.h.0.ln_1.weight'].data_offsets = offsets));
      const r = await forward(model);
      assertRefused(r, `${file}: not a valid safetensors file (tensor "transformer.h.0.ln_1.weight" has data_offsets ${JSON.stringify(offsets)}; need whole numbers 0 <= begin <= end <= data size (6551168))`);
      assert.doesNotMatch(r.stdout, /null/);
    }
  });

  test('1.11 two tensors sharing one span are refused as overlapping', async (t) => {
    let span: number[] = [];
    const { model, file } = withHeader(t, (h) => {
      span = h['transformer.h.0.ln_1.weight'].data_offsets;
      h['transformer.h.0.ln_1.bias'].data_offsets = span;
    });
    const r = await forward(model);
    assertRefused(r, new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: not a valid safetensors file \\(tensors "transformer\\.h\\.0\\.ln_1\\.(weight|bias)" and "transformer\\.h\\.0\\.ln_1\\.(weight|bias)" overlap`));
  });

  test('1.5 truncated, 1.6/1.7 absurd header length, 1.8 unparsable header', async (t) => {
    const cases: [string, (bytes: Buffer) => Buffer, string][] = [
      ['truncated', (b) => b.subarray(0, b.length >> 1), 'tensor "transformer.wte.weight" ends at byte 6551168 of the data but the data has only 3274284; the file is truncated'],
      ['10**12', (b) => (b.writeBigUInt64LE(10n ** 12n, 0), b), 'header claims 1000000000000 bytes but the file has 6553768; the file is truncated or not safetensors'],
      ['2**64-1', (b) => (b.writeBigUInt64LE(2n ** 64n - 1n, 0), b), 'header claims 18446744073709552000 bytes but the file has 6553768; the file is truncated or not safetensors'],
      ['#', (b) => (b.fill('#', 8, 28), b), 'its JSON header does not parse'],
    ];
    for (const [, damage, why] of cases) {
      const model = copyFixture('gpt2-tiny', tempDir(t));
      const file = path.join(model, 'model.safetensors');
      fs.writeFileSync(file, damage(fs.readFileSync(file)));
      assertRefused(await forward(model), `${file}: not a valid safetensors file (${why})`);
    }
  });

  test('1.9 a transposed shape, 1.10 a missing tensor, 1.12 an absurd shape', async (t) => {
    const transposed = withHeader(t, (h) => (h['transformer.h.0.attn.c_attn.weight'].shape = [96, 32]));
    assertRefused(await forward(transposed.model), /"transformer\.h\.0\.attn\.c_attn\.weight" has shape \[96,32\] but config\.json implies \[32,96\]/);
    const missing = withHeader(t, (h) => delete h['transformer.h.1.mlp.c_fc.weight']);
    assertRefused(await forward(missing.model), /missing weights transformer\.h\.1\.mlp\.c_fc\.weight/);
    const huge = withHeader(t, (h) => (h['transformer.wte.weight'].shape = [2 ** 40, 2 ** 40]));
    assertRefused(await forward(huge.model), /tensor "transformer\.wte\.weight" spans 6432896 bytes but shape \[1099511627776,1099511627776\] F32 needs 4\.835703278458517e\+24/);
  });

  test('an intact copy still gives the reference loss', async (t) => {
    const { model } = withHeader(t, () => undefined);
    const r = await forward(model);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(Math.abs(JSON.parse(r.stdout).mean_loss - REFERENCE['gpt2-tiny'].forward.mean_loss) < 1e-4);
  });
});

describe('config.json and the folder', () => {
  const config = (t: { after: (fn: () => void) => void }, text: string | null) => {
    const model = copyFixture('gpt2-tiny', tempDir(t));
    const file = path.join(model, 'config.json');
    if (text === null) fs.rmSync(file);
    else fs.writeFileSync(file, text);
    return { model, file };
  };
  const withConfig = (t: { after: (fn: () => void) => void }, change: Record<string, unknown>) =>
    config(t, JSON.stringify({ ...JSON.parse(fs.readFileSync(fixture('gpt2-tiny/config.json'), 'utf8')), ...change }));

  test('1.1 missing, 1.2 not JSON, 1.3 not an object, 1.4 unsupported type, 1.29/1.30 impossible heads', async (t) => {
    let c = config(t, null);
    assertRefused(await forward(c.model), `${c.file}: missing; a model folder needs config.json next to its weights`);
    c = config(t, '{"model_type": "gpt2", n_layer: 2,,,');
    assertRefused(await forward(c.model), new RegExp(`^${c.file}: not valid JSON \\(Expected double-quoted property name .*position 23`));
    c = config(t, '[1,2,3]');
    assertRefused(await forward(c.model), /must be a JSON object/);
    c = withConfig(t, { model_type: 'llama' });
    assertRefused(await forward(c.model), /not supported yet: llama \(Tunesmith runs gpt2 and bloom\)/);
    c = withConfig(t, { n_head: 0 });
    assertRefused(await forward(c.model), /field "n_head" must be a positive integer, got 0/);
    c = withConfig(t, { n_head: 5 });
    assertRefused(await forward(c.model), /"n_embd" \(32\) must be divisible by "n_head" \(5\)/);
  });

  test('1.27 a missing folder, and 1.28 a file given as --model, from every command', async (t) => {
    const dir = tempDir(t);
    const nothing = path.join(dir, 'nope');
    assertRefused(await forward(nothing), `${nothing}: model folder not found`);
    assertRefused(await cli('info', '--model', nothing), `${nothing}: model folder not found`);
    const file = path.join(dir, 'a-file');
    fs.writeFileSync(file, 'hello\n');
    for (const args of [['forward', '--ids', '1,2'], ['info'], ['tokenize', '--text', 'Hello'], ['generate', '--prompt', 'Hi', '--max-new-tokens', '1']]) {
      assertRefused(await cli(...args, '--model', file), `${file}: is a file, not a model folder; give the model's folder`);
    }
  });

  test('1.13 a missing shard, 1.14 a shard outside the folder', async (t) => {
    let model = copyFixture('bloom-tiny', tempDir(t));
    fs.rmSync(path.join(model, 'model-00002-of-00002.safetensors'));
    assertRefused(await forward(model), `${path.join(model, 'model.safetensors.index.json')}: shard model-00002-of-00002.safetensors is listed but missing`);
    model = copyFixture('bloom-tiny', tempDir(t));
    const index = path.join(model, 'model.safetensors.index.json');
    const json = JSON.parse(fs.readFileSync(index, 'utf8'));
    const first = Object.keys(json.weight_map)[0];
    json.weight_map[first] = '../bloom-tiny/model-00001-of-00002.safetensors';
    fs.writeFileSync(index, JSON.stringify(json));
    assertRefused(await forward(model), /must be a file name in the same folder/);
  });

  test('1.20/1.21 a pytorch_model.bin that is not a zip, or truncated', async (t) => {
    for (const damage of [(_: Buffer) => Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 97 + 13) & 0xff)), (b: Buffer) => b.subarray(0, b.length >> 1)]) {
      const model = copyFixture('gpt2-tiny-legacy', tempDir(t));
      const bin = path.join(model, 'pytorch_model.bin');
      fs.writeFileSync(bin, damage(fs.readFileSync(bin)));
      assertRefused(await forward(model), /not a zip archive, or truncated \(no end-of-central-directory record/);
    }
  });
});

describe('tokenizers', () => {
  const tokenize = (model: string) => cli('tokenize', '--model', model, '--text', 'Hello world', '--json');

  test('1.22 falls back to vocab.json and merges.txt; 1.23 none at all is refused', async (t) => {
    const model = copyFixture('gpt2-tiny', tempDir(t));
    fs.rmSync(path.join(model, 'tokenizer.json'));
    const r = await tokenize(model);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout).ids, [15496, 995]);
    for (const f of ['vocab.json', 'merges.txt']) fs.rmSync(path.join(model, f));
    assertRefused(await tokenize(model), /no tokenizer found \(needs tokenizer\.json, or vocab\.json with merges\.txt\)/);
  });

  test('1.24/1.26 a truncated tokenizer.json, 1.25 one without a model', async (t) => {
    for (const name of ['gpt2-tiny', 'bloom-tiny']) {
      const model = copyFixture(name, tempDir(t));
      const file = path.join(model, 'tokenizer.json');
      const text = fs.readFileSync(file, 'utf8');
      fs.writeFileSync(file, text.slice(0, text.length >> 1));
      assertRefused(await tokenize(model), new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: not valid JSON`));
    }
    const model = copyFixture('gpt2-tiny', tempDir(t));
    fs.writeFileSync(path.join(model, 'tokenizer.json'), '{"model": 42}');
    assertRefused(await tokenize(model), /cannot build the tokenizer/);
  });
});

test('1.31 an adapter trained on another architecture names both', async () => {
  const r = await cli('generate', '--model', fixture('gpt2-tiny'), '--adapter', fixture('bloom-tiny-lora-trained'), '--prompt', 'Hi', '--max-new-tokens', '3', '--greedy');
  assertRefused(r, `${path.join(fixture('bloom-tiny-lora-trained'), 'adapter_config.json')}: this adapter was trained on a bloom model (it targets query_key_value), but the base model is gpt2 (c_attn, c_proj, c_fc)`);
});
