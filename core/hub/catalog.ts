// The models the wizard offers without searching the Hub. Each carries its published
// config.json's shape fields, so parameters, download size and training memory are all
// computed here from the same code that loads and estimates models, never typed in.
import fs from 'node:fs';
import path from 'node:path';
import type { CatalogEntry } from '../api/contract';
import { estimatePeak } from '../memory/estimate';
import { countParameters } from '../memory/parameters';
import { parseModelConfig, type ModelConfig } from '../models/config';
import { cachedSnapshot } from './cache';
import type { HubConfig } from './config';

export interface CatalogModel {
  id: string;
  description: string;
  /** The fields of the model's config.json the loader and the estimator read. */
  config: Record<string, unknown>;
  /** How the published weights are stored. */
  dtype: 'float32' | 'float16';
  /**
   * OpenAI's GPT-2 checkpoints also store each layer's causal mask ([n_ctx, n_ctx] `attn.bias`,
   * float32), a tenth of the small models' download.
   */
  storesCausalMask: boolean;
}

const GPT2_COMMON = { model_type: 'gpt2', n_positions: 1024, n_ctx: 1024, vocab_size: 50257, activation_function: 'gelu_new', bos_token_id: 50256, eos_token_id: 50256 };
const BLOOM_COMMON = { model_type: 'bloom', vocab_size: 250880, layer_norm_epsilon: 1e-5, bos_token_id: 1, eos_token_id: 2, pad_token_id: 3 };

const gpt2 = (id: string, description: string, n_layer: number, n_embd: number, n_head: number): CatalogModel => ({
  id,
  description,
  config: { ...GPT2_COMMON, n_layer, n_embd, n_head },
  dtype: 'float32',
  storesCausalMask: true,
});

const bloom = (id: string, description: string, hidden_size: number, extra: Record<string, unknown> = {}): CatalogModel => ({
  id,
  description,
  config: { ...BLOOM_COMMON, n_layer: 24, hidden_size, n_head: 16, ...extra },
  dtype: 'float16',
  storesCausalMask: false,
});

export const CATALOG: readonly CatalogModel[] = [
  gpt2('distilgpt2', 'GPT-2 distilled to half the layers: English, the quickest to fine-tune', 6, 768, 12),
  gpt2('gpt2', "OpenAI's GPT-2, the smallest: English web text", 12, 768, 12),
  gpt2('gpt2-medium', 'GPT-2 medium: English, noticeably better text', 24, 1024, 16),
  gpt2('gpt2-large', 'GPT-2 large: English; full fine-tuning needs a lot of memory', 36, 1280, 20),
  gpt2('gpt2-xl', 'GPT-2 XL: English; LoRA recommended', 48, 1600, 25),
  bloom('bigscience/bloom-560m', 'BLOOM 560M: 46 languages and 13 programming languages', 1024),
  bloom('bigscience/bloom-1b1', 'BLOOM 1.1B: multilingual', 1536),
  bloom('bigscience/bloom-1b7', 'BLOOM 1.7B: multilingual; LoRA recommended', 2048),
  bloom('Langboat/bloom-800m-zh', 'BLOOM 1.1B with its vocabulary cut to Chinese and English', 1536, { vocab_size: 46145 }),
];

/** The shape the contract promises: batch 1, 512 tokens. */
const ESTIMATE_SHAPE = { batch: 1, seq: 512 } as const;

export function catalogModelConfig(entry: CatalogModel): ModelConfig {
  return parseModelConfig(entry.config, `catalog entry ${entry.id}`);
}

/** What the weights file(s) weigh as published. */
export function publishedWeightBytes(entry: CatalogModel): number {
  const c = catalogModelConfig(entry);
  const masks = entry.storesCausalMask ? c.nLayer * (c.maxPositions ?? 0) ** 2 * 4 : 0;
  return countParameters(c) * (entry.dtype === 'float32' ? 4 : 2) + masks;
}

/** Bytes of a snapshot's files as downloaded (links followed). */
function snapshotBytes(dir: string): number {
  return fs.readdirSync(dir).reduce((n, f) => n + fs.statSync(path.join(dir, f)).size, 0);
}

export function catalogEntries(config: HubConfig): CatalogEntry[] {
  return CATALOG.map((entry) => {
    const model = catalogModelConfig(entry);
    const cachedDir = cachedSnapshot(config.cacheDir, { id: entry.id, revision: 'main' });
    const peak = (method: 'lora' | 'full') => estimatePeak({ model, method, ...ESTIMATE_SHAPE }).totalBytes;
    return {
      id: entry.id,
      architecture: model.modelType,
      parameters: countParameters(model),
      diskBytes: cachedDir ? snapshotBytes(cachedDir) : publishedWeightBytes(entry),
      description: entry.description,
      memory: { loraBytes: peak('lora'), fullBytes: peak('full') },
      cachedDir,
    };
  });
}
