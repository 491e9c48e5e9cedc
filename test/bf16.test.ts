// bf16 mixed precision: the rounding, the bf16 GEMM kernel against an fp32 GEMM on bf16-rounded
// inputs (odd shapes, every transpose form training uses), the projection kernel against its
// emulating twin, and a whole training step against the emulation on the plain cpu backend.
// Machines without a bf16 kernel skip the kernel tests, not the emulation ones.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { activeKernels, initBackend, tf } from '../core/engine/backend';
import { Bf16Weight, roundToBf16 } from '../core/ops/bf16';
import { linearNative, linearReference, type LoraPair, type WeightLayout } from '../core/ops/linear';
import { SafetensorsFile } from '../core/checkpoint/safetensors';
import { loadModel } from '../core/models/load';
import { loadAdapter } from '../core/models/lora';
import { generate } from '../core/generate/generate';
import { keepFrozenBaseInBf16 } from '../core/train/trainables';
import { resolveTrainConfig } from '../core/train/config';
import { stepGradients, type StepResult } from './bf16-step';
import { fixture, REFERENCE, relativeError, tempDir, trainEvents, writeTokenized } from './helpers';

let bf16Kernel: string | null = null;
before(async () => {
  await initBackend();
  bf16Kernel = activeKernels()?.info().bf16 ?? null;
});

function kernelTest(name: string, fn: () => void): void {
  test(name, (t) => {
    if (!bf16Kernel) return t.skip(activeKernels()?.info().bf16Refusal ?? 'native kernels not loaded');
    fn();
  });
}

/** Seeded uniform values in [-scale, scale). */
function seeded(n: number, seed: number, scale = 1): Float32Array {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 2 ** 32 - 0.5) * 2 * scale;
  }
  return out;
}

describe('bf16 rounding', () => {
  test('rounds to nearest, ties to even, like the hardware', () => {
    const ulp = 2 ** -7; // bf16 keeps 7 fraction bits
    const x = new Float32Array([1 + ulp / 2, 1 + (3 * ulp) / 2, 1 + ulp / 2 + 2 ** -20, -(1 + ulp / 4), 3.4e38, 1e-39, -1e-39, NaN, Infinity]);
    const r = roundToBf16(x);
    assert.equal(r[0], 1, 'a tie rounds to the even neighbour (down)');
    assert.equal(r[1], 1 + 2 * ulp, 'a tie rounds to the even neighbour (up)');
    assert.equal(r[2], 1 + ulp, 'above the tie rounds up');
    assert.equal(r[3], -1);
    assert.equal(r[4], Infinity, 'past the largest bf16 overflows');
    assert.ok(Object.is(r[5], 0) && Object.is(r[6], -0), 'subnormals read as zero, sign kept');
    assert.ok(Number.isNaN(r[7]));
    assert.equal(r[8], Infinity);
    // Every result has zero low 16 bits and is within half a bf16 step of its input.
    const many = seeded(4096, 9, 100);
    const bits = new Uint32Array(roundToBf16(many).buffer);
    const back = roundToBf16(many);
    for (let i = 0; i < many.length; i++) {
      assert.equal(bits[i] & 0xffff, 0);
      assert.ok(Math.abs(back[i] - many[i]) <= Math.abs(many[i]) * 2 ** -8, `${many[i]} → ${back[i]}`);
    }
  });
});

describe('bf16 GEMM kernel', () => {
  kernelTest('matches an fp32 GEMM of bf16-rounded inputs: odd shapes, NN/NT/TN/TT, alpha and beta', () => {
    const k = activeKernels()!;
    const shapes = [[1, 1, 1], [37, 45, 77], [13, 33, 513], [150, 70, 300], [145, 3, 31], [2, 200, 17]];
    for (const [m, n, depth] of shapes) {
      for (const [ta, tb] of [[false, false], [false, true], [true, false], [true, true]]) {
        for (const [alpha, beta] of [[1, 0], [0.5, 1], [2, -0.25]]) {
          // Leading dimensions wider than the rows, so strides are exercised too.
          const lda = (ta ? m : depth) + 3, ldb = (tb ? depth : n) + 1, ldc = n + 2;
          const a = seeded((ta ? depth : m) * lda, m + depth, 2);
          const b = seeded((tb ? n : depth) * ldb, n + depth + 1);
          const c = seeded(m * ldc, 5);
          const c0 = c.slice();
          k.gemmBf16(ta, tb, m, n, depth, alpha, a, lda, b, ldb, beta, c, ldc);
          const ar = roundToBf16(a), br = roundToBf16(b);
          const expected: number[] = [], got: number[] = [];
          for (let i = 0; i < m; i++) {
            for (let j = 0; j < n; j++) {
              let sum = 0;
              for (let p = 0; p < depth; p++) sum += ar[ta ? p * lda + i : i * lda + p] * br[tb ? j * ldb + p : p * ldb + j];
              expected.push(Math.fround(alpha * sum + beta * c0[i * ldc + j]));
              got.push(c[i * ldc + j]);
            }
            for (let j = n; j < ldc; j++) assert.equal(c[i * ldc + j], c0[i * ldc + j], 'C outside its n columns is untouched');
          }
          const err = relativeError(got, expected);
          assert.ok(err < 1e-6, `${ta ? 'T' : 'N'}${tb ? 'T' : 'N'} ${m}×${n}×${depth} α=${alpha} β=${beta}: relative error ${err}`);
        }
      }
    }
  });
});

describe('bf16 projections', () => {
  kernelTest('the native projection in bf16 matches its emulating twin, forward and every gradient', () => {
    const cases: { layout: WeightLayout; rows: number; inDim: number; outDim: number; lora: boolean; dropout: boolean }[] = [
      { layout: 'in_out', rows: 19, inDim: 37, outDim: 70, lora: false, dropout: false },
      { layout: 'out_in', rows: 5, inDim: 64, outDim: 33, lora: true, dropout: false },
      { layout: 'in_out', rows: 33, inDim: 48, outDim: 96, lora: true, dropout: true },
    ];
    const drop = () => ({ rate: 0.25, seed: 11, call: 5 });
    for (const [i, c] of cases.entries()) {
      tf.tidy(() => {
        const x = tf.tensor(seeded(c.rows * c.inDim, 20 + i), [c.rows, c.inDim]);
        const w = tf.variable(tf.tensor(seeded(c.inDim * c.outDim, 30 + i, 0.2), c.layout === 'in_out' ? [c.inDim, c.outDim] : [c.outDim, c.inDim]));
        const bias = tf.variable(tf.tensor(seeded(c.outDim, 40 + i), [c.outDim]));
        const inputs: tf.Tensor[] = [x, w, bias];
        if (c.lora) inputs.push(tf.variable(tf.tensor(seeded(4 * c.inDim, 50 + i, 0.3), [4, c.inDim])), tf.variable(tf.tensor(seeded(c.outDim * 4, 60 + i, 0.3), [c.outDim, 4])));
        const pair = (a: tf.Tensor[]): LoraPair | undefined => (c.lora ? { a: a[3], b: a[4], scale: 1.5 } : undefined);
        const dropout = c.dropout ? drop : undefined;
        const probe = tf.tensor(seeded(c.rows * c.outDim, 97), [c.rows, c.outDim]);
        const loss = (native: boolean) => (...a: tf.Tensor[]) =>
          tf.sum(tf.mul((native ? linearNative : linearReference)(a[0], a[1], a[2], c.layout, pair(a), dropout, true), probe)) as tf.Scalar;
        const got = tf.valueAndGrads(loss(true))(inputs);
        const want = tf.valueAndGrads(loss(false))(inputs);
        assert.ok(relativeError(got.value.dataSync(), want.value.dataSync()) < 1e-5, `case ${i} forward`);
        want.grads.forEach((g, j) => {
          const err = relativeError(got.grads[j].dataSync(), g.dataSync());
          assert.ok(err < 1e-5, `case ${i} gradient of input ${j}: relative error ${err}`);
        });
        // And bf16 really rounds: the fp32 twin differs by bf16's precision, not float noise.
        const fp32 = linearReference(x, w, bias, c.layout, pair(inputs), dropout);
        const bf16 = linearReference(x, w, bias, c.layout, pair(inputs), dropout, true);
        const gap = relativeError(bf16.dataSync(), fp32.dataSync());
        assert.ok(gap > 1e-4 && gap < 2e-2, `case ${i}: bf16 is ${gap} from fp32`);
      });
    }
  });
});

describe('a frozen weight stored in bf16', () => {
  kernelTest('gives the projection the same output and gradients as its fp32 weight under autocast, on the kernel and in the twin', () => {
    // Odd depths both ways: the bf16 packing's pair rows and pair runs each end on half a pair.
    const cases: { layout: WeightLayout; rows: number; inDim: number; outDim: number; lora: boolean }[] = [
      { layout: 'in_out', rows: 19, inDim: 37, outDim: 70, lora: true },
      { layout: 'out_in', rows: 29, inDim: 63, outDim: 33, lora: true },
      { layout: 'out_in', rows: 3, inDim: 40, outDim: 17, lora: false },
    ];
    for (const [i, c] of cases.entries()) {
      tf.tidy(() => {
        const x = tf.tensor(seeded(c.rows * c.inDim, 120 + i), [c.rows, c.inDim]);
        const w = tf.tensor(seeded(c.inDim * c.outDim, 130 + i, 0.2), c.layout === 'in_out' ? [c.inDim, c.outDim] : [c.outDim, c.inDim]);
        const stored = Bf16Weight.from(w);
        assert.deepEqual(stored.toTensor().dataSync(), roundToBf16(w.dataSync() as Float32Array), 'the bits are the rounded weight');
        const bias = tf.variable(tf.tensor(seeded(c.outDim, 140 + i), [c.outDim]));
        const inputs: tf.Tensor[] = [x, bias];
        if (c.lora) inputs.push(tf.variable(tf.tensor(seeded(4 * c.inDim, 150 + i, 0.3), [4, c.inDim])), tf.variable(tf.tensor(seeded(c.outDim * 4, 160 + i, 0.3), [c.outDim, 4])));
        const pair = (a: tf.Tensor[]): LoraPair | undefined => (c.lora ? { a: a[2], b: a[3], scale: 2 } : undefined);
        const probe = tf.tensor(seeded(c.rows * c.outDim, 197), [c.rows, c.outDim]);
        const run = (project: typeof linearNative, weight: tf.Tensor | Bf16Weight) =>
          tf.valueAndGrads((...a: tf.Tensor[]) => tf.sum(tf.mul(project(a[0], weight, a[1], c.layout, pair(a), undefined, true), probe)) as tf.Scalar)(inputs);
        const want = run(linearReference, w);
        for (const [label, got] of [['kernel', run(linearNative, stored)], ['twin', run(linearReference, stored)]] as const) {
          assert.ok(relativeError(got.value.dataSync(), want.value.dataSync()) < 1e-5, `case ${i} ${label}: forward`);
          want.grads.forEach((g, j) => {
            const err = relativeError(got.grads[j].dataSync(), g.dataSync());
            assert.ok(err < 1e-5, `case ${i} ${label}: gradient of input ${j}: relative error ${err}`);
          });
        }
        // The kernel reads the same bits it would have rounded the fp32 weight to: identical results.
        const fromFp32 = run(linearNative, w);
        assert.deepEqual(run(linearNative, stored).value.dataSync(), fromFp32.value.dataSync(), `case ${i}: same forward as the fp32 weight`);
      });
    }
  });

  kernelTest('gpt2-tiny and bloom-tiny LoRA steps: the same loss and gradients as the emulation, at half the base projections\' memory', () => {
    for (const model of ['gpt2-tiny', 'bloom-tiny']) {
      const got = stepGradients(model, 'lora', true, true);
      assert.equal(got.freedBytes, 2 * got.projectionParameters, `${model}: every projection is kept in bf16`);
      const want = emulatedStep(model, 'lora');
      assert.ok(Math.abs(got.loss / want.loss - 1) < 1e-3, `${model}: loss ${got.loss} vs ${want.loss}`);
      for (const [name, g] of Object.entries(want.grads)) {
        const err = relativeError(got.grads[name], g);
        assert.ok(err < 1e-3, `${model} ${name}: relative error ${err}`);
      }
      // And the same numbers as the fp32 base under autocast, which rounds those weights to these bits.
      const fp32Base = stepGradients(model, 'lora', true);
      assert.ok(Math.abs(got.loss / fp32Base.loss - 1) < 1e-6, `${model}: loss ${got.loss} vs ${fp32Base.loss} with the fp32 base`);
    }
  });

  kernelTest("a run's sample prompts generate from the bf16 base (KV cache, one-row products) as autocast does from the fp32 one", () => {
    for (const name of ['gpt2-tiny', 'bloom-tiny']) {
      const sample = (keepBase: boolean) => {
        const { model } = loadModel(fixture(name));
        const { layers: lora } = loadAdapter(fixture(`${name}-lora-trained`), model);
        if (keepBase) assert.ok(keepFrozenBaseInBf16(model) > 0);
        const forward = { lora, bf16: true };
        const prompt = REFERENCE[name as keyof typeof REFERENCE].instruction_batch.batch.input_ids[0].slice(0, 8);
        const ids = generate(model, prompt, { maxNewTokens: 12, greedy: true, forward });
        const logits = tf.tidy(() => Array.from(model.forward(tf.tensor2d([prompt], undefined, 'int32'), forward).logits.dataSync()));
        model.dispose();
        return { ids, logits };
      };
      const stored = sample(true);
      const fp32 = sample(false);
      assert.deepEqual(stored.ids, fp32.ids, `${name}: the same greedy tokens`);
      assert.ok(relativeError(stored.logits, fp32.logits) < 1e-6, `${name}: the same logits`);
    }
  });
});

/** The emulated step on the plain cpu backend, in a child process (the backend is per process). */
function emulatedStep(model: string, method: string): StepResult {
  const script = path.join(import.meta.dirname, 'bf16-step.ts');
  const r = spawnSync(process.execPath, ['--import', 'tsx', script, model, method, 'bf16'], {
    env: { ...process.env, TUNESMITH_BACKEND: 'cpu' },
    encoding: 'utf8',
    maxBuffer: 1 << 28,
  });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as StepResult;
}

describe('a bf16 training step', () => {
  for (const model of ['gpt2-tiny', 'bloom-tiny']) {
    for (const method of ['lora', 'full'] as const) {
      test(`${model} ${method}: loss and gradients match the fp32 emulation with bf16-rounded inputs within 1e-3`, () => {
        const got = stepGradients(model, method, true);
        const want = emulatedStep(model, method);
        assert.ok(Math.abs(got.loss / want.loss - 1) < 1e-3, `loss ${got.loss} vs ${want.loss}`);
        assert.deepEqual(Object.keys(got.grads).sort(), Object.keys(want.grads).sort());
        for (const [name, g] of Object.entries(want.grads)) {
          const err = relativeError(got.grads[name], g);
          assert.ok(err < 1e-3, `${name}: relative error ${err}`);
        }
        // bf16 is not fp32 in disguise: the fp32 step differs, by bf16's precision.
        const fp32 = stepGradients(model, method, false);
        const name = Object.keys(want.grads)[0];
        const gap = relativeError(fp32.grads[name], want.grads[name]);
        assert.ok(gap > 1e-5 && gap < 5e-2, `${name}: fp32 is ${gap} from bf16`);
      });
    }
  }
});

describe('bf16 training runs', () => {
  const steps = 20;
  function run(dir: string, model: string, method: 'lora' | 'full', extra: Record<string, unknown>) {
    const ft = REFERENCE[model as keyof typeof REFERENCE].instruction_batch;
    const out = path.join(dir, `${method}-${extra.bf16 ? 'bf16' : 'fp32'}`);
    const config = {
      model: fixture(model),
      output_dir: out,
      data: { train: writeTokenized(path.join(dir, 'train.jsonl'), ft.batch), format: 'tokenized' },
      method,
      lora: { r: 8, alpha: 16, target_modules: ['c_attn', 'c_proj', 'c_fc'] },
      per_device_train_batch_size: 2,
      max_steps: steps,
      learning_rate: method === 'lora' ? 1e-2 : 1e-3,
      lr_scheduler_type: 'constant',
      dropout: 0,
      logging_steps: 1,
      save_steps: 0,
      ...extra,
    };
    const file = path.join(dir, `${method}-${extra.bf16 ? 'bf16' : 'fp32'}.json`);
    fs.writeFileSync(file, JSON.stringify(config));
    const events = trainEvents('--config', file);
    return { losses: events.filter((e) => e.event === 'step').map((e) => e.loss as number), outputDir: events.at(-1).output_dir as string };
  }

  for (const method of ['lora', 'full'] as const) {
    test(`gpt2-tiny ${method}: ${steps} bf16 steps stay within 2% of fp32's loss curve`, (t) => {
      const dir = tempDir(t);
      const fp32 = run(dir, 'gpt2-tiny', method, {});
      const bf16 = run(dir, 'gpt2-tiny', method, { bf16: true, save_dtype: 'bf16' });
      assert.equal(bf16.losses.length, steps);
      bf16.losses.forEach((l, i) => assert.ok(Math.abs(l / fp32.losses[i] - 1) <= 0.02, `step ${i + 1}: bf16 ${l} vs fp32 ${fp32.losses[i]}`));
      // A tiny model's LoRA curve moves less than 2%, so also: bf16 learns as much as fp32.
      const drop = (l: number[]) => l[0] - l.at(-1)!;
      assert.ok(drop(fp32.losses) > 0.05, `the fp32 run learns: ${fp32.losses[0]} → ${fp32.losses.at(-1)}`);
      assert.ok(Math.abs(drop(bf16.losses) / drop(fp32.losses) - 1) <= 0.1, `bf16's loss drops ${drop(bf16.losses)}, fp32's ${drop(fp32.losses)}`);
      if (method === 'full') {
        // save_dtype bf16: a bf16 safetensors file that says so in config.json, and loads.
        const weights = new SafetensorsFile(path.join(bf16.outputDir, 'model.safetensors'));
        assert.ok(weights.list().every((e) => e.dtype === 'BF16'));
        assert.equal(JSON.parse(fs.readFileSync(path.join(bf16.outputDir, 'config.json'), 'utf8')).dtype, 'bfloat16');
        const { model } = loadModel(bf16.outputDir);
        const reference = new SafetensorsFile(path.join(fp32.outputDir, 'model.safetensors'));
        assert.ok(reference.list().every((e) => e.dtype === 'F32'), 'the default export stays fp32');
        model.dispose?.();
      }
    });
  }
});

describe('bf16 in the training config', () => {
  test('bf16 and save_dtype are accepted; fp16 is refused with the reason and the alternative', () => {
    const base = { model: 'm', output_dir: 'o', data: { train: 't' } };
    const c = resolveTrainConfig({ ...base, bf16: true, save_dtype: 'bf16', fp16: false });
    assert.equal(c.bf16, true);
    assert.equal(c.save_dtype, 'bf16');
    assert.equal(resolveTrainConfig(base).bf16, false);
    assert.throws(() => resolveTrainConfig({ ...base, fp16: true }, 'run.json'), /run\.json: "fp16" is not supported.*"bf16": true/);
    assert.throws(() => resolveTrainConfig({ ...base, save_dtype: 'fp16' }), /"save_dtype" must be one of fp32, bf16/);
  });
});
