import fs from 'node:fs';
import path from 'node:path';
import { readJsonFile } from '../checkpoint/model-folder';
import { initBackend } from '../engine/backend';
import { CausalLM } from '../models/causal-lm';
import { loadAdapter, mergeAdapter } from '../models/lora';
import { loadModel } from '../models/load';
import { exportModelFolder } from '../train/export';
import { UsageError } from './args';
import type { Flags, Print } from './commands';

const FORMATS = ['hf', 'peft', 'merged'];

/** Writes a finished run's result as an HF folder, a PEFT adapter, or the adapter folded into the base. */
export async function exportCommand(flags: Flags, print: Print): Promise<void> {
  const run = typeof flags.run === 'string' ? flags.run : undefined;
  const format = typeof flags.format === 'string' ? flags.format : undefined;
  const out = typeof flags.out === 'string' ? flags.out : undefined;
  if (!run || !format || !out) throw new UsageError('usage: tunesmith export --run DIR --format hf|peft|merged --out DIR');
  if (!FORMATS.includes(format)) throw new UsageError(`--format must be one of ${FORMATS.join(', ')}; got "${format}"`);
  const final = path.join(run, 'final');
  if (!fs.existsSync(final)) throw new Error(`${final}: not found; has the run finished?`);
  if (fs.existsSync(out) && fs.readdirSync(out).length > 0) throw new Error(`${out}: already exists and is not empty; choose a new folder`);

  const adapterConfig = path.join(final, 'adapter_config.json');
  const isLora = fs.existsSync(adapterConfig);
  if (format === 'peft' && !isLora) throw new Error(`${run} is a full fine-tuning run; it has no adapter (use --format hf)`);
  if (format === 'hf' && isLora) throw new Error(`${run} is a LoRA run; use --format peft for the adapter or --format merged for full weights`);
  if (format === 'merged' && !isLora) throw new Error(`${run} is a full fine-tuning run; --format hf already gives its full weights`);

  if (format !== 'merged') {
    fs.cpSync(final, out, { recursive: true });
  } else {
    await initBackend();
    const base = (readJsonFile(adapterConfig) as { base_model_name_or_path?: string }).base_model_name_or_path;
    if (!base || !fs.existsSync(base)) throw new Error(`${adapterConfig}: base model folder "${base}" not found`);
    const { model } = loadModel(base);
    const merged = new CausalLM(model.config, mergeAdapter(model.weights, loadAdapter(final, model)));
    exportModelFolder(merged, base, out);
  }
  print(`wrote ${format} export to ${out}`);
}
