// Parameter counts from a config alone, read off the architecture's own weight table so
// they always equal what the loader builds, and the projections LoRA can adapt.
import { ARCHITECTURES } from '../models/causal-lm';
import type { ModelConfig } from '../models/config';
import { isTargeted } from '../models/lora';

const elements = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** Every tensor a checkpoint of this config holds; a tied LM head is the embedding, so it has none. */
export function parameterShapes(c: ModelConfig): Map<string, number[]> {
  const shapes = ARCHITECTURES[c.modelType].weightShapes(c);
  if (!c.tieWordEmbeddings) shapes.set('lm_head.weight', [c.vocabSize, c.nEmbd]);
  return shapes;
}

/** As `transformers` counts them: the tied head once. */
export function countParameters(c: ModelConfig): number {
  let n = 0;
  for (const shape of parameterShapes(c).values()) n += elements(shape);
  return n;
}

/** The LM head's [vocab, embd] matrix: the token embedding when tied, lm_head otherwise. */
export function headParameters(c: ModelConfig): number {
  return c.vocabSize * c.nEmbd;
}

/**
 * GPT-2's learned position table: read by row lookups only, never a matmul operand, so
 * no backend keeps copies of it.
 */
export function positionParameters(c: ModelConfig): number {
  return (c.maxPositions ?? 0) * c.nEmbd;
}

export interface Projection {
  /** Module name as PEFT sees it, e.g. `transformer.h.0.attn.c_attn`. */
  module: string;
  inFeatures: number;
  outFeatures: number;
}

/** Every block's matmul weights (the only 2-D block weights), i.e. what LoRA can adapt. */
export function projections(c: ModelConfig): Projection[] {
  const arch = ARCHITECTURES[c.modelType];
  const found: Projection[] = [];
  for (const [name, shape] of arch.weightShapes(c)) {
    if (shape.length !== 2 || !name.startsWith('transformer.h.')) continue;
    const [rows, cols] = shape;
    const module = name.slice(0, -'.weight'.length);
    found.push(arch.fanInFanOut ? { module, inFeatures: rows, outFeatures: cols } : { module, inFeatures: cols, outFeatures: rows });
  }
  return found;
}

export function projectionParameters(c: ModelConfig): number {
  return projections(c).reduce((n, p) => n + p.inFeatures * p.outFeatures, 0);
}

/** The projections a LoRA run adapts; null targets mean the architecture's default, as the trainer does. */
export function loraProjections(c: ModelConfig, targets: string[] | null): Projection[] {
  const arch = ARCHITECTURES[c.modelType];
  const wanted = targets ?? [arch.loraTargets[0]];
  const chosen = projections(c).filter((p) => isTargeted(p.module, wanted));
  if (chosen.length === 0) {
    throw new Error(`lora.target_modules ${JSON.stringify(wanted)} match no projection of this ${c.modelType} model (choose from ${arch.loraTargets.join(', ')})`);
  }
  return chosen;
}

/** A = [r, in] and B = [out, r] per adapted projection. */
export function loraParameterCount(adapted: Projection[], r: number): number {
  return adapted.reduce((n, p) => n + r * (p.inFeatures + p.outFeatures), 0);
}
