// What a finished run hands to the ecosystem: a Hugging Face model folder for full
// fine-tuning, a PEFT adapter folder for LoRA. Both load in transformers/peft unchanged.
// Each is built in a temporary folder and renamed whole, so a full disk or a kill never
// leaves a folder that looks finished.
import fs from 'node:fs';
import path from 'node:path';
import { writeSafetensors, type TensorToWrite } from '../checkpoint/safetensors';
import { writeFolderWhole, writeJsonWhole } from '../durable-write';
import type { CausalLM } from '../models/causal-lm';
import { fp32Weight, type LoraLayers } from '../models/weights';

const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'vocab.json', 'merges.txt', 'chat_template.jinja'];

function copyTokenizer(from: string, to: string): void {
  for (const f of TOKENIZER_FILES) {
    if (fs.existsSync(path.join(from, f))) fs.copyFileSync(path.join(from, f), path.join(to, f));
  }
}

/**
 * An HF model folder: weights under their state-dict names (a tied head is not stored, as
 * save_pretrained does), in float32 or rounded to bf16 (half the size; config.json says so).
 */
export function exportModelFolder(model: CausalLM, baseDir: string, outDir: string, dtype: 'fp32' | 'bf16' = 'fp32'): void {
  writeFolderWhole(outDir, (tmp) => writeModelFolder(model, baseDir, tmp, dtype));
}

function writeModelFolder(model: CausalLM, baseDir: string, outDir: string, dtype: 'fp32' | 'bf16'): void {
  const stored = dtype === 'bf16' ? 'BF16' : 'F32';
  const tensors: TensorToWrite[] = [...model.weights].map(([name, t]) => ({ name, shape: t.shape, data: fp32Weight(name, t).dataSync() as Float32Array, dtype: stored }));
  writeSafetensors(path.join(outDir, 'model.safetensors'), tensors, { format: 'pt' });
  writeJsonWhole(path.join(outDir, 'config.json'), { ...model.config.raw, dtype: dtype === 'bf16' ? 'bfloat16' : 'float32' });
  const generation = path.join(baseDir, 'generation_config.json');
  if (fs.existsSync(generation)) fs.copyFileSync(generation, path.join(outDir, 'generation_config.json'));
  else {
    const c = model.config;
    writeJsonWhole(path.join(outDir, 'generation_config.json'), { bos_token_id: c.bosTokenId, eos_token_id: c.eosTokenId, pad_token_id: c.padTokenId });
  }
  copyTokenizer(baseDir, outDir);
}

export interface AdapterSpec {
  r: number;
  alpha: number;
  dropout: number;
  targetModules: string[];
  fanInFanOut: boolean;
  baseModel: string;
}

/** A PEFT adapter folder, keys as PEFT saves them: base_model.model.<module>.lora_A.weight. */
export function exportAdapterFolder(layers: LoraLayers, spec: AdapterSpec, outDir: string): void {
  writeFolderWhole(outDir, (tmp) => writeAdapterFolder(layers, spec, tmp));
}

function writeAdapterFolder(layers: LoraLayers, spec: AdapterSpec, outDir: string): void {
  const tensors: TensorToWrite[] = [...layers].flatMap(([module, pair]) => [
    { name: `base_model.model.${module}.lora_A.weight`, shape: pair.a.shape, data: pair.a.dataSync() as Float32Array },
    { name: `base_model.model.${module}.lora_B.weight`, shape: pair.b.shape, data: pair.b.dataSync() as Float32Array },
  ]);
  writeSafetensors(path.join(outDir, 'adapter_model.safetensors'), tensors, { format: 'pt' });
  writeJsonWhole(path.join(outDir, 'adapter_config.json'), {
    peft_type: 'LORA',
    task_type: 'CAUSAL_LM',
    base_model_name_or_path: spec.baseModel,
    r: spec.r,
    lora_alpha: spec.alpha,
    lora_dropout: spec.dropout,
    target_modules: spec.targetModules,
    fan_in_fan_out: spec.fanInFanOut,
    bias: 'none',
    inference_mode: true,
    init_lora_weights: true,
    use_dora: false,
    use_rslora: false,
    modules_to_save: null,
    layers_to_transform: null,
    layers_pattern: null,
    rank_pattern: {},
    alpha_pattern: {},
  });
}
