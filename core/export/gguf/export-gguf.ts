// A model (or base + LoRA adapter, merged) as one GGUF file that llama.cpp, Ollama and
// LM Studio load, with an Ollama Modelfile beside it.
import fs from 'node:fs';
import path from 'node:path';
import { writeTextWhole } from '../../durable-write';
import { readChatTemplate } from '../../data/chat-template';
import { initBackend, tf } from '../../engine/backend';
import { CausalLM } from '../../models/causal-lm';
import { loadAdapter, mergeAdapter } from '../../models/lora';
import { loadModel } from '../../models/load';
import { loadTokenizer } from '../../tokenizer/tokenizer';
import { jinjaChatTemplate, modelfile } from './chat-formats';
import { writeGguf, type GgufTensor } from './container';
import { architectureMetadata, tokenizerMetadata } from './metadata';
import { chooseTypes, llamaCppTensors, type GgufQuant } from './tensors';

/** Tokens the Modelfile lets a reply run to: the Playground's default. */
export const MODELFILE_MAX_NEW_TOKENS = 128;

export interface GgufExport {
  /** An HF model folder: the model itself, or the base of `adapterDir`. */
  modelDir: string;
  /** A PEFT adapter folded into the model before writing. */
  adapterDir?: string;
  /** The prompt template the model was trained with (core/data/templates.ts), or null if unknown. */
  template: string | null;
  quant: GgufQuant;
  /** The .gguf file to write; the Modelfile goes beside it. */
  out: string;
  onProgress?: (done: number, total: number, tensor: string) => void;
}

export function checkGgufDestination(out: string): void {
  if (!out.endsWith('.gguf')) throw new Error(`${out}: a GGUF export is one file; give it a name ending in .gguf`);
  if (fs.existsSync(out)) throw new Error(`${out}: already exists; choose a new name`);
  const folder = path.dirname(path.resolve(out));
  if (!fs.existsSync(folder)) throw new Error(`${path.dirname(out)}: folder not found`);
  // The Modelfile goes beside the .gguf; one already there may be the user's own work.
  if (fs.existsSync(path.join(folder, 'Modelfile'))) throw new Error(`${path.join(path.dirname(out), 'Modelfile')}: already exists; export into another folder`);
}

/** Writes `out` and `Modelfile` beside it; returns both paths. */
export async function exportGguf(req: GgufExport): Promise<{ gguf: string; modelfile: string }> {
  checkGgufDestination(req.out);
  await initBackend();
  const tokenizer = loadTokenizer(req.modelDir);
  const chatTemplate = req.template ? jinjaChatTemplate(req.template, readChatTemplate(req.modelDir)) : null;
  tf.tidy(() => {
    const { model: base } = loadModel(req.modelDir);
    const model = req.adapterDir ? new CausalLM(base.config, mergeAdapter(base.weights, loadAdapter(req.adapterDir, base))) : base;
    const mapped = llamaCppTensors(model);
    const types = chooseTypes(mapped, model.config, req.quant);
    const tensors: GgufTensor[] = mapped.map((t, i) => ({ ...t, type: types[i] }));
    const name = path.basename(req.out, '.gguf');
    const metadata = [...architectureMetadata(model.config, name, req.quant), ...tokenizerMetadata(req.modelDir, tokenizer, model.config, chatTemplate)];
    writeGguf(req.out, metadata, tensors, req.onProgress);
  });
  const modelfilePath = path.join(path.dirname(req.out), 'Modelfile');
  const eosText = tokenizer.special.eos === null ? null : tokenizer.decode([tokenizer.special.eos]);
  const text = modelfile(path.basename(req.out), req.template ?? 'none', eosText, MODELFILE_MAX_NEW_TOKENS);
  writeTextWhole(modelfilePath, text);
  return { gguf: req.out, modelfile: modelfilePath };
}
