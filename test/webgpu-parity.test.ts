// The fixtures' transformers/peft numbers on the webgpu backend: logits, greedy ids, a trained
// adapter, and 4-step full and LoRA trajectories, in this one process so that the shaders are
// compiled once. Runs on whatever adapter Dawn gives; without a GPU that is Mesa's llvmpipe
// through OpenGL ES (CI installs it), a software adapter that is slow but exact enough.
// Skipped, with the reason, where no adapter can be made.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { SafetensorsFile } from '../core/checkpoint/safetensors';
import { bindableRowBlocks, initBackend, tf } from '../core/engine/backend';
import { generate } from '../core/generate/generate';
import { embeddingLookup } from '../core/ops/embedding';
import { linear } from '../core/ops/linear';
import { loadAdapter } from '../core/models/lora';
import { loadModel } from '../core/models/load';
import { resolveTrainConfig } from '../core/train/config';
import type { TrainEvent } from '../core/train/events';
import { runTraining } from '../core/train/trainer';
import { fixture, maxAbsDiff, REFERENCE, referenceTrainConfig, tempDir, writeTokenized, type ReferenceBatch, type ReferenceHyperparameters } from './helpers';

const started = await initBackend('webgpu').then(
  (choice) => ({ adapter: choice.adapter, skip: false as const }),
  (err: Error) => ({ adapter: undefined, skip: `no WebGPU adapter can be made here (${err.message})` }),
);

before(() => {
  if (started.adapter) console.log(`# webgpu adapter: ${started.adapter.description} (${started.adapter.api}${started.adapter.software ? ', software' : ''})`);
});

interface Trajectory {
  batch: ReferenceBatch;
  hyperparameters: ReferenceHyperparameters;
  losses: number[];
  grad_norms: number[];
}

/** `method` trained 4 steps on the reference batch in this process; its step events and output folder. */
async function train(dir: string, model: string, run: Trajectory, extra: Record<string, unknown>): Promise<{ steps: Extract<TrainEvent, { event: 'step' }>[]; outputDir: string }> {
  writeTokenized(path.join(dir, 'train.jsonl'), run.batch);
  const config = resolveTrainConfig({ ...referenceTrainConfig(model, dir, run.hyperparameters), ...extra });
  const events: TrainEvent[] = [];
  await runTraining(config, (e) => events.push(e));
  const done = events.find((e) => e.event === 'done');
  assert.ok(done && done.event === 'done');
  return { steps: events.filter((e): e is Extract<TrainEvent, { event: 'step' }> => e.event === 'step'), outputDir: done.output_dir };
}

function closeTrajectory(steps: { loss: number; grad_norm: number }[], run: Trajectory): void {
  assert.equal(steps.length, run.losses.length);
  steps.forEach((s, i) => {
    assert.ok(Math.abs(s.loss - run.losses[i]) <= 1e-4, `loss[${i}]: ${s.loss} vs ${run.losses[i]}`);
    // Relative, as in train.test.ts: Adam's early sign-like steps amplify float32 noise in later norms.
    assert.ok(Math.abs(s.grad_norm / run.grad_norms[i] - 1) <= 2e-4, `grad_norm[${i}]: ${s.grad_norm} vs ${run.grad_norms[i]}`);
  });
}

for (const dir of ['gpt2-tiny', 'bloom-tiny'] as const) {
  const ref = REFERENCE[dir];
  describe(`${dir} on webgpu matches transformers`, { skip: started.skip }, () => {
    test('forward logits, logsumexp and loss; greedy ids with and without the KV cache', () => {
      const { model } = loadModel(fixture(dir));
      const f = ref.forward;
      const [logits, lse] = tf.tidy(() => {
        const out = model.forward(tf.tensor2d([f.input_ids], undefined, 'int32')).logits;
        return [out, tf.logSumExp(out, -1)];
      });
      const rows = (logits.arraySync() as number[][][])[0];
      rows.forEach((row, i) => assert.ok(maxAbsDiff(row.slice(0, 8), f.logits_first8_per_position[i]) <= 1e-4, `logits at position ${i}`));
      assert.ok(maxAbsDiff(lse.dataSync(), f.logsumexp_per_position) <= 1e-4, 'logsumexp');
      assert.ok(Math.abs(model.meanLoss([f.input_ids]) - f.mean_loss) <= 1e-4, 'mean loss');
      const { prompt_ids, max_new_tokens, new_ids } = ref.greedy;
      const opts = { maxNewTokens: max_new_tokens, greedy: true, eosId: null };
      assert.deepEqual(generate(model, prompt_ids, opts), new_ids);
      assert.deepEqual(generate(model, prompt_ids, { ...opts, noCache: true }), new_ids);
      tf.dispose([logits, lse]);
      model.dispose();
    });

    test('the trained LoRA adapter moves the loss as in peft', () => {
      const { model } = loadModel(fixture(dir));
      const adapter = loadAdapter(fixture(ref.lora.trained_adapter), model);
      const after = model.meanLoss([ref.forward.input_ids], { lora: adapter.layers });
      // Smaller than the adapter's own effect (bloom-tiny's is ~9e-5), as in parity.test.ts.
      const tol = Math.min(1e-4, 0.2 * Math.abs(ref.lora.forward_mean_loss_after - ref.forward.mean_loss));
      assert.ok(Math.abs(after - ref.lora.forward_mean_loss_after) < tol, `${after} vs ${ref.lora.forward_mean_loss_after} (tol ${tol})`);
      model.dispose();
    });

    test('4 steps of full fine-tuning: losses and grad norms', async (t) => {
      const run = (ref as unknown as { full_finetune: Trajectory }).full_finetune;
      const { steps } = await train(tempDir(t), dir, run, { method: 'full' });
      closeTrajectory(steps, run);
    });

    test('4 steps of LoRA from the init adapter: losses, grad norms and the trained adapter', async (t) => {
      const run = ref.lora as unknown as Trajectory & { init_adapter: string; trained_adapter: string };
      const { steps, outputDir } = await train(tempDir(t), dir, run, { method: 'lora', lora: { init_adapter: fixture(run.init_adapter) } });
      closeTrajectory(steps, run);
      const ours = new SafetensorsFile(path.join(outputDir, 'adapter_model.safetensors'));
      const theirs = new SafetensorsFile(fixture(`${run.trained_adapter}/adapter_model.safetensors`));
      for (const { name } of theirs.list()) {
        const want = theirs.read(name);
        const scale = want.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
        const diff = maxAbsDiff(ours.read(name), want);
        assert.ok(diff <= 1e-3 * scale, `${name}: max diff ${diff} vs scale ${scale}`);
      }
      ours.close();
      theirs.close();
      assert.ok(fs.existsSync(path.join(outputDir, 'adapter_config.json')));
    });
  });
}

describe('a frozen table larger than the GPU binds at once', { skip: started.skip }, () => {
  test('is looked up and multiplied block by block, equal to the whole table on the CPU', (t) => {
    const limit = (tf.backend() as unknown as { device: GPUDevice }).device.limits.maxStorageBufferBindingSize;
    // GPT-2's embedding is 154 MB; only adapters that bind less need the split (llvmpipe: 128 MiB).
    if (limit > 2 ** 30) return t.skip(`this adapter binds ${limit} bytes at once: nothing a test can afford is too big`);
    const width = 256;
    const rows = Math.floor(limit / (width * 4)) + 3;
    // Made on the host: a kernel writing it would have to bind it whole.
    const host = Float32Array.from({ length: rows * width }, (_, i) => Math.sin(i));
    const table = tf.tensor2d(host, [rows, width]);
    const blocks = bindableRowBlocks(table);
    assert.ok(blocks && blocks.length === 2, 'split in two blocks');
    const ids = [0, rows - 1, rows - 3, rows - 4, 12345];
    const looked = embeddingLookup(table, tf.tensor2d([ids], undefined, 'int32')).dataSync();
    ids.forEach((id, i) => assert.ok(maxAbsDiff(looked.subarray(i * width, (i + 1) * width), host.subarray(id * width, (id + 1) * width)) === 0, `row ${id}`));
    const x = tf.tidy(() => tf.cos(tf.reshape(tf.range(0, 2 * width, 1, 'float32'), [2, width])));
    const y = linear(x, table, undefined, 'out_in').dataSync();
    const xs = x.dataSync();
    for (const col of [0, rows - 4, rows - 3, rows - 1]) {
      for (let r = 0; r < 2; r++) {
        let want = 0;
        for (let k = 0; k < width; k++) want += xs[r * width + k] * host[col * width + k];
        assert.ok(Math.abs(y[r * rows + col] - want) <= 1e-4 * Math.max(1, Math.abs(want)), `logit [${r}, ${col}]: ${y[r * rows + col]} vs ${want}`);
      }
    }
    tf.dispose([table, x]);
  });
});
