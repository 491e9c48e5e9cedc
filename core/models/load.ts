import path from 'node:path';
import { tf } from '../engine/backend';
import { openWeights, readModelConfigJson } from '../checkpoint/model-folder';
import { ARCHITECTURES, CausalLM } from './causal-lm';
import { parseModelConfig, type ModelConfig } from './config';
import { modelFromWeights, type LoadedModel } from './from-weights';
import { isLayerNormWeight, type Weights } from './weights';

/** A model folder's config.json, without touching its weights. */
export function loadModelConfig(dir: string): ModelConfig {
  return parseModelConfig(readModelConfigJson(dir), path.join(dir, 'config.json'));
}

export function loadModel(dir: string): LoadedModel {
  return modelFromWeights(loadModelConfig(dir), openWeights(dir));
}

/** Shapes of the public checkpoints, for benchmarks and estimates without a download. */
export const RANDOM_INIT_CONFIGS: Record<string, Record<string, unknown>> = {
  gpt2: { model_type: 'gpt2', n_layer: 12, n_embd: 768, n_head: 12, n_positions: 1024, vocab_size: 50257, bos_token_id: 50256, eos_token_id: 50256 },
  'gpt2-medium': { model_type: 'gpt2', n_layer: 24, n_embd: 1024, n_head: 16, n_positions: 1024, vocab_size: 50257, bos_token_id: 50256, eos_token_id: 50256 },
  'gpt2-large': { model_type: 'gpt2', n_layer: 36, n_embd: 1280, n_head: 20, n_positions: 1024, vocab_size: 50257, bos_token_id: 50256, eos_token_id: 50256 },
  'gpt2-xl': { model_type: 'gpt2', n_layer: 48, n_embd: 1600, n_head: 25, n_positions: 1024, vocab_size: 50257, bos_token_id: 50256, eos_token_id: 50256 },
  'bloom-560m': { model_type: 'bloom', n_layer: 24, hidden_size: 1024, n_head: 16, vocab_size: 250880, bos_token_id: 1, eos_token_id: 2, pad_token_id: 3 },
  'bloom-1b1': { model_type: 'bloom', n_layer: 24, hidden_size: 1536, n_head: 16, vocab_size: 250880, bos_token_id: 1, eos_token_id: 2, pad_token_id: 3 },
  'bloom-1b7': { model_type: 'bloom', n_layer: 24, hidden_size: 2048, n_head: 16, vocab_size: 250880, bos_token_id: 1, eos_token_id: 2, pad_token_id: 3 },
};

export function randomConfig(name: string): ModelConfig {
  const raw = RANDOM_INIT_CONFIGS[name];
  if (!raw) throw new Error(`--random-init ${name}: unknown; choose one of ${Object.keys(RANDOM_INIT_CONFIGS).join(', ')}`);
  return parseModelConfig(raw, `--random-init ${name}`);
}

/** A model with GPT-2's initialisation (normal 0.02, LayerNorms at identity); same compute as real weights. */
export function randomModel(name: string, seed = 0): CausalLM {
  const config = randomConfig(name);
  const weights: Weights = new Map();
  for (const [key, shape] of ARCHITECTURES[config.modelType].weightShapes(config)) {
    weights.set(key, isLayerNormWeight(key) ? tf.ones(shape) : key.endsWith('.bias') ? tf.zeros(shape) : tf.randomNormal(shape, 0, 0.02, 'float32', seed + weights.size));
  }
  return new CausalLM(config, weights);
}
