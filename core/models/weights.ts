import { tf } from '../engine/backend';
import type { LayerCache } from '../ops/attention';
import { dropoutFrom, type DropoutDraw, type DropoutStream } from '../ops/dropout';
import { linear, type LoraPair } from '../ops/linear';

export type { LayerCache };

/** Model weights by their Hugging Face state-dict name (with the `transformer.` prefix). */
export type Weights = Map<string, tf.Tensor>;

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
  /** bf16 autocast for every projection (fp32 everywhere else), as `torch.autocast(dtype=bfloat16)`. */
  bf16?: boolean;
}

export interface ForwardResult {
  logits: tf.Tensor3D;
  cache?: LayerCache[];
}

/** A dropout to apply (attention probabilities), or none when not training or the rate is 0. */
export function activeDropout(opts: ForwardOptions, rate: number): ((probs: tf.Tensor) => tf.Tensor) | undefined {
  const stream = opts.dropout;
  return stream && rate > 0 ? (probs) => dropoutFrom(stream, probs, rate) : undefined;
}

/**
 * The LoRA-input dropout for `linear`, whose kernel makes the mask itself: each call draws the
 * stream's next call number, and only when a LoRA path runs. None when not training or at rate 0.
 */
export function activeDropoutDraw(opts: ForwardOptions, rate: number): (() => DropoutDraw) | undefined {
  const stream = opts.dropout;
  return stream && rate > 0 ? () => stream.draw(rate) : undefined;
}

/** LayerNorm scales are named ln_1/ln_2/ln_f (GPT-2) or *layernorm (BLOOM). */
export function isLayerNormWeight(name: string): boolean {
  return /(ln_\d+|ln_f|layernorm)\.weight$/.test(name);
}

export function getWeight(w: Weights, name: string): tf.Tensor {
  const t = w.get(name);
  if (!t) throw new Error(`model weight "${name}" is missing`);
  return t;
}

export function dropoutFn(opts: ForwardOptions): (x: tf.Tensor, rate: number) => tf.Tensor {
  const stream = opts.dropout;
  return stream ? (x, rate) => dropoutFrom(stream, x, rate) : (x) => x;
}

/** The LM head: the untied `lm_head.weight` when the checkpoint has one, else the token embedding. */
export function lmHead(w: Weights, x: tf.Tensor, embeddingName: string, logitsToKeep?: number): tf.Tensor3D {
  const t = x.shape[1]!;
  const kept = logitsToKeep && logitsToKeep < t ? tf.slice(x, [0, t - logitsToKeep, 0], [-1, logitsToKeep, -1]) : x;
  return linear(kept, w.get('lm_head.weight') ?? getWeight(w, embeddingName), undefined, 'out_in') as tf.Tensor3D;
}
