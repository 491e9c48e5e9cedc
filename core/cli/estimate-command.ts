// `tunesmith estimate`: peak training memory from config.json alone, before anything is
// downloaded or loaded, with what to change when it does not fit.
import { initBackend } from '../engine/backend';
import { formatBytes } from '../units';
import { defaultBackend } from '../memory/coefficients';
import { loadNativeKernels } from '../engine/native-kernels';
import type { MemoryComponents } from '../memory/estimate';
import { modelConfigForEstimate } from '../memory/model-config';
import { estimateTrainingMemory, type TrainingEstimate } from '../memory/suggestions';
import { FITS_SHARE } from '../memory/band';
import { deviceVerdict } from '../memory/device';
import { randomConfig } from '../models/load';
import { parseNumber, UsageError } from './args';
import type { Flags, Print } from './commands';

export const ESTIMATE_USAGE =
  'usage: tunesmith estimate --model DIR | --random-init NAME --method full|lora [--lora-r R] [--lora-targets a,b] --batch B --seq S [--grad-accum N] [--bf16] [--ram BYTES] [--json]';

const LABELS: Record<keyof MemoryComponents, string> = {
  runtime: 'runtime (Node, tfjs, tokenizer)',
  weights: 'weights',
  weight_copies: 'weight copies (tape, packed)',
  gradients: 'gradients',
  optimizer_moments: 'AdamW moments m, v',
  activations: 'activations saved for backward',
  activation_gradients: 'activation gradients',
  logits: 'logits and loss buffers',
  embedding_gradient: 'embedding gradient',
  workspace: 'optimizer workspace',
  allocator_slack: 'allocator slack',
};

const PHASES = { loss: 'while the loss gradient is formed', backward: 'at the end of backward', optimizer: 'during the AdamW update' };

function str(flags: Flags, name: string): string | undefined {
  const v = flags[name];
  return typeof v === 'string' ? v : undefined;
}

function required(flags: Flags, name: string, what: string): number {
  const v = parseNumber(`--${name}`, str(flags, name), NaN, true);
  if (!(v > 0)) throw new UsageError(`--${name} ${what} is required (a whole number > 0)\n${ESTIMATE_USAGE}`);
  return v;
}

/** Whether the native kernels this estimate assumes have a bf16 GEMM for this CPU (only then is bf16 suggested). */
function nativeBf16Kernel(): boolean {
  try {
    return loadNativeKernels().info().bf16 !== null;
  } catch {
    return false;
  }
}

function bandText(e: TrainingEstimate): string {
  const device = e.device && deviceVerdict(e.device, e.band);
  if (device) return device;
  if (e.heap.limitBytes !== null && e.heap.bytes > e.heap.limitBytes) {
    return `exceeds the ${e.backend} backend's ${formatBytes(e.heap.limitBytes)} heap (needs ${formatBytes(e.heap.bytes)})`;
  }
  const share = `${Math.round((100 * e.totalBytes) / e.ramBytes)}% of ${formatBytes(e.ramBytes)} RAM`;
  return `${e.band} (${share}; fits means ≤ ${FITS_SHARE * 100}%)`;
}

function printTable(e: TrainingEstimate, print: Print): void {
  const rows: [string, string][] = (Object.keys(LABELS) as (keyof MemoryComponents)[])
    .filter((k) => e.components[k] > 0)
    .map((k) => [LABELS[k], formatBytes(e.components[k])]);
  rows.push(['total peak', formatBytes(e.totalBytes)]);
  const width = Math.max(...rows.map(([label]) => label.length));
  for (const [label, value] of rows) print(`${label.padEnd(width)}  ${value.padStart(10)}`);
  print(`peak ${PHASES[e.phase]}, ${e.backend} backend${e.bf16 ? ', bf16' : ''}, ${e.trainableParameters.toLocaleString('en-US')} trainable parameters`);
  if (e.device) print(`in GPU buffers at the peak: ${formatBytes(e.device.bytes)} (tfjs's tensors and its buffer pool); compared with ${e.device.memory?.source === 'ram' ? 'RAM (a software adapter keeps its buffers there)' : e.device.memory ? "the GPU's memory" : 'nothing: GPU memory unknown'}`);
  print(`band: ${bandText(e)}`);
  if (e.suggestions.length) print('to fit:');
  for (const s of e.suggestions) print(`  ${s.change}: ${formatBytes(s.estimate.totalBytes)}, ${s.estimate.band}`);
}

export async function estimateCommand(flags: Flags, print: Print): Promise<void> {
  const dir = str(flags, 'model');
  const name = str(flags, 'random-init');
  if (dir && name) throw new UsageError('give either --model or --random-init, not both');
  if (!dir && !name) throw new UsageError(`--model DIR or --random-init NAME is required\n${ESTIMATE_USAGE}`);
  const method = str(flags, 'method');
  if (method !== 'full' && method !== 'lora') throw new UsageError(`--method must be full or lora; got ${method === undefined ? 'nothing' : `"${method}"`}`);
  const batch = required(flags, 'batch', 'B');
  const seq = required(flags, 'seq', 'S');
  const targets = str(flags, 'lora-targets')?.split(',').map((t) => t.trim()).filter(Boolean);
  const model = dir ? modelConfigForEstimate(dir) : randomConfig(name!);
  const backend = defaultBackend();
  // The GPU's memory and binding limit are the adapter's: ask it (TUNESMITH_BACKEND=webgpu).
  const gpu = backend === 'webgpu' ? (await initBackend()).adapter : undefined;
  const e = estimateTrainingMemory({
    model,
    method,
    lora: { r: parseNumber('--lora-r', str(flags, 'lora-r'), 8, true), targetModules: targets?.length ? targets : null },
    batch,
    seq,
    gradientAccumulation: parseNumber('--grad-accum', str(flags, 'grad-accum'), 1, true),
    backend,
    gpu,
    bf16: flags.bf16 === true,
    bf16Kernel: backend === 'native' && nativeBf16Kernel(),
    ramBytes: flags.ram === undefined ? undefined : required(flags, 'ram', 'BYTES'),
  });
  if (!flags.json) {
    printTable(e, print);
    return;
  }
  print(
    JSON.stringify({
      total_bytes: e.totalBytes,
      components: e.components,
      band: e.band,
      ram_bytes: e.ramBytes,
      phase: e.phase,
      backend: e.backend,
      bf16: e.bf16,
      heap_bytes: e.heap.bytes,
      heap_limit_bytes: e.heap.limitBytes,
      tensor_peak_bytes: e.tensorPeakBytes,
      ...(e.device
        ? {
            gpu_bytes: e.device.bytes,
            gpu_memory_bytes: e.device.memory?.bytes ?? null,
            gpu_memory_source: e.device.memory?.source ?? 'unknown',
            gpu_largest_binding: e.device.largestBinding,
            gpu_binding_limit_bytes: e.device.bindingLimitBytes,
          }
        : {}),
      trainable_parameters: e.trainableParameters,
      suggestions: e.suggestions.map((s) => ({
        change: s.change,
        method: s.shape.method,
        batch: s.shape.batch,
        seq: s.shape.seq,
        bf16: s.shape.bf16 ?? false,
        gradient_accumulation: s.shape.gradientAccumulation ?? 1,
        total_bytes: s.estimate.totalBytes,
        band: s.estimate.band,
      })),
    }),
  );
}
