// Training speed and memory on random weights in a public model's shape (same compute as
// real weights; nothing is downloaded): tokens/s, the step split into forward+backward and
// optimizer, and peak RSS; then the same shapes in PyTorch when /usr/bin/python3 has torch.
// Batch defaults to 8 for LoRA (r 8, c_attn) and 4 for full fine-tuning.
//   npm run bench:train -- [--random-init gpt2] [--seq 128] [--batch B] [--method full|lora|both] [--steps 3] [--backend webgpu|native|...]
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { describeBackend, initBackend, tf } from '../core/engine/backend';
import type { Batch } from '../core/data/batching';
import { createLoraLayers } from '../core/models/lora';
import { randomModel } from '../core/models/load';
import type { ForwardOptions } from '../core/models/weights';
import { AdamW, clipGradNorm, type TrainableParam } from '../core/train/adamw';
import { accumulateGradients } from '../core/train/step';
import { makeFullTrainable, makeLoraTrainable } from '../core/train/trainables';
import { pytorchUnavailable, ratioLine, runPytorch, sameBlasKernelsLine } from './pytorch';

const { values } = parseArgs({
  options: {
    'random-init': { type: 'string', default: 'gpt2' },
    seq: { type: 'string', default: '128' },
    batch: { type: 'string' },
    method: { type: 'string', default: 'both' },
    steps: { type: 'string', default: '3' },
    backend: { type: 'string' },
  },
});
const seq = Number(values.seq);
const batchSize = Number(values.batch ?? (values.method === 'full' ? 4 : 8));
const steps = Number(values.steps);

// Each method runs in a process of its own, so peak RSS is that method's and a backend
// that dies of memory (wasm's 4 GB cap) does not take the other row with it.
if (!process.env.TUNESMITH_BENCH_CHILD) {
  console.log(`machine load average (1, 5, 15 min): ${os.loadavg().map((l) => l.toFixed(2)).join(', ')} on ${os.cpus().length} cores`);
  console.log(sameBlasKernelsLine());
  const methods = values.method === 'both' ? ['lora', 'full'] : [values.method!];
  const ours = new Map<string, { tokens_per_s: number; peak_rss_mib: number; batch: number }>();
  for (const method of methods) {
    const args = process.argv.slice(2).filter((a, i, all) => a !== '--method' && all[i - 1] !== '--method');
    const child = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), ...args, '--method', method], {
      stdio: ['ignore', 'pipe', 'pipe'],
      encoding: 'utf8',
      env: { ...process.env, TUNESMITH_BENCH_CHILD: '1' },
    });
    process.stdout.write(child.stdout);
    if (child.status !== 0) console.log(`${method.padEnd(5)} failed: ${child.stderr.trim().split('\n').filter((l) => /Error|Abort/.test(l)).pop()?.slice(0, 200) ?? `exit ${child.status}`}`);
    const json = child.stdout.split('\n').find((l) => l.startsWith('{'));
    if (json) ours.set(method, JSON.parse(json));
  }
  const why = pytorchUnavailable();
  if (why) console.log(`PyTorch comparison skipped: ${why}`);
  else if (values['random-init'] !== 'gpt2') console.log('PyTorch comparison runs for --random-init gpt2 only (the anchor script is a GPT-2)');
  else {
    for (const [method, result] of ours) {
      const theirs = runPytorch(['--mode', method, '--batch', String(result.batch), '--seq', String(seq), '--targets', 'c_attn']);
      console.log(ratioLine(method, result, theirs));
      console.log(JSON.stringify({ bench: 'train-pytorch', method, batch: result.batch, seq, pytorch: theirs, speed_ratio: result.tokens_per_s / theirs.tokens_per_s, rss_ratio: result.peak_rss_mib / theirs.peak_rss_mib }));
    }
  }
  process.exit(0);
}

const choice = await initBackend(values.backend);
const backend = choice.name;
console.log(`backend ${describeBackend(choice)}, ${values['random-init']}, seq ${seq}, batch ${batchSize}, ${steps} measured steps after one warm-up`);

{
  const method = values.method!;
  const model = randomModel(values['random-init']!);
  const ids = Array.from({ length: batchSize }, (_, b) => Array.from({ length: seq }, (_, t) => (b * 7919 + t * 104729) % model.config.vocabSize));
  const batch: Batch = { input_ids: ids, labels: ids, attention_mask: ids.map((row) => row.map(() => 1)) };
  let params: TrainableParam[];
  const forward: ForwardOptions = {};
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
    console.log(`${method.padEnd(5)} ${tokensPerS.toFixed(1)} tokens/s  step ${(fwdBwd + opt).toFixed(2)} s = forward+backward ${fwdBwd.toFixed(2)} s + optimizer ${opt.toFixed(2)} s  peak RSS ${peakMiB.toFixed(0)} MiB${gpuPeak ? `  GPU buffers ${gpuMiB.toFixed(0)} MiB` : ''}`);
    console.log(JSON.stringify({ bench: 'train', method, backend, model: values['random-init'], seq, batch: batchSize, tokens_per_s: tokensPerS, forward_backward_s: fwdBwd, optimizer_s: opt, peak_rss_mib: peakMiB, ...(gpuPeak ? { peak_gpu_mib: gpuMiB } : {}) }));
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
