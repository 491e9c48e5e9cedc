// Peak memory of a training step from a model config alone. A step has three high points:
// the loss gradient being formed (every saved tensor plus logits-sized temporaries), the
// end of backward (tfjs frees saved tensors and activation gradients only then) and the
// AdamW update (temporaries the size of the largest trainable tensor). Each is added up
// from the same parts; the largest is the peak.
import os from 'node:os';
import type { BackendName } from '../engine/backend';
import { ARCHITECTURES } from '../models/causal-lm';
import type { ModelConfig } from '../models/config';
import { DEFAULT_LORA } from '../train/config';
import { aliveActivations, FLOAT32_BYTES, shapeBytes, type DropoutRates } from './activations';
import { memoryBand, type Band } from './band';
import { defaultBackend, ENGINE_COEFFICIENTS, type EngineCoefficients } from './coefficients';
import { deviceBand, deviceMemory, type DeviceMemory, type GpuLimits } from './device';
import {
  countParameters,
  headParameters,
  loraParameterCount,
  loraProjections,
  parameterShapes,
  positionParameters,
  projectionParameters,
  projections,
  type Projection,
} from './parameters';

export interface LoraShape {
  r: number;
  /** PEFT target_modules; null or absent = the architecture's default, as the trainer does. */
  targetModules?: string[] | null;
  dropout?: number;
}

export interface TrainingShape {
  model: ModelConfig;
  method: 'full' | 'lora';
  /** The trainer's defaults (r 8, default target, no dropout) where absent. */
  lora?: LoraShape;
  /** Micro-batch size (per_device_train_batch_size). */
  batch: number;
  /** Tokens per row: the padded length, at most data.max_length. */
  seq: number;
  gradientAccumulation?: number;
  /** The model config's rates where absent, as training applies them. */
  dropout?: Omit<DropoutRates, 'lora'>;
  weightDecay?: number;
  /** The backend whose coefficients apply; TUNESMITH_BACKEND or wasm where absent. */
  backend?: BackendName;
  /** Total RAM to compare with; os.totalmem() where absent. */
  ramBytes?: number;
  /** The adapter the webgpu backend runs on (its memory and binding limit), where one was asked. */
  gpu?: GpuLimits;
  /** Count a training process's tokenizer, store and data in the fixed overhead (benchmarks on random weights have none). */
  tokenizer?: boolean;
  /** `"bf16": true`: a LoRA run's frozen projections in bf16 where the kernel reads them, and the backend's bf16 counts. */
  bf16?: boolean;
  /** This CPU trains bf16 on a kernel (appInfo.bf16Kernel), so a suggestion may turn bf16 on. */
  bf16Kernel?: boolean;
}

export type Phase = 'loss' | 'backward' | 'optimizer';

/** Bytes by what holds them, at the peak. */
export interface MemoryComponents {
  /** Node, tfjs, the backend and the tokenizer. */
  runtime: number;
  weights: number;
  /** The tape's saved copies of weights and XNNPACK's packed weights (wasm). */
  weight_copies: number;
  /** Trainable parameters' gradients (twice while accumulating: the sum so far and the new micro-batch's). */
  gradients: number;
  /** AdamW's m and v. */
  optimizer_moments: number;
  /** Tensors the forward pass saved for backward, logits aside. */
  activations: number;
  /** Gradients of those activations, all alive until backward ends. */
  activation_gradients: number;
  /** [B, T, V] logits, the loss's copies of them and its softmax/gradient temporaries. */
  logits: number;
  /** The dense [V, E] gradient of the token lookup beside the head's, and its JS copy. */
  embedding_gradient: number;
  /** The optimizer update's temporaries. */
  workspace: number;
  /** The allocator's high-water mark beyond the live bytes, and freed arrays the garbage collector has not taken yet. */
  allocator_slack: number;
}

export interface MemoryEstimate {
  backend: BackendName;
  /** Estimated for `"bf16": true`. */
  bf16: boolean;
  /** Which high point of the step is the peak. */
  phase: Phase;
  components: MemoryComponents;
  totalBytes: number;
  /** Peak of the bytes tfjs's tensors hold (what the engine's own counters see). */
  tensorPeakBytes: number;
  /** The part inside the backend's heap, and the heap's cap (null: none). */
  heap: { bytes: number; limitBytes: number | null };
  /** One block's activations when the backward pass ends. */
  perBlockBytes: number;
  trainableParameters: number;
  ramBytes: number;
  /** The webgpu backend: the bytes in GPU buffers and what they are compared with; null elsewhere. */
  device: DeviceMemory | null;
  band: Band;
}

function positiveInteger(name: string, v: number): number {
  if (!Number.isInteger(v) || v <= 0) throw new Error(`${name} must be a whole number > 0, got ${v}`);
  return v;
}

/** The inputs checked, with every default filled in. */
interface Run {
  model: ModelConfig;
  method: 'full' | 'lora';
  batch: number;
  seq: number;
  accumulation: number;
  loraR: number;
  adapted: Projection[];
  dropout: DropoutRates;
  weightDecay: boolean;
  backend: BackendName;
  bf16: boolean;
  k: EngineCoefficients;
}

function resolve(s: TrainingShape): Run {
  const c = s.model;
  const seq = positiveInteger('seq', s.seq);
  if (c.maxPositions !== null && seq > c.maxPositions) throw new Error(`seq ${seq} is longer than this model's ${c.maxPositions} positions`);
  const lora = { r: DEFAULT_LORA.r, targetModules: DEFAULT_LORA.target_modules, dropout: DEFAULT_LORA.dropout, ...s.lora };
  const rates = s.dropout ?? { embedding: c.embdDropout, residual: c.residDropout, attention: c.attnDropout };
  const backend = s.backend ?? defaultBackend();
  const k = ENGINE_COEFFICIENTS[backend];
  return {
    model: c,
    method: s.method,
    batch: positiveInteger('batch', s.batch),
    seq,
    accumulation: positiveInteger('gradient accumulation', s.gradientAccumulation ?? 1),
    loraR: s.method === 'lora' ? positiveInteger('LoRA r', lora.r) : lora.r,
    adapted: s.method === 'lora' ? loraProjections(c, lora.targetModules ?? null) : [],
    dropout: { ...rates, lora: lora.dropout ?? 0 },
    weightDecay: (s.weightDecay ?? 0) > 0,
    backend,
    bf16: s.bf16 ?? false,
    k: s.bf16 ? { ...k, ...k.bf16.counts } : k,
  };
}

/** One high point of the step, before the runtime and the allocator's slack. */
interface PhaseParts {
  parts: Omit<MemoryComponents, 'runtime' | 'allocator_slack'>;
  /** Heap bytes that are not tfjs tensors (packed weights). */
  untracked: number;
  /** Bytes outside the backend's heap (JS arrays). */
  outsideHeap: number;
  /** Freed bytes not yet returned (garbage awaiting collection). */
  uncollected: number;
}

const bytes = (n: number) => n * FLOAT32_BYTES;
const sum = (parts: object) => Object.values(parts).reduce((a: number, b: number) => a + b, 0);

function trainableShapes(r: Run): { trainable: number; largest: number } {
  if (r.method === 'lora') {
    return { trainable: loraParameterCount(r.adapted, r.loraR), largest: Math.max(...r.adapted.map((p) => r.loraR * Math.max(p.inFeatures, p.outFeatures))) };
  }
  const sizes = [...parameterShapes(r.model).values()].map((shape) => shape.reduce((a, b) => a * b, 1));
  return { trainable: countParameters(r.model), largest: Math.max(...sizes) };
}

interface StepParts {
  phases: Record<Phase, PhaseParts>;
  weights: number;
  trainable: number;
  /** One block's activations when backward ends. */
  perBlock: number;
}

/** Bytes a LoRA run in bf16 saves by keeping its frozen projections (and an untied head) in bf16. */
function bf16BaseSaving(r: Run): number {
  if (!r.bf16 || r.method !== 'lora') return 0;
  const c = r.model;
  const frozen = projectionParameters(c) + (c.tieWordEmbeddings ? 0 : headParameters(c));
  return (FLOAT32_BYTES - r.k.bf16.frozenProjectionBytes) * frozen;
}

/** A LoRA run's frozen projections without a pair, and the head (frozen in every LoRA run). */
function frozenUnadapted(r: Run): Projection[] {
  if (r.method !== 'lora') return [];
  const adapted = new Set(r.adapted.map((p) => p.module));
  const c = r.model;
  return [...projections(c).filter((p) => !adapted.has(p.module)), { module: 'lm_head', inFeatures: c.nEmbd, outFeatures: c.vocabSize }];
}

function stepParts(r: Run): StepParts {
  const { model: c, k } = r;
  const { trainable, largest } = trainableShapes(r);
  const weights = bytes(countParameters(c)) - bf16BaseSaving(r);
  const gradient = bytes(trainable);
  // From the second micro-batch on, the sum of the earlier ones' gradients waits beside the new ones.
  const pendingGradients = r.accumulation > 1 ? gradient : 0;
  const moments = 2 * gradient;
  const head = bytes(headParameters(c));
  // Every weight but the position table and an untied embedding (both only looked up) is
  // an operand the tape saves.
  const tapeCopies = k.weightCopies * (weights - bytes(positionParameters(c)) - (c.tieWordEmbeddings ? 0 : head));
  // Conv1D weights ([in, out], GPT-2) are multiplied untransposed from the first forward on.
  const packedAlways = ARCHITECTURES[c.modelType].fanInFanOut ? k.packedWeights * bytes(projectionParameters(c)) : 0;
  const packedInBackward = k.packedWeights * (bytes(projectionParameters(c)) + head);
  const inputs = { model: c, microBatch: { batch: r.batch, seq: r.seq }, dropout: r.dropout, adapted: r.adapted, frozen: frozenUnadapted(r), loraR: r.loraR };
  const saved = aliveActivations(k, inputs, 'saved');
  const atEnd = aliveActivations(k, inputs, 'backward');
  const full = r.method === 'full';
  const embeddingInHeap = full && c.tieWordEmbeddings ? k.tiedEmbeddingGradients * head : 0;
  const embeddingJs = full ? k.embeddingGradientJsCopies * head : 0;
  const base = { weights, optimizer_moments: moments, activations: 0, activation_gradients: 0, logits: 0, embedding_gradient: 0, workspace: 0 };
  const phases: Record<Phase, PhaseParts> = {
    loss: {
      parts: {
        ...base,
        weight_copies: tapeCopies + packedAlways,
        gradients: pendingGradients,
        activations: saved.total,
        logits: saved.logits + k.lossWorkspace * shapeBytes(c, inputs.microBatch).logits,
      },
      untracked: packedAlways,
      outsideHeap: 0,
      uncollected: 0,
    },
    backward: {
      parts: {
        ...base,
        weight_copies: tapeCopies + packedInBackward,
        gradients: pendingGradients + gradient,
        activations: saved.total,
        activation_gradients: atEnd.total - saved.total,
        logits: atEnd.logits,
        embedding_gradient: embeddingInHeap + embeddingJs,
      },
      untracked: packedInBackward,
      outsideHeap: embeddingJs,
      uncollected: 0,
    },
    optimizer: {
      parts: { ...base, weight_copies: packedAlways, gradients: gradient, workspace: (k.optimizerWorkspace + (r.weightDecay ? k.weightDecayWorkspace : 0)) * bytes(largest) },
      untracked: packedAlways,
      outsideHeap: 0,
      // Clipping has just replaced every gradient and freed their squares.
      uncollected: k.lateCollected * 2 * gradient,
    },
  };
  return { phases, weights, trainable, perBlock: atEnd.perBlock };
}

export function estimatePeak(s: TrainingShape): MemoryEstimate {
  const r = resolve(s);
  const { model: c, k } = r;
  const { phases, weights, trainable, perBlock } = stepParts(r);
  const runtime = k.runtimeBytes + (s.tokenizer === false ? 0 : k.tokenizerBytesPerToken * c.vocabSize + k.trainingProcessBytes);
  let peak: { phase: Phase; components: MemoryComponents; total: number } | undefined;
  let tensorPeakBytes = 0;
  let heapBytes = 0;
  for (const [phase, p] of Object.entries(phases) as [Phase, PhaseParts][]) {
    const live = sum(p.parts);
    const heap = live - p.outsideHeap;
    const slack = Math.round(k.heapSlack * (heap - weights) + p.uncollected);
    const total = runtime + live + slack;
    tensorPeakBytes = Math.max(tensorPeakBytes, heap - p.untracked);
    heapBytes = Math.max(heapBytes, heap + slack);
    if (!peak || total > peak.total) peak = { phase, components: { runtime, ...p.parts, allocator_slack: slack }, total };
  }
  const ramBytes = s.ramBytes ?? os.totalmem();
  const heap = { bytes: heapBytes, limitBytes: k.heapLimitBytes };
  const ramBand = memoryBand(peak!.total, ramBytes, heap);
  // On webgpu the tensors (the heap here) are GPU buffers.
  const device = r.backend === 'webgpu' ? deviceMemory(heapBytes, ramBytes, c, { batch: r.batch, seq: r.seq }, r.method, s.gpu) : null;
  return {
    backend: r.backend,
    bf16: r.bf16,
    phase: peak!.phase,
    components: peak!.components,
    totalBytes: peak!.total,
    tensorPeakBytes,
    heap,
    perBlockBytes: perBlock,
    trainableParameters: trainable,
    ramBytes,
    device,
    band: device ? deviceBand(device, ramBand, (total, of) => memoryBand(total, of, heap)) : ramBand,
  };
}
