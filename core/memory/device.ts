// The webgpu backend's side of the estimate: its tensors live in GPU buffers, so the step's
// tensor peak plus tfjs's buffer pool is compared with the adapter's memory, not RAM. WebGPU
// does not report how much memory an adapter has; Dawn can (its memory-heaps feature), but
// only where the binding exposes it. Where it does not, the memory is unknown and only the
// per-buffer limit is checked: a tensor a kernel binds whole must fit one binding.
import type { GpuAdapter } from '../engine/webgpu';
import type { ModelConfig } from '../models/config';
import { formatBytes } from '../units';
import { FLOAT32_BYTES, shapeBytes, type MicroBatch } from './activations';
import { FITS_SHARE, type Band } from './band';

/** What the estimate needs of core/engine/webgpu.ts's adapter summary. */
export type GpuLimits = Pick<GpuAdapter, 'software' | 'memoryBytes' | 'maxStorageBufferBindingSize'>;

export interface DeviceMemory {
  /** Peak bytes in GPU buffers: tfjs's tensors at the step's peak and its buffer pool's slack. */
  bytes: number;
  /** What that is compared with: the adapter's device-local heaps, RAM (a software adapter's buffers are host memory), or nothing known. */
  memory: { source: 'adapter heaps' | 'ram'; bytes: number } | null;
  /** The largest tensor a kernel binds whole (frozen weights are read in row blocks, so they are not). */
  largestBinding: { what: string; bytes: number };
  /** The adapter's maxStorageBufferBindingSize; null when no adapter was asked. */
  bindingLimitBytes: number | null;
}

/** The largest of the tensors a step binds whole: logits and their gradient, scores, MLP, a trained embedding. */
function largestBinding(c: ModelConfig, m: MicroBatch, method: 'full' | 'lora'): DeviceMemory['largestBinding'] {
  const s = shapeBytes(c, m);
  const candidates: DeviceMemory['largestBinding'][] = [
    { what: `logits [${m.batch}, ${m.seq}, ${c.vocabSize}]`, bytes: s.logits },
    { what: `attention scores [${m.batch}, ${c.nHead}, ${m.seq}, ${m.seq}]`, bytes: s.scores },
    { what: `MLP activations [${m.batch}, ${m.seq}, ${c.nInner}]`, bytes: s.mlp },
    ...(method === 'full' ? [{ what: `the trained embedding [${c.vocabSize}, ${c.nEmbd}]`, bytes: c.vocabSize * c.nEmbd * FLOAT32_BYTES }] : []),
  ];
  return candidates.reduce((a, b) => (b.bytes > a.bytes ? b : a));
}

export function deviceMemory(bytes: number, ramBytes: number, c: ModelConfig, m: MicroBatch, method: 'full' | 'lora', gpu?: GpuLimits): DeviceMemory {
  const memory = gpu?.memoryBytes ? { source: 'adapter heaps' as const, bytes: gpu.memoryBytes } : gpu?.software ? { source: 'ram' as const, bytes: ramBytes } : null;
  return { bytes, memory, largestBinding: largestBinding(c, m, method), bindingLimitBytes: gpu?.maxStorageBufferBindingSize ?? null };
}

/**
 * exceeds when a tensor is larger than one binding; else the RAM band for a software adapter
 * (`ramBand`, its buffers are host memory), the band of the GPU's own memory where known, or
 * fits where it is not (nothing else can be checked: the text says the memory is unknown).
 */
export function deviceBand(d: DeviceMemory, ramBand: Band, band: (total: number, of: number) => Band): Band {
  if (d.bindingLimitBytes !== null && d.largestBinding.bytes > d.bindingLimitBytes) return 'exceeds';
  if (!d.memory) return 'fits';
  return d.memory.source === 'ram' ? ramBand : band(d.bytes, d.memory.bytes);
}

/**
 * The band in words, as `tunesmith estimate` and the app's wizard say it: against the GPU's
 * memory where known, else only the binding limit. Null for a software adapter, whose
 * buffers are in RAM: the RAM wording applies.
 */
export function deviceVerdict(d: DeviceMemory, band: Band): string | null {
  const { what, bytes } = d.largestBinding;
  if (d.bindingLimitBytes !== null && bytes > d.bindingLimitBytes) return `exceeds on the GPU: ${what} is ${formatBytes(bytes)}, more than the ${formatBytes(d.bindingLimitBytes)} it binds at once`;
  if (d.memory?.source === 'adapter heaps') return `${band} on the GPU: ${Math.round((100 * d.bytes) / d.memory.bytes)}% of its ${formatBytes(d.memory.bytes)} memory (fits means ≤ ${FITS_SHARE * 100}%)`;
  if (d.memory) return null;
  const limit = d.bindingLimitBytes === null ? 'no GPU adapter was asked, so its binding limit is unknown too' : `the largest tensor bound whole (${what}, ${formatBytes(bytes)}) fits its ${formatBytes(d.bindingLimitBytes)} binding limit`;
  return `${band} as far as can be checked: GPU memory unknown (WebGPU does not report it); ${limit}`;
}
