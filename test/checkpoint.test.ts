import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { initBackend } from '../core/engine/backend';
import { SafetensorsFile, writeSafetensors } from '../core/checkpoint/safetensors';
import { loadAdapter } from '../core/models/lora';
import { loadModel } from '../core/models/load';
import { getWeight } from '../core/models/weights';
import { parseModelConfig } from '../core/models/config';
import { copyFixture, fixture, tempDir } from './helpers';

await initBackend();

test('safetensors writer: header rules of the reference implementation, round trip', (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'x.safetensors');
  const b = Float32Array.from([1.5, -2, 3.25]);
  const a = Float32Array.from([0.1, 0.2, 0.3, 0.4, 0.5, 0.6]);
  writeSafetensors(file, [{ name: 'b', shape: [3], data: b }, { name: 'a', shape: [2, 3], data: a }], { format: 'pt' });
  const bytes = fs.readFileSync(file);
  const headerLen = Number(bytes.readBigUInt64LE(0));
  assert.equal((8 + headerLen) % 8, 0, 'data starts 8-byte aligned');
  const header = JSON.parse(bytes.subarray(8, 8 + headerLen).toString('utf8'));
  assert.deepEqual(header.__metadata__, { format: 'pt' });
  assert.deepEqual(header.a, { dtype: 'F32', shape: [2, 3], data_offsets: [0, 24] }, 'tensors laid out in name order');
  assert.deepEqual(header.b.data_offsets, [24, 36]);
  const read = new SafetensorsFile(file);
  assert.deepEqual(read.read('a'), a);
  assert.deepEqual(read.read('b'), b);
  read.close();
  assert.deepEqual(fs.readdirSync(dir), ['x.safetensors'], 'no temporary file left behind');
});

test('float16 shards convert to the same float32 values the model was saved from', () => {
  const sharded = loadModel(fixture('bloom-tiny')).model;
  const w = getWeight(sharded.weights, 'transformer.h.0.self_attention.query_key_value.weight').dataSync();
  // float16 has 10 mantissa bits: every value must be exactly representable.
  for (const v of w) assert.equal(Math.fround(v), v);
  sharded.dispose();
});

test('missing config.json is named', (t) => {
  const dir = copyFixture('gpt2-tiny', tempDir(t));
  fs.rmSync(path.join(dir, 'config.json'));
  assert.throws(() => loadModel(dir), /config\.json: missing/);
});

test('missing weights are named', (t) => {
  const dir = copyFixture('gpt2-tiny', tempDir(t));
  fs.rmSync(path.join(dir, 'model.safetensors'));
  assert.throws(() => loadModel(dir), /no weights found \(looked for model\.safetensors/);
});

test('a truncated safetensors file is reported, not read as garbage', (t) => {
  const dir = copyFixture('gpt2-tiny', tempDir(t));
  const file = path.join(dir, 'model.safetensors');
  fs.truncateSync(file, Math.floor(fs.statSync(file).size / 2));
  assert.throws(() => loadModel(dir), (err: Error) => err.message.includes(file) && /truncated/.test(err.message));
});

test('a corrupted safetensors header is reported', (t) => {
  const dir = copyFixture('gpt2-tiny', tempDir(t));
  const file = path.join(dir, 'model.safetensors');
  const fd = fs.openSync(file, 'r+');
  fs.writeSync(fd, Buffer.from('{{{{'), 0, 4, 8);
  fs.closeSync(fd);
  assert.throws(() => loadModel(dir), /not a valid safetensors file \(its JSON header does not parse\)/);
  fs.writeFileSync(file, Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 1, 2]));
  assert.throws(() => loadModel(dir), /header claims .* bytes but the file has 10/);
});

test('a missing shard is named', (t) => {
  const dir = copyFixture('bloom-tiny', tempDir(t));
  fs.rmSync(path.join(dir, 'model-00002-of-00002.safetensors'));
  assert.throws(() => loadModel(dir), /shard model-00002-of-00002\.safetensors is listed but missing/);
});

test('a weight of the wrong shape is named', (t) => {
  const dir = copyFixture('gpt2-tiny', tempDir(t));
  const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...cfg, n_positions: 64 }));
  assert.throws(() => loadModel(dir), /"transformer\.wpe\.weight" has shape \[128,32\] but config\.json implies \[64,32\]/);
});

test('unsupported model types and missing fields are named', () => {
  assert.throws(() => parseModelConfig({ model_type: 'llama', hidden_size: 8 }), /not supported yet: llama/);
  assert.throws(() => parseModelConfig({ vocab_size: 8 }), /field "model_type" is missing/);
  assert.throws(() => parseModelConfig({ model_type: 'gpt2', n_layer: 2, n_head: 4, n_positions: 8, vocab_size: 10 }), /field "n_embd" is missing/);
  assert.throws(() => parseModelConfig({ model_type: 'bloom', n_layer: 2, hidden_size: 30, n_head: 4, vocab_size: 10 }), /must be divisible/);
});

test('an adapter whose shapes do not match the model is refused', (t) => {
  const dir = tempDir(t);
  const adapter = path.join(dir, 'adapter');
  fs.mkdirSync(adapter);
  fs.copyFileSync(fixture('gpt2-tiny-lora-init/adapter_config.json'), path.join(adapter, 'adapter_config.json'));
  writeSafetensors(path.join(adapter, 'adapter_model.safetensors'), [
    { name: 'base_model.model.transformer.h.0.attn.c_attn.lora_A.weight', shape: [4, 16], data: new Float32Array(64) },
    { name: 'base_model.model.transformer.h.0.attn.c_attn.lora_B.weight', shape: [96, 4], data: new Float32Array(384) },
  ]);
  const { model } = loadModel(fixture('gpt2-tiny'));
  assert.throws(() => loadAdapter(adapter, model), /lora_A\.weight" has shape \[4,16\] but the model's transformer\.h\.0\.attn\.c_attn needs \[4,32\]/);
  // A BLOOM adapter on GPT-2: the layer layout differs, and so do the module names.
  assert.throws(() => loadAdapter(fixture('bloom-tiny-lora-init'), model), /this adapter was trained on a bloom model \(it targets query_key_value\), but the base model is gpt2 \(c_attn, c_proj, c_fc\)/);
  model.dispose();
});
