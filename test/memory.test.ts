// The memory estimator: parameter counts against the loaded fixtures, the way each
// component scales, bands and suggestions, the coefficient table against what the engine
// keeps, and `tunesmith estimate`.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { initBackend, tf } from '../core/engine/backend';
import { shapeBytes } from '../core/memory/activations';
import { memoryBand } from '../core/memory/band';
import { ENGINE_COEFFICIENTS } from '../core/memory/coefficients';
import { estimatePeak, type TrainingShape } from '../core/memory/estimate';
import { modelConfigForEstimate } from '../core/memory/model-config';
import { countParameters, loraParameterCount, loraProjections } from '../core/memory/parameters';
import { estimateTrainingMemory } from '../core/memory/suggestions';
import { estimateForTrainConfig } from '../core/memory/train-config';
import { parseModelConfig } from '../core/models/config';
import { createLoraLayers } from '../core/models/lora';
import { loadModel, randomConfig } from '../core/models/load';
import type { ForwardOptions } from '../core/models/weights';
import { AdamW, clipGradNorm } from '../core/train/adamw';
import { resolveTrainConfig } from '../core/train/config';
import { accumulateGradients } from '../core/train/step';
import { makeFullTrainable, makeLoraTrainable } from '../core/train/trainables';
import { SeededDropout } from '../core/train/trainer';
import { probeCoefficients } from '../bench/memory-probe';
import { trackTensorBytes } from '../bench/tensor-bytes';
import { fixture, tempDir, tunesmith } from './helpers';

const { name: backend } = await initBackend();
const GiB = 2 ** 30;
const gpt2 = randomConfig('gpt2');
const shape = (over: Partial<TrainingShape> = {}): TrainingShape => ({ model: gpt2, method: 'lora', batch: 4, seq: 128, backend: 'wasm', ramBytes: 64 * GiB, ...over });

describe('parameter counts', () => {
  test('equal the loaded fixture models, the tied head counted once', () => {
    for (const dir of ['gpt2-tiny', 'bloom-tiny']) {
      const { model } = loadModel(fixture(dir));
      const loaded = [...model.weights.values()].reduce((n, t) => n + t.size, 0);
      assert.equal(countParameters(model.config), loaded, dir);
      assert.equal(model.parameterCount(), loaded, dir);
      model.dispose();
    }
    assert.equal(countParameters(gpt2), 124439808, 'GPT-2 small as transformers counts it');
  });

  test('an untied LM head adds its own [vocab, embd] matrix', () => {
    const untied = parseModelConfig({ ...gpt2.raw, tie_word_embeddings: false });
    assert.equal(countParameters(untied) - countParameters(gpt2), gpt2.vocabSize * gpt2.nEmbd);
  });

  test('LoRA: r × (in + out) per adapted projection, PEFT target rules', () => {
    const E = gpt2.nEmbd;
    assert.equal(loraParameterCount(loraProjections(gpt2, null), 8), 12 * 8 * (E + 3 * E), 'default target c_attn');
    // `c_proj` names both the attention output and the MLP's down projection.
    assert.equal(loraProjections(gpt2, ['c_proj']).length, 24);
    assert.throws(() => loraProjections(gpt2, ['q_proj']), /match no projection of this gpt2 model/);
  });
});

describe('components scale as the engine allocates', () => {
  test('activations, their gradients and logits are linear in batch', () => {
    const one = estimatePeak(shape({ batch: 1 })).components;
    for (const batch of [2, 8]) {
      const c = estimatePeak(shape({ batch })).components;
      for (const key of ['activations', 'activation_gradients', 'logits'] as const) assert.equal(c[key], batch * one[key], `${key} at batch ${batch}`);
      assert.equal(c.weights, one.weights);
    }
  });

  test('the attention part is quadratic in seq', () => {
    const f = (seq: number) => estimatePeak(shape({ seq, batch: 2 })).components.activations;
    const counts = ENGINE_COEFFICIENTS.wasm.architectures.gpt2;
    // [B, H, T, T] scores (dropout adds more) and the [B, 1, T, T] mask, per block.
    const quadratic = (T: number) => {
      const s = shapeBytes(gpt2, { batch: 2, seq: T });
      return gpt2.nLayer * ((counts.saved.block.scores + counts.attentionDropout.saved) * s.scores + counts.saved.block.mask * s.mask);
    };
    // f(T) = aT + bT², so f(2T) − 2f(T) = 2bT², which is the quadratic part at 2T minus twice it at T.
    for (const T of [64, 128]) assert.equal(f(2 * T) - 2 * f(T), quadratic(2 * T) - 2 * quadratic(T), `T=${T}`);
    assert.ok(quadratic(256) === 4 * quadratic(128));
  });

  test('LoRA gradients and moments are linear in r and tiny next to full fine-tuning', () => {
    const at = (r: number) => estimatePeak(shape({ lora: { r } })).components;
    assert.equal(at(16).gradients, 2 * at(8).gradients);
    assert.equal(at(16).optimizer_moments, 2 * at(8).optimizer_moments);
    assert.equal(at(8).optimizer_moments, 2 * at(8).gradients, 'm and v');
    const full = estimatePeak(shape({ method: 'full' })).components;
    assert.equal(full.gradients, 4 * countParameters(gpt2));
    assert.ok(at(8).gradients < full.gradients / 100);
  });

  test('gradient accumulation keeps activations; gradients exist at most twice, not once per micro-batch', () => {
    const at = (gradientAccumulation: number) => estimatePeak(shape({ method: 'full', gradientAccumulation })).components;
    assert.equal(at(8).activations, at(1).activations);
    assert.equal(at(8).activation_gradients, at(1).activation_gradients);
    assert.equal(at(1).gradients, 4 * countParameters(gpt2));
    assert.equal(at(2).gradients, 2 * at(1).gradients, 'the sum so far beside the new micro-batch');
    assert.equal(at(8).gradients, at(2).gradients);
  });

  test('the components add up to the total', () => {
    for (const method of ['full', 'lora'] as const) {
      const e = estimatePeak(shape({ method }));
      assert.equal(Object.values(e.components).reduce((a, b) => a + b, 0), e.totalBytes);
    }
  });
});

describe('bands and suggestions', () => {
  test('fits up to 75% of RAM, tight up to 100%, exceeds beyond or past the backend heap', () => {
    const noCap = { bytes: 0, limitBytes: null };
    assert.equal(memoryBand(75, 100, noCap), 'fits');
    assert.equal(memoryBand(76, 100, noCap), 'tight');
    assert.equal(memoryBand(100, 100, noCap), 'tight');
    assert.equal(memoryBand(101, 100, noCap), 'exceeds');
    assert.equal(memoryBand(1, 100, { bytes: 5, limitBytes: 4 }), 'exceeds');
    const total = estimatePeak(shape({ backend: 'cpu' })).totalBytes;
    assert.equal(estimatePeak(shape({ backend: 'cpu', ramBytes: total / 0.7 })).band, 'fits');
    assert.equal(estimatePeak(shape({ backend: 'cpu', ramBytes: total / 0.9 })).band, 'tight');
    assert.equal(estimatePeak(shape({ backend: 'cpu', ramBytes: total / 1.1 })).band, 'exceeds');
    assert.equal(estimatePeak(shape({ method: 'full', backend: 'wasm', ramBytes: 1024 * GiB })).band, 'exceeds', "wasm's 4 GiB heap");
  });

  test('each suggestion has its own estimate, and the mildest change that fits is offered', () => {
    const s = shape({ method: 'full', batch: 8, seq: 256, gradientAccumulation: 2, backend: 'cpu', ramBytes: 16 * GiB });
    const e = estimateTrainingMemory(s);
    assert.notEqual(e.band, 'fits');
    assert.ok(e.suggestions.some((x) => x.estimate.band === 'fits'));
    for (const x of e.suggestions) assert.deepEqual(x.estimate, estimatePeak(x.shape), x.change);
    const smaller = e.suggestions.find((x) => x.shape.batch < 8)!;
    assert.equal(smaller.shape.batch * smaller.shape.gradientAccumulation!, 16, 'same effective batch');
    assert.equal(smaller.estimate.band, 'fits');
    const doubled = estimatePeak({ ...smaller.shape, batch: smaller.shape.batch * 2, gradientAccumulation: smaller.shape.gradientAccumulation! / 2 });
    assert.notEqual(doubled.band, 'fits', 'no larger batch would fit');
    assert.deepEqual(estimateTrainingMemory(shape({ batch: 1 })).suggestions, [], 'nothing to suggest when it fits');
  });

  test('when no single change is enough, one suggestion combines them and fits', () => {
    const e = estimateTrainingMemory(shape({ model: randomConfig('gpt2-medium'), method: 'full', batch: 8, seq: 512, backend: 'cpu', ramBytes: 8 * GiB }));
    assert.ok(e.suggestions.slice(0, -1).every((x) => x.estimate.band !== 'fits'));
    const combined = e.suggestions.at(-1)!;
    assert.match(combined.change, /^LoRA instead of full fine-tuning, batch 1 × accumulation 8/);
    assert.equal(combined.estimate.band, 'fits');
  });
});

describe('inputs', () => {
  test('a model folder is read from config.json alone; errors name the file and the field or model_type', (t) => {
    const dir = tempDir(t);
    fs.copyFileSync(fixture('gpt2-tiny/config.json'), path.join(dir, 'config.json'));
    assert.equal(countParameters(modelConfigForEstimate(dir)), countParameters(modelConfigForEstimate(fixture('gpt2-tiny'))));
    const raw = JSON.parse(fs.readFileSync(fixture('bloom-tiny/config.json'), 'utf8'));
    delete raw.hidden_size;
    assert.throws(() => modelConfigForEstimate(raw, 'hub/bloom/config.json'), /hub\/bloom\/config\.json: field "hidden_size" is missing/);
    assert.throws(() => modelConfigForEstimate({ model_type: 'llama' }, 'hub/llama/config.json'), /hub\/llama\/config\.json: not supported yet: llama/);
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ model_type: 'gpt2', n_layer: 2, n_head: 2, vocab_size: 10 }));
    assert.throws(() => modelConfigForEstimate(dir), new RegExp(`${dir}/config\\.json: field "n_embd" is missing`));
  });

  test("a training config maps onto the trainer's batch, length, accumulation, LoRA and dropout", () => {
    const model = modelConfigForEstimate(fixture('gpt2-tiny'));
    const config = resolveTrainConfig({
      model: fixture('gpt2-tiny'),
      output_dir: 'out',
      method: 'lora',
      lora: { r: 4, target_modules: ['c_attn', 'c_fc'] },
      data: { train: 'train.jsonl', max_length: 1024 },
      per_device_train_batch_size: 3,
      gradient_accumulation_steps: 2,
      dropout: 0,
    });
    const e = estimateForTrainConfig(config, model, { backend: 'cpu', ramBytes: 64 * GiB });
    const direct = estimatePeak({
      model,
      method: 'lora',
      lora: { r: 4, targetModules: ['c_attn', 'c_fc'], dropout: 0 },
      batch: 3,
      seq: 128,
      gradientAccumulation: 2,
      dropout: { embedding: 0, residual: 0, attention: 0 },
      weightDecay: 0,
      backend: 'cpu',
      ramBytes: 64 * GiB,
    });
    assert.deepEqual({ ...e, suggestions: undefined }, { ...direct, suggestions: undefined }, 'max_length is capped at the 128 positions');
  });
});

// The native kernels keep their buffers in backward closures, not as tensors tfjs can
// count, so on that path the estimate is checked against peak RSS by bench:memory instead.
const tensorsTell = backend !== 'native';

describe('against the engine', () => {
  test(`the coefficient table matches what the ${backend} engine keeps (else rerun bench:memory --probe)`, { skip: !tensorsTell && 'native buffers are not tfjs tensors' }, () => {
    const probed = probeCoefficients();
    const table = ENGINE_COEFFICIENTS[backend];
    for (const [key, value] of Object.entries(probed)) assert.deepEqual(table[key as keyof typeof table], value, key);
  });

  test('the tensor peak of real steps on the fixtures is what the estimate says', { skip: !tensorsTell && 'native buffers are not tfjs tensors' }, () => {
    for (const [dir, method] of [['gpt2-tiny', 'full'], ['gpt2-tiny', 'lora'], ['bloom-tiny', 'lora']] as const) {
      const tracker = trackTensorBytes();
      const { model } = loadModel(fixture(dir));
      const forward: ForwardOptions = { dropout: new SeededDropout(1, 0) };
      if (method === 'lora') forward.lora = createLoraLayers(model, [model.arch.loraTargets[0]], 8, 8, 0);
      const params = forward.lora ? makeLoraTrainable(forward.lora) : makeFullTrainable(model);
      const optimizer = new AdamW(params, { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 });
      const ids = Array.from({ length: 2 }, (_, b) => Array.from({ length: 48 }, (_, t) => (b * 31 + t * 7) % model.config.vocabSize));
      const { grads } = accumulateGradients(model, params, [{ input_ids: ids, labels: ids, attention_mask: ids.map((r) => r.map(() => 1)) }], forward);
      clipGradNorm(grads, 1);
      optimizer.apply(grads, 1e-3);
      tf.dispose([...grads.values()]);
      const measured = tracker.peak();
      tracker.stop();
      optimizer.dispose();
      if (forward.lora) tf.dispose(params.map((p) => p.variable));
      model.dispose();
      const e = estimatePeak({ model: model.config, method, batch: 2, seq: 48, backend, ramBytes: 64 * GiB });
      const error = Math.abs(e.tensorPeakBytes - measured) / measured;
      assert.ok(error < 0.05, `${dir} ${method}: estimate ${e.tensorPeakBytes}, measured ${measured}`);
    }
  });
});

describe('tunesmith estimate', () => {
  test('--json on a fixture folder', () => {
    const r = tunesmith('estimate', '--model', fixture('gpt2-tiny'), '--method', 'lora', '--lora-r', '4', '--batch', '2', '--seq', '64', '--ram', String(64 * GiB), '--json');
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.deepEqual(Object.keys(out.components).sort(), ['activation_gradients', 'activations', 'allocator_slack', 'embedding_gradient', 'gradients', 'logits', 'optimizer_moments', 'runtime', 'weight_copies', 'weights', 'workspace']);
    assert.equal(Object.values(out.components as Record<string, number>).reduce((a, b) => a + b, 0), out.total_bytes);
    assert.equal(out.band, 'fits');
    assert.equal(out.ram_bytes, 64 * GiB);
    assert.equal(out.trainable_parameters, 2 * 4 * (32 + 96), 'r × (in + out) on both blocks’ c_attn');
    assert.deepEqual(out.suggestions, []);

    const tight = JSON.parse(tunesmith('estimate', '--random-init', 'gpt2', '--method', 'full', '--batch', '8', '--seq', '256', '--ram', String(2 * GiB), '--json').stdout);
    assert.equal(tight.band, 'exceeds');
    assert.ok(tight.suggestions.length >= 3);
    for (const s of tight.suggestions) assert.deepEqual(Object.keys(s).sort(), ['band', 'batch', 'change', 'gradient_accumulation', 'method', 'seq', 'total_bytes']);
  });

  test('the table names components, total, band and suggestions', () => {
    const r = tunesmith('estimate', '--random-init', 'gpt2', '--method', 'full', '--batch', '8', '--seq', '256', '--ram', String(4 * GiB));
    assert.equal(r.code, 0, r.stderr);
    for (const line of [/^weights\s+475 MiB$/m, /^AdamW moments m, v\s+949 MiB$/m, /^total peak\s+[\d.]+ GiB$/m, /^band: exceeds/m, /^to fit:$/m, /^ {2}LoRA instead of full fine-tuning: [\d.]+ GiB, \w+$/m]) {
      assert.match(r.stdout, line);
    }
  });

  test('bad input names the flag, the file or the model_type', (t) => {
    const dir = tempDir(t);
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ model_type: 'llama' }));
    const cases: [string[], RegExp][] = [
      [['estimate', '--model', dir, '--method', 'lora', '--batch', '1', '--seq', '8'], /config\.json: not supported yet: llama/],
      [['estimate', '--random-init', 'gpt2', '--method', 'lora', '--seq', '8'], /--batch B is required/],
      [['estimate', '--random-init', 'gpt2', '--method', 'half', '--batch', '1', '--seq', '8'], /--method must be full or lora/],
      [['estimate', '--random-init', 'gpt2', '--method', 'lora', '--lora-targets', 'q_proj', '--batch', '1', '--seq', '8'], /match no projection/],
      [['estimate', '--random-init', 'gpt2', '--method', 'lora', '--batch', '1', '--seq', '2048'], /seq 2048 is longer than this model's 1024 positions/],
    ];
    for (const [args, message] of cases) {
      const r = tunesmith(...args);
      assert.notEqual(r.code, 0, args.join(' '));
      assert.match(r.stderr, message);
    }
  });
});
