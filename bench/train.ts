// Training speed and memory on random weights in a public model's shape (same compute as
// real weights; nothing is downloaded): tokens/s, the step split into forward+backward and
// optimizer, and peak RSS; then the same shapes in PyTorch when a python here has torch
// (bench/pytorch.ts). Batch defaults to 8 for LoRA (r 8, c_attn) and 4 for full fine-tuning.
// Each method trains with the model's own dropout (GPT-2: 0.1, as real runs do) and with none.
// --bf16: bf16 autocast on both sides (our bf16 GEMM; PyTorch's torch.autocast).
//   npm run bench:train -- [--random-init gpt2] [--seq 128] [--batch B] [--method full|lora|both] [--dropout model|0|both] [--steps 3] [--backend webgpu|native|...] [--bf16]
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { activeKernels, describeBackend, initBackend, tf } from '../core/engine/backend';
import type { Batch } from '../core/data/batching';
import { createLoraLayers } from '../core/models/lora';
import { randomModel } from '../core/models/load';
import type { ForwardOptions } from '../core/models/weights';
import { bf16Refusal } from '../core/ops/bf16';
import { AdamW, clipGradNorm, type TrainableParam } from '../core/train/adamw';
import { accumulateGradients } from '../core/train/step';
import { SeededDropout } from '../core/train/trainer';
import { makeFullTrainable, makeLoraTrainable } from '../core/train/trainables';
import { pytorchUnavailable, ratioLine, runPytorch } from './pytorch';

const { values } = parseArgs({
  options: {
    'random-init': { type: 'string', default: 'gpt2' },
    seq: { type: 'string', default: '128' },
    batch: { type: 'string' },
    method: { type: 'string', default: 'both' },
    steps: { type: 'string', default: '3' },
    dropout: { type: 'string', default: 'both' },
    backend: { type: 'string' },
    bf16: { type: 'boolean', default: false },
  },
});
const seq = Number(values.seq);
const batchSize = Number(values.batch ?? (values.method === 'full' ? 4 : 8));
const steps = Number(values.steps);

// Each method runs in a process of its own, so peak RSS is that method's and a backend
// that dies of memory (wasm's 4 GB cap) does not take the other row with it.
if (!process.env.TUNESMITH_BENCH_CHILD) {
  console.log(`machine load average (1, 5, 15 min): ${os.loadavg().map((l) => l.toFixed(2)).join(', ')} on ${os.cpus().length} cores`);
  const methods = values.method === 'both' ? ['lora', 'full'] : [values.method!];
  const dropouts = values.dropout === 'both' ? ['model', '0'] : [values.dropout!];
  const ours: { method: string; tokens_per_s: number; peak_rss_mib: number; batch: number; dropout: number }[] = [];
  const passed = process.argv.slice(2).filter((a, i, all) => !['--method', '--dropout'].includes(a) && !['--method', '--dropout'].includes(all[i - 1]));
  for (const method of methods) for (const dropout of dropouts) {
    const child = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), ...passed, '--method', method, '--dropout', dropout], {
      stdio: ['ignore', 'pipe', 'pipe'],
      encoding: 'utf8',
      env: { ...process.env, TUNESMITH_BENCH_CHILD: '1' },
    });
    process.stdout.write(child.stdout);
    if (child.status !== 0) console.log(`${method.padEnd(5)} failed: ${child.stderr.trim().split('\n').filter((l) => /Error|Abort/.test(l)).pop()?.slice(0, 200) ?? `exit ${child.status}`}`);
    const json = child.stdout.split('\n').find((l) => l.startsWith('{'));
    if (json) ours.push({ method, ...JSON.parse(json) });
  }
  const why = pytorchUnavailable();
  if (why) console.log(`PyTorch comparison skipped: ${why}`);
  else if (values['random-init'] !== 'gpt2') console.log('PyTorch comparison runs for --random-init gpt2 only (the anchor script is a GPT-2)');
  else {
    for (const result of ours) {
      const { method, dropout } = result;
      const theirs = runPytorch(['--mode', method, '--batch', String(result.batch), '--seq', String(seq), '--targets', 'c_attn', '--dropout', String(dropout), ...(values.bf16 ? ['--bf16'] : [])]);
      console.log(ratioLine(`${method} dropout ${dropout}`, result, theirs));
      console.log(JSON.stringify({ bench: 'train-pytorch', method, dropout, batch: result.batch, seq, pytorch: theirs, speed_ratio: result.tokens_per_s / theirs.tokens_per_s, rss_ratio: result.peak_rss_mib / theirs.peak_rss_mib }));
    }
  }
  process.exit(0);
}

const choice = await initBackend(values.backend);
const backend = choice.name;
const bf16Problem = values.bf16 ? bf16Refusal() : null;
if (bf16Problem) throw new Error(`--bf16 cannot run here: ${bf16Problem}`);
const gemm = activeKernels()?.info().blas;
const precision = values.bf16 ? `bf16 (${activeKernels()?.info().bf16 ?? 'emulated'})` : 'fp32';
{
  const method = values.method!;
  const model = randomModel(values['random-init']!);
  // 'model': the config's own dropouts (GPT-2: 0.1 on embeddings, attention and residuals).
  if (values.dropout !== 'model') Object.assign(model.config, { embdDropout: 0, residDropout: 0, attnDropout: 0 });
  const dropout = model.config.residDropout;
  console.log(`${method}: backend ${describeBackend(choice)}${gemm ? ` (GEMM ${gemm})` : ''}, ${values['random-init']}, seq ${seq}, batch ${batchSize}, dropout ${dropout}, ${precision}, ${steps} measured steps after one warm-up`);

  const ids = Array.from({ length: batchSize }, (_, b) => Array.from({ length: seq }, (_, t) => (b * 7919 + t * 104729) % model.config.vocabSize));
  const batch: Batch = { input_ids: ids, labels: ids, attention_mask: ids.map((row) => row.map(() => 1)) };
  let params: TrainableParam[];
  const forward: ForwardOptions = { bf16: values.bf16, ...(dropout > 0 ? { dropout: new SeededDropout(1, 0) } : {}) };
  if (method === 'full') params = makeFullTrainable(model);
  else {
    forward.lora = createLoraLayers(model, [model.arch.loraTargets[0]], 8, 16, 0);
    params = makeLoraTrainable(forward.lora);
  }
  const optimizer = new AdamW(params, { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 });
  const times: { fwdBwd: number; opt: number }[] = [];
  let gpuPeak = 0;
  try {
    for (let i = 0; i <= steps; i++) {
      const t0 = performance.now();
      const { grads } = accumulateGradients(model, params, [batch], forward);
      const t1 = performance.now();
      optimizer.apply(grads, 1e-4, clipGradNorm(grads, 1).scale);
      tf.dispose([...grads.values()]);
      finishQueuedWork(params);
      gpuPeak = Math.max(gpuPeak, (tf.memory() as { numBytesInGPU?: number }).numBytesInGPU ?? 0);
      const t2 = performance.now();
      if (i > 0) times.push({ fwdBwd: (t1 - t0) / 1000, opt: (t2 - t1) / 1000 });
      process.stderr.write(`\r\x1b[2K  ${method}: step ${i}/${steps}`);
    }
    process.stderr.write('\r\x1b[2K');
    const fwdBwd = times.reduce((s, t) => s + t.fwdBwd, 0) / times.length;
    const opt = times.reduce((s, t) => s + t.opt, 0) / times.length;
    const peakMiB = process.resourceUsage().maxRSS / 1024;
    const tokensPerS = (batchSize * seq) / (fwdBwd + opt);
    const gpuMiB = gpuPeak / 2 ** 20;
    console.log(`${`${method} dropout ${dropout}`.padEnd(17)} ${tokensPerS.toFixed(1)} tokens/s  step ${(fwdBwd + opt).toFixed(2)} s = forward+backward ${fwdBwd.toFixed(2)} s + optimizer ${opt.toFixed(2)} s  peak RSS ${peakMiB.toFixed(0)} MiB${gpuPeak ? `  GPU buffers ${gpuMiB.toFixed(0)} MiB` : ''}`);
    console.log(JSON.stringify({ bench: 'train', method, backend, bf16: values.bf16, model: values['random-init'], seq, batch: batchSize, dropout, tokens_per_s: tokensPerS, forward_backward_s: fwdBwd, optimizer_s: opt, peak_rss_mib: peakMiB, ...(gpuPeak ? { peak_gpu_mib: gpuMiB } : {}) }));
  } finally {
    optimizer.dispose();
    if (forward.lora) tf.dispose(params.map((p) => p.variable));
    model.dispose();
  }
}

/**
 * On a GPU the optimizer's update is only queued when apply() returns; reading one number of
 * the last parameter waits for it, so the step split is not shifted into the next step.
 */
function finishQueuedWork(params: TrainableParam[]): void {
  if (backend !== 'webgpu') return;
  const first = tf.tidy(() => tf.slice(tf.reshape(params[params.length - 1].variable, [-1]), 0, 1));
  first.dataSync();
  first.dispose();
}
