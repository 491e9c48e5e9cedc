// A model from its config and a source of weights, checked against the shapes the config
// implies. Free of the file system, so the engine runs it in a page too (the GPU window's test).
import type { TensorSource } from '../checkpoint/tensor-source';
import { tf } from '../engine/backend';
import { ARCHITECTURES, CausalLM } from './causal-lm';
import type { ModelConfig } from './config';
import type { Weights } from './weights';

/** Buffers some checkpoints carry that are not weights (GPT-2's causal mask). */
const IGNORED_SUFFIXES = ['.attn.bias', '.attn.masked_bias'];

/**
 * The original GPT-2 uploads name weights without the `transformer.` prefix
 * (`h.0.attn.c_attn.weight`); modern save_pretrained adds it. Normalise to the latter.
 */
export function canonicalName(name: string): string {
  if (name.startsWith('transformer.') || name.startsWith('lm_head.')) return name;
  return `transformer.${name}`;
}

export interface LoadedModel {
  model: CausalLM;
  /** Tensors in the file that the model does not use, for `info --debug`. */
  unused: string[];
}

/**
 * The model of `config` with its weights from `source` (a folder's files, or tensors handed
 * over in memory where there is no file system), checked against the shapes the config implies.
 * Closes the source.
 */
export function modelFromWeights(config: ModelConfig, source: TensorSource): LoadedModel {
  const expected = ARCHITECTURES[config.modelType].weightShapes(config);
  if (!config.tieWordEmbeddings) expected.set('lm_head.weight', [config.vocabSize, config.nEmbd]);
  const weights: Weights = new Map();
  const unused: string[] = [];
  try {
    for (const stored of source.list()) {
      const name = canonicalName(stored.name);
      const shape = expected.get(name);
      if (!shape) {
        if (!IGNORED_SUFFIXES.some((s) => name.endsWith(s))) unused.push(stored.name);
        continue;
      }
      if (stored.shape.join(',') !== shape.join(',')) {
        throw new Error(`${source.path}: tensor "${stored.name}" has shape [${stored.shape}] but config.json implies [${shape}]`);
      }
      weights.set(name, tf.tensor(source.read(stored.name), shape, 'float32'));
    }
  } catch (err) {
    for (const t of weights.values()) t.dispose();
    throw err;
  } finally {
    source.close();
  }
  const missing = [...expected.keys()].filter((k) => !weights.has(k));
  if (missing.length) {
    for (const t of weights.values()) t.dispose();
    const more = missing.length > 3 ? ` and ${missing.length - 3} more` : '';
    throw new Error(`${source.path}: missing weights ${missing.slice(0, 3).join(', ')}${more}`);
  }
  return { model: new CausalLM(config, weights), unused };
}
