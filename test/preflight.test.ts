// The pre-flight check against what the trainer itself does: a target it accepts passes,
// one it refuses is an error before the run starts; the other checks against the model's
// config and the data's counts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { initBackend } from '../core/engine/backend';
import { modelConfigForEstimate } from '../core/memory/model-config';
import { LEARNING_RATES, preflight, type DataFacts } from '../core/memory/preflight';
import { createLoraLayers } from '../core/models/lora';
import { loadModel } from '../core/models/load';
import { resolveTrainConfig, type TrainConfig } from '../core/train/config';
import { fixture } from './helpers';

function config(extra: Record<string, unknown> = {}, data: Record<string, unknown> = {}): TrainConfig {
  return resolveTrainConfig({ model: '-', output_dir: '-', learning_rate: 2e-4, ...extra, data: { train: '-', max_length: 64, ...data } });
}

const FACTS: DataFacts = { trainExamples: 54, longestTokens: 40 };

test('target modules: exactly those the trainer cannot adapt are errors, for GPT-2 and BLOOM', async () => {
  await initBackend();
  for (const name of ['gpt2-tiny', 'bloom-tiny'] as const) {
    const { model } = loadModel(fixture(name));
    const shape = modelConfigForEstimate(fixture(name));
    const candidates = [...model.arch.loraTargets, 'foo_proj', 'q_proj', 'attn', 'h.0.attn.c_attn'];
    for (const target of candidates) {
      let trainerAccepts = true;
      try {
        for (const pair of createLoraLayers(model, [target], 2, 4, 1).values()) pair.a.dispose(), pair.b.dispose();
      } catch {
        trainerAccepts = false;
      }
      const issues = preflight(config({ lora: { target_modules: [target] } }), shape, FACTS).issues.filter((i) => i.field === 'lora.target_modules');
      assert.equal(issues.length === 0, trainerAccepts, `${name} ${target}: ${JSON.stringify(issues)}`);
      if (!trainerAccepts) {
        assert.equal(issues[0].severity, 'error');
        assert.match(issues[0].message, new RegExp(`no module "${target}"; it has ${model.arch.loraTargets.join(', ')}`));
      }
    }
    model.dispose();
  }
});

test('max length past the position table is an error with the fix; BLOOM (ALiBi) has no limit', () => {
  const gpt2 = modelConfigForEstimate(fixture('gpt2-tiny'));
  const issue = preflight(config({}, { max_length: 512 }), gpt2, FACTS).issues.find((i) => i.field === 'data.max_length');
  assert.equal(issue?.severity, 'error');
  assert.deepEqual(issue?.fix, { 'data.max_length': gpt2.maxPositions });
  assert.deepEqual(preflight(config({}, { max_length: gpt2.maxPositions }), gpt2, FACTS).issues, []);
  assert.deepEqual(preflight(config({}, { max_length: 4096 }), modelConfigForEstimate(fixture('bloom-tiny')), FACTS).issues, []);
});

test('a batch larger than the data is capped, and said so; unknown data counts cap nothing', () => {
  const gpt2 = modelConfigForEstimate(fixture('gpt2-tiny'));
  const big = preflight(config({ per_device_train_batch_size: 4096 }), gpt2, FACTS);
  assert.equal(big.batch, 54);
  assert.deepEqual(
    big.issues.map((i) => [i.severity, i.field, i.fix]),
    [['warning', 'per_device_train_batch_size', { per_device_train_batch_size: 54 }]],
  );
  assert.match(big.issues[0].message, /Batch size 4096 is more than the 54 training examples/);
  assert.equal(preflight(config({ per_device_train_batch_size: 54 }), gpt2, FACTS).issues.length, 0);
  assert.equal(preflight(config({ per_device_train_batch_size: 4096 }), gpt2, null).batch, 4096);
});

test('learning rates outside the sane range for the method warn with the usual range', () => {
  const gpt2 = modelConfigForEstimate(fixture('gpt2-tiny'));
  const warned = (method: 'lora' | 'full', lr: number) =>
    preflight(config({ method, learning_rate: lr }), gpt2, FACTS).issues.filter((i) => i.field === 'learning_rate');
  for (const method of ['lora', 'full'] as const) {
    const { usual, sane } = LEARNING_RATES[method];
    for (const lr of [...usual, ...sane]) assert.deepEqual(warned(method, lr), [], `${method} ${lr}`);
    for (const lr of [sane[1] * 2, sane[0] / 2, 5]) {
      const [issue] = warned(method, lr);
      assert.equal(issue?.severity, 'warning', `${method} ${lr}`);
      assert.ok(issue.message.includes(`usually ${usual[0]} to ${usual[1]}`), issue.message);
    }
  }
  // 1e-3 is a fine LoRA rate and a full fine-tune's upper edge; 5e-3 only LoRA's.
  assert.equal(warned('lora', 5e-3).length, 0);
  assert.equal(warned('full', 5e-3).length, 1);
});
