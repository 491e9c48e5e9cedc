// Activation bytes of one micro-batch: the engine's tensor counts times the run's shapes.
// Accumulation runs micro-batches one after another, so only one micro-batch's
// activations exist at a time.
import type { ModelConfig } from '../models/config';
import type { BlockTensors, EngineCoefficients } from './coefficients';
import type { Projection } from './parameters';

export const FLOAT32_BYTES = 4;

/** Dropout probabilities the forward pass applies; 0 switches a site off. */
export interface DropoutRates {
  embedding: number;
  residual: number;
  attention: number;
  lora: number;
}

export interface MicroBatch {
  batch: number;
  seq: number;
}

type ShapeBytes = BlockTensors & { logits: number };

/** Bytes of one tensor of each shape class. */
export function shapeBytes(c: ModelConfig, m: MicroBatch): ShapeBytes {
  const tokens = m.batch * m.seq * FLOAT32_BYTES;
  return {
    hidden: tokens * c.nEmbd,
    qkv: tokens * 3 * c.nEmbd,
    mlp: tokens * c.nInner,
    scores: m.batch * c.nHead * m.seq * m.seq * FLOAT32_BYTES,
    mask: m.batch * m.seq * m.seq * FLOAT32_BYTES,
    logits: tokens * c.vocabSize,
  };
}

export interface AliveActivations {
  /** One block's tensors, LoRA's included. */
  perBlock: number;
  /** All blocks and the tensors outside them, logits excepted. */
  total: number;
  /** [B, T, V] tensors. */
  logits: number;
}

export interface ActivationInputs {
  model: ModelConfig;
  microBatch: MicroBatch;
  dropout: DropoutRates;
  /** Projections with a LoRA pair (none for full fine-tuning). */
  adapted: Projection[];
  /** Frozen projections without one, the head included (none for full fine-tuning): their backward needs no input. */
  frozen: Projection[];
  loraR: number;
}

/** What is alive when the forward pass ends ('saved') or when the backward pass ends ('backward'). */
export function aliveActivations(k: EngineCoefficients, x: ActivationInputs, phase: 'saved' | 'backward'): AliveActivations {
  const c = x.model;
  const arch = k.architectures[c.modelType];
  const counts = arch[phase];
  const size = shapeBytes(c, x.microBatch);
  const on = (rate: number, n: number) => (rate > 0 ? n : 0);

  let block = 0;
  for (const key of Object.keys(counts.block) as (keyof BlockTensors)[]) block += counts.block[key] * size[key];
  block += on(x.dropout.attention, arch.attentionDropout[phase]) * size.scores;
  block += on(x.dropout.residual, arch.residualDropout[phase]) * size.hidden;

  const perToken = x.microBatch.batch * x.microBatch.seq * FLOAT32_BYTES;
  const lora = k.lora[phase];
  const loraDropout = on(x.dropout.lora, k.lora.dropout[phase]);
  let adapters = 0;
  for (const p of x.adapted) {
    adapters += perToken * ((lora.input + loraDropout) * p.inFeatures + lora.output * p.outFeatures + lora.rank * x.loraR);
  }

  // Engines that let a frozen projection's input go hold one [B, T, in] less per such projection.
  const released = k.frozenInputsReleased * perToken * x.frozen.reduce((n, p) => n + p.inFeatures, 0);
  const outer = (counts.outer.hidden + on(x.dropout.embedding, arch.embeddingDropout[phase])) * size.hidden;
  return {
    perBlock: block + (adapters - released) / c.nLayer,
    total: c.nLayer * block + adapters - released + outer,
    logits: counts.outer.logits * size.logits,
  };
}
