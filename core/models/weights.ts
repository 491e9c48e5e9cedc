import { tf } from '../engine/backend';
import type { LayerCache } from '../ops/attention';
import { Bf16Weight } from '../ops/bf16';
import { dropoutFrom, type DropoutCall, type DropoutStream } from '../ops/dropout';
import type { TiedGradient } from '../ops/embedding';
import { linear, type LoraPair, type ProjectionWeight } from '../ops/linear';

export type { LayerCache };

/**
 * Model weights by their Hugging Face state-dict name (with the `transformer.` prefix). A LoRA
 * run in bf16 keeps its frozen projections as Bf16Weight; everything else is an fp32 tensor.
 */
export type Weights = Map<string, ProjectionWeight>;

/** LoRA pairs by the module they adapt, e.g. `transformer.h.0.attn.c_attn`. */
export type LoraLayers = Map<string, LoraPair>;

export interface ForwardOptions {
  /** [B, T_past + T]: 1 for real tokens, 0 for padding. */
  attentionMask?: tf.Tensor2D;
  /** The cache returned by the previous call; its length is the position offset. */
  cache?: LayerCache[];
  /** Return the keys and values so the next call only computes new positions. */
  useCache?: boolean;
  lora?: LoraLayers;
  loraDropout?: number;
  /** Dropout layers run only while training; the trainer passes its seeded dropout stream here. */
  dropout?: DropoutStream;
  /** Compute logits for the last N positions only (generation needs 1): the head is the biggest matmul. */
  logitsToKeep?: number;
  /** bf16 autocast for every projection and attention's q·kᵀ and p·v (fp32 everywhere else), as `torch.autocast(dtype=bfloat16)`. */
  bf16?: boolean;
}

export interface ForwardResult {
  logits: tf.Tensor3D;
  cache?: LayerCache[];
}

/**
 * The LoRA-input dropout for `linear`, whose kernel makes the mask itself: each call draws the
 * stream's next call number, and only when a LoRA path runs. None when not training or at rate 0.
 */
export function activeDropoutDraw(opts: ForwardOptions, rate: number): (() => DropoutCall) | undefined {
  const stream = opts.dropout;
  return stream && rate > 0 ? () => stream.draw(rate) : undefined;
}

/** The attention probabilities' dropout call (the kernel makes its mask), or none when not training or the rate is 0. */
export function attentionDropout(opts: ForwardOptions, rate: number): DropoutCall | undefined {
  return activeDropoutDraw(opts, rate)?.();
}

/** LayerNorm scales are named ln_1/ln_2/ln_f (GPT-2) or *layernorm (BLOOM). */
export function isLayerNormWeight(name: string): boolean {
  return /(ln_\d+|ln_f|layernorm)\.weight$/.test(name);
}

/** A projection's weight, in fp32 or bf16. */
export function getProjectionWeight(w: Weights, name: string): ProjectionWeight {
  const t = w.get(name);
  if (!t) throw new Error(`model weight "${name}" is missing`);
  return t;
}

/** Any weight in fp32: only projections are ever stored in bf16. */
export function getWeight(w: Weights, name: string): tf.Tensor {
  return fp32Weight(name, getProjectionWeight(w, name));
}

/** The tensor itself, or a clear error where a bf16-stored weight reaches code that needs fp32. */
export function fp32Weight(name: string, t: ProjectionWeight): tf.Tensor {
  if (t instanceof Bf16Weight) throw new Error(`model weight "${name}" is stored in bf16 (a LoRA run's frozen base); only its projection reads it`);
  return t;
}

export function dropoutFn(opts: ForwardOptions): (x: tf.Tensor, rate: number) => tf.Tensor {
  const stream = opts.dropout;
  return stream ? (x, rate) => dropoutFrom(stream, x, rate) : (x) => x;
}

/**
 * The LM head: the untied `lm_head.weight` when the checkpoint has one, else the token
 * embedding, whose gradient it then shares with the lookup through `tied`.
 */
export function lmHead(w: Weights, x: tf.Tensor, embeddingName: string, logitsToKeep: number | undefined, tied: TiedGradient): tf.Tensor3D {
  const t = x.shape[1]!;
  const kept = logitsToKeep && logitsToKeep < t ? tf.slice(x, [0, t - logitsToKeep, 0], [-1, logitsToKeep, -1]) : x;
  const untied = w.get('lm_head.weight');
  if (untied) return linear(kept, untied, undefined, 'out_in') as tf.Tensor3D;
  return linear(kept, getProjectionWeight(w, embeddingName), undefined, 'out_in', undefined, undefined, tied) as tf.Tensor3D;
}
