// Checks the memory estimator against measured peaks: for each row of a matrix of public
// model shapes (random weights), methods, batches and lengths, a few training steps run in
// a child process of their own and report peak RSS and the peak of tfjs's tensor bytes.
// Rows the estimate says this machine or backend cannot hold are skipped with the reason.
//   npm run bench:memory -- [--quick] [--rows gpt2/lora,b1/s128] [--steps 2] [--force]
//   npm run bench:memory -- --probe     # the tensor counts for core/memory/coefficients.ts
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Batch } from '../core/data/batching';
import { initBackend, tf, type BackendName } from '../core/engine/backend';
import { estimatePeak, type MemoryEstimate } from '../core/memory/estimate';
import { formatBytes } from '../core/units';
import { createLoraLayers } from '../core/models/lora';
import { randomConfig, randomModel } from '../core/models/load';
import type { ForwardOptions } from '../core/models/weights';
import { DEFAULT_LORA } from '../core/train/config';
import { AdamW, clipGradNorm } from '../core/train/adamw';
import { accumulateGradients } from '../core/train/step';
import { makeFullTrainable, makeLoraTrainable } from '../core/train/trainables';
import { SeededDropout } from '../core/train/trainer';
import { probeCoefficients } from './memory-probe';
import { trackTensorBytes } from './tensor-bytes';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean' },
    rows: { type: 'string' },
    steps: { type: 'string', default: '2' },
    force: { type: 'boolean' },
    probe: { type: 'boolean' },
    child: { type: 'string' },
  },
});

interface Row {
  model: string;
  method: 'full' | 'lora';
  batch: number;
  seq: number;
}

const label = (r: Row) => `${r.model}/${r.method}/b${r.batch}/s${r.seq}`;

function parseLabel(text: string): Row {
  const [model, method, b, s] = text.split('/');
  return { model, method: method as Row['method'], batch: Number(b.slice(1)), seq: Number(s.slice(1)) };
}

function matrix(): Row[] {
  const rows: Row[] = [];
  for (const model of ['gpt2', 'gpt2-medium', 'bloom-560m']) {
    for (const method of ['full', 'lora'] as const) {
      for (const batch of [1, 4, 8]) for (const seq of [128, 256]) rows.push({ model, method, batch, seq });
    }
  }
  return rows;
}

const QUICK = ['gpt2/lora/b1/s128', 'gpt2/full/b1/s128', 'bloom-560m/lora/b1/s128'];

/** What the trainer would run: the model's own dropout, LoRA at its defaults, no tokenizer (random weights). */
function estimateRow(r: Row, backend: BackendName): MemoryEstimate {
  return estimatePeak({ model: randomConfig(r.model), method: r.method, batch: r.batch, seq: r.seq, backend, tokenizer: false });
}

interface Measured {
  start_rss: number;
  peak_rss: number;
  tensor_peak: number;
}

/** Child: a few full training steps of one row, then one JSON line with the peaks. */
async function measure(r: Row, steps: number): Promise<void> {
  await initBackend();
  const startRss = process.memoryUsage().rss;
  const tensors = trackTensorBytes();
  const model = randomModel(r.model);
  const forward: ForwardOptions = { dropout: new SeededDropout(1, 0) };
  if (r.method === 'lora') forward.lora = createLoraLayers(model, [model.arch.loraTargets[0]], DEFAULT_LORA.r, DEFAULT_LORA.alpha, 0);
  const params = forward.lora ? makeLoraTrainable(forward.lora) : makeFullTrainable(model);
  const optimizer = new AdamW(params, { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 });
  const vocab = model.config.vocabSize;
  const ids = Array.from({ length: r.batch }, (_, b) => Array.from({ length: r.seq }, (_, t) => (b * 7919 + t * 104729) % vocab));
  const batch: Batch = { input_ids: ids, labels: ids, attention_mask: ids.map((row) => row.map(() => 1)) };
  for (let i = 0; i < steps; i++) {
    const { grads } = accumulateGradients(model, params, [batch], forward);
    clipGradNorm(grads, 1);
    optimizer.apply(grads, 1e-4);
    tf.dispose([...grads.values()]);
  }
  const measured: Measured = { start_rss: startRss, peak_rss: process.resourceUsage().maxRSS * 1024, tensor_peak: tensors.peak() };
  console.log(JSON.stringify(measured));
}

/** Why a child died, from its last error line; the wasm heap running out shows as an abort or a bad access. */
function failure(stderr: string, status: number | null): string {
  const lines = stderr.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('at '));
  const line = lines.filter((l) => /Error|Abort|memory/i.test(l)).pop() ?? `exit ${status}`;
  return /memory|Abort/i.test(line) ? `ran out of memory (${line.slice(0, 80)})` : line.slice(0, 120);
}

const percent = (estimate: number, measured: number) => (100 * (estimate - measured)) / measured;

function table(rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => r.map((cell, c) => (c === 0 || c === r.length - 1 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ').trimEnd()).join('\n');
}

async function main(): Promise<void> {
  const steps = Number(values.steps);
  if (values.child) {
    await measure(parseLabel(values.child), steps);
    return;
  }
  const { name: backend } = await initBackend();
  if (values.probe) {
    console.log(`// ${backend}: tensor counts for core/memory/coefficients.ts`);
    console.log(JSON.stringify(probeCoefficients(), null, 2));
    return;
  }
  const filters = values.rows?.split(',').map((f) => f.trim()).filter(Boolean);
  const rows = matrix().filter((r) => (values.quick ? QUICK.includes(label(r)) : true) && (!filters || filters.some((f) => label(r).includes(f))));
  console.log(`backend ${backend}, ${formatBytes(os.totalmem())} RAM, ${steps} steps per row, peak RSS and tfjs tensor peak per row`);
  const out = [['row', 'phase', 'estimate', 'measured', 'error', 'tensors est', 'tensors', 'error', 'status']];
  let worst: { row: string; error: number } | undefined;
  for (const r of rows) {
    const e = estimateRow(r, backend);
    const cells = [label(r), e.phase, formatBytes(e.totalBytes)];
    const heapCap = e.heap.limitBytes !== null && e.heap.bytes > e.heap.limitBytes;
    if (e.band === 'exceeds' && !values.force) {
      const why = heapCap
        ? `skipped: needs ${formatBytes(e.heap.bytes)} of ${backend} heap, capped at ${formatBytes(e.heap.limitBytes!)}`
        : `skipped: needs ${formatBytes(e.totalBytes)}, this machine has ${formatBytes(e.ramBytes)}`;
      out.push([...cells, '-', '-', formatBytes(e.tensorPeakBytes), '-', '-', why]);
      console.log(`${label(r)}: ${why}`);
      continue;
    }
    process.stderr.write(`${label(r)}: running ${steps} steps...\n`);
    const child = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', label(r), '--steps', String(steps)], { encoding: 'utf8', maxBuffer: 1 << 26 });
    const last = child.stdout.trim().split('\n').pop() ?? '';
    if (child.status !== 0 || !last.startsWith('{')) {
      const why = `skipped: ${failure(child.stderr, child.status)}`;
      out.push([...cells, '-', '-', formatBytes(e.tensorPeakBytes), '-', '-', why]);
      console.log(`${label(r)}: ${why}`);
      continue;
    }
    const m = JSON.parse(last) as Measured;
    const error = percent(e.totalBytes, m.peak_rss);
    if (!worst || Math.abs(error) > Math.abs(worst.error)) worst = { row: label(r), error };
    out.push([...cells, formatBytes(m.peak_rss), `${error.toFixed(1)}%`, formatBytes(e.tensorPeakBytes), formatBytes(m.tensor_peak), `${percent(e.tensorPeakBytes, m.tensor_peak).toFixed(1)}%`, `ran (start RSS ${formatBytes(m.start_rss)})`]);
    console.log(`${label(r)}: estimate ${formatBytes(e.totalBytes)}, measured ${formatBytes(m.peak_rss)} (${error.toFixed(1)}%)`);
  }
  console.log(`\n${table(out)}`);
  console.log(worst ? `\nworst row: ${worst.row}, ${worst.error.toFixed(1)}% (goal: within ±10%)` : '\nno row ran');
}

await main();
