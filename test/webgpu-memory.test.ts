// The estimate on the webgpu backend: tensors are GPU buffers, compared with the adapter's
// memory where it is known, RAM for a software adapter, and otherwise only the binding
// limit; and the estimate against what tfjs's webgpu buffer manager really allocated on the
// fixtures, and the web host's wizard estimate on that backend (skipped, with the reason,
// where no adapter can be made).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createAppService } from '../core/app/service';
import { initBackend, tf } from '../core/engine/backend';
import { shapeBytes } from '../core/memory/activations';
import { memoryBand } from '../core/memory/band';
import { estimatePeak, type TrainingShape } from '../core/memory/estimate';
import { modelConfigForEstimate } from '../core/memory/model-config';
import { estimateForTrainConfig } from '../core/memory/train-config';
import { createLoraLayers } from '../core/models/lora';
import { loadModel, randomConfig } from '../core/models/load';
import type { ForwardOptions } from '../core/models/weights';
import { AdamW, clipGradNorm } from '../core/train/adamw';
import { resolveTrainConfig } from '../core/train/config';
import { accumulateGradients } from '../core/train/step';
import { makeFullTrainable, makeLoraTrainable } from '../core/train/trainables';
import { SeededDropout } from '../core/train/trainer';
import { fixture, tempDir } from './helpers';

const GiB = 2 ** 30;
const gpt2 = randomConfig('gpt2');
const shape = (over: Partial<TrainingShape> = {}): TrainingShape => ({ model: gpt2, method: 'lora', batch: 2, seq: 64, backend: 'webgpu', ramBytes: 64 * GiB, tokenizer: false, ...over });
const hardware = { software: false, memoryBytes: null, maxStorageBufferBindingSize: 2 * GiB };

describe('webgpu estimate without a GPU', () => {
  test('GPU memory unknown: only the binding limit decides, and a tensor past it exceeds', () => {
    const e = estimatePeak(shape({ gpu: hardware }));
    assert.ok(e.device);
    assert.equal(e.device.memory, null);
    assert.equal(e.device.bytes, e.heap.bytes, 'every tensor is a GPU buffer');
    assert.equal(e.band, 'fits');
    // Logits [2, 64, 50257] are 25.7 MB: a 16 MiB binding cannot hold them.
    const logits = shapeBytes(gpt2, { batch: 2, seq: 64 }).logits;
    const small = estimatePeak(shape({ gpu: { ...hardware, maxStorageBufferBindingSize: 16 * 2 ** 20 } }));
    assert.equal(small.band, 'exceeds');
    assert.deepEqual(small.device!.largestBinding, { what: 'logits [2, 64, 50257]', bytes: logits });
    // Full fine-tuning binds the trained embedding whole (LoRA reads the frozen one in blocks).
    const full = estimatePeak(shape({ method: 'full', gpu: hardware }));
    assert.equal(full.device!.largestBinding.bytes, 50257 * 768 * 4);
  });

  test("where the adapter reports its memory the GPU bytes are compared with it; a software adapter's with RAM", () => {
    const e = estimatePeak(shape({ gpu: hardware }));
    const gpuBytes = e.device!.bytes;
    for (const share of [0.7, 0.9, 1.1]) {
      const memoryBytes = gpuBytes / share;
      const known = estimatePeak(shape({ gpu: { ...hardware, memoryBytes } }));
      assert.deepEqual(known.device!.memory, { source: 'adapter heaps', bytes: memoryBytes });
      assert.equal(known.band, memoryBand(gpuBytes, memoryBytes, { bytes: 0, limitBytes: null }), `${share}`);
    }
    const ramBytes = e.totalBytes / 1.1;
    const software = estimatePeak(shape({ ramBytes, gpu: { ...hardware, software: true } }));
    assert.equal(software.device!.memory!.source, 'ram');
    assert.equal(software.band, 'exceeds');
    // Other backends have no device part.
    assert.equal(estimatePeak(shape({ backend: 'cpu' })).device, null);
  });
});

const started = await initBackend('webgpu').then(
  () => false as const,
  (err: Error) => `no WebGPU adapter can be made here (${err.message})`,
);

describe('webgpu estimate against the buffers tfjs allocated', { skip: started }, () => {
  test('3 steps on a fixture: the estimate covers the GPU allocation, within 15%', () => {
    // One row: the buffer pool persists for the process, so a second run would read the first's.
    const { model } = loadModel(fixture('gpt2-tiny'));
    const [batch, seq] = [2, 48];
    const forward: ForwardOptions = { dropout: new SeededDropout(1, 0) };
    forward.lora = createLoraLayers(model, [model.arch.loraTargets[0]], 8, 8, 0);
    const params = forward.lora ? makeLoraTrainable(forward.lora) : makeFullTrainable(model);
    const optimizer = new AdamW(params, { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 });
    const ids = Array.from({ length: batch }, (_, b) => Array.from({ length: seq }, (_, t) => (b * 31 + t * 7) % model.config.vocabSize));
    for (let s = 0; s < 3; s++) {
      const { grads } = accumulateGradients(model, params, [{ input_ids: ids, labels: ids, attention_mask: ids.map((r) => r.map(() => 1)) }], forward);
      optimizer.apply(grads, 1e-3, clipGradNorm(grads, 1).scale);
      tf.dispose([...grads.values()]);
    }
    params[0].variable.dataSync();
    // Everything this process put on the GPU: the weights upload at their first use.
    const allocated = (tf.memory() as unknown as { numBytesAllocatedInGPU: number }).numBytesAllocatedInGPU;
    const e = estimatePeak({ model: model.config, method: 'lora', lora: { r: 8 }, batch, seq, backend: 'webgpu', ramBytes: 64 * GiB, tokenizer: false });
    const estimated = e.device!.bytes;
    assert.ok(estimated >= allocated && estimated <= 1.15 * allocated, `estimated ${estimated} vs allocated ${allocated} GPU bytes`);
    optimizer.dispose();
    tf.dispose(params.map((p) => p.variable));
    model.dispose();
  });
});

describe("the web host's estimate on this process's webgpu backend", { skip: started }, () => {
  test('the run trains on the adapter the engine started on: its coefficients and limits, in RAM for a software one', async (t) => {
    const model = fixture('gpt2-tiny');
    const data = new URL('../examples/data/alpaca-train.json', import.meta.url).pathname;
    const draft = { model, data: { train: data, max_length: 64 }, per_device_train_batch_size: 1, num_train_epochs: 1 };
    // The web host has no GPU window: its workers start the engine as this process did.
    const handle = createAppService({ home: tempDir(t), host: 'web', versions: { node: process.versions.node }, launcher: () => assert.fail('an estimate starts no worker') });
    t.after(() => handle.shutdown());
    const view = await handle.service.estimateMemory({ config: draft });
    const { adapter } = await initBackend();
    // At the padded length the service found (its own test checks that part).
    const e = estimateForTrainConfig(resolveTrainConfig({ ...draft, data: { ...draft.data, max_length: view.seq }, output_dir: tempDir(t) }), modelConfigForEstimate(model), { backend: 'webgpu', gpu: adapter, bf16Kernel: false });
    assert.equal(view.backend, 'webgpu');
    assert.equal(view.totalBytes, e.totalBytes);
    assert.equal(view.band, e.band);
    // A software adapter's buffers are in RAM, which the bar already compares with: no GPU words.
    assert.equal(view.gpu === null, adapter!.software);
  });
});
