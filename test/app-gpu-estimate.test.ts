// The wizard's memory estimate when the run will train on a GPU (the host's GPU window found
// one under the engine setting): the webgpu coefficients, compared with the adapter's memory or,
// where that is unknown, only its binding limit, in the CLI's words. On the CPU nothing changes.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import type { TrainConfigDraft } from '../core/api/contract';
import type { GpuFinding } from '../core/app/context';
import { createAppService } from '../core/app/service';
import { shapeBytes } from '../core/memory/activations';
import { memoryBand } from '../core/memory/band';
import { defaultBackend } from '../core/memory/coefficients';
import type { GpuLimits } from '../core/memory/device';
import { modelConfigForEstimate } from '../core/memory/model-config';
import { estimateForTrainConfig } from '../core/memory/train-config';
import { loadTokenizer } from '../core/tokenizer/tokenizer';
import { resolveTrainConfig } from '../core/train/config';
import { formatBytes } from '../core/units';
import { loadTrainingData } from '../core/train/trainer';
import { fixture, tempDir } from './helpers';

const ALPACA = path.resolve(import.meta.dirname, '../examples/data/alpaca-train.json');
const MODEL = fixture('gpt2-tiny');
const draft: TrainConfigDraft = { model: MODEL, data: { train: ALPACA, max_length: 64 }, per_device_train_batch_size: 4, num_train_epochs: 1 };

/** A service whose host found `finding` under the engine setting; nothing is ever launched. */
function service(t: TestContext, finding: GpuFinding) {
  const handle = createAppService({
    home: tempDir(t),
    host: 'electron',
    versions: { node: process.versions.node },
    launcher: () => assert.fail('an estimate starts no worker'),
    findGpu: async () => finding,
  });
  t.after(() => handle.shutdown());
  return handle.service;
}

/** The estimate the run will have, computed here from the coefficients: rows padded to the data's longest example. */
function reference(gpu?: GpuLimits) {
  const config = resolveTrainConfig({ ...draft, output_dir: '/tmp/unused' });
  const longest = Math.max(...loadTrainingData(config, loadTokenizer(MODEL)).train.map((e) => e.input_ids.length));
  const model = modelConfigForEstimate(MODEL);
  const held = { ...config, data: { ...config.data, max_length: Math.min(64, longest) } };
  return { e: estimateForTrainConfig(held, model, gpu ? { backend: 'webgpu', gpu, bf16Kernel: false } : { backend: defaultBackend() }), model, seq: held.data.max_length };
}

test("a GPU whose memory is known: the webgpu estimate's share of it, in the CLI's words", async (t) => {
  const probe = reference({ software: false, memoryBytes: 2 ** 40, maxStorageBufferBindingSize: 2 ** 30 }).e.device!.bytes;
  // Memory sized so that the buffers take 90% of it: a tight fit, which no RAM comparison would give.
  const limits: GpuLimits = { software: false, memoryBytes: Math.round(probe / 0.9), maxStorageBufferBindingSize: 2 ** 30 };
  const view = await service(t, { adapter: 'Fake GPU', limits }).estimateMemory({ config: draft });
  const { e } = reference(limits);
  assert.equal(view.backend, 'webgpu');
  assert.equal(view.totalBytes, e.totalBytes);
  assert.equal(view.band, memoryBand(e.device!.bytes, limits.memoryBytes!, e.heap));
  assert.equal(view.band, 'tight');
  assert.match(view.gpu!, new RegExp(`^tight on the GPU: ${Math.round((100 * e.device!.bytes) / limits.memoryBytes!)}% of its .* memory`));
});

test('a GPU whose memory is unknown: only the largest tensor against its binding limit', async (t) => {
  const limits: GpuLimits = { software: false, memoryBytes: null, maxStorageBufferBindingSize: 2 ** 30 };
  const view = await service(t, { adapter: 'Fake GPU', limits }).estimateMemory({ config: draft });
  assert.equal(view.band, 'fits');
  assert.match(view.gpu!, /^fits as far as can be checked: GPU memory unknown .*; the largest tensor bound whole \(.*\) fits its /);
  assert.ok(view.gpu!.endsWith(`fits its ${formatBytes(2 ** 30)} binding limit`), view.gpu!);

  // A binding limit below the logits' bytes (the largest tensor bound whole for this tiny model): exceeds, naming them.
  const { model, seq } = reference();
  const logits = shapeBytes(model, { batch: 4, seq }).logits;
  const small = await service(t, { adapter: 'Fake GPU', limits: { ...limits, maxStorageBufferBindingSize: logits - 4 } }).estimateMemory({ config: draft });
  assert.equal(small.band, 'exceeds');
  assert.match(small.gpu!, new RegExp(`^exceeds on the GPU: logits \\[4, ${seq}, ${model.vocabSize}\\] is `));
});

test('the GPU not used: the CPU engine as before, and nothing about a GPU', async (t) => {
  const view = await service(t, { notUsed: 'the native engine was chosen in Settings' }).estimateMemory({ config: draft });
  const { e } = reference();
  assert.equal(view.backend, defaultBackend());
  assert.equal(view.totalBytes, e.totalBytes);
  assert.equal(view.gpu, null);
});
