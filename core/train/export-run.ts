// A finished run's result written where the user wants it: the HF folder of a full
// fine-tune, the PEFT adapter of a LoRA run, or that adapter folded into its base model.
// The CLI's `export` and the app's Export button both call this.
import fs from 'node:fs';
import path from 'node:path';
import type { ExportKind } from '../api/contract';
import { readJsonFile } from '../checkpoint/model-folder';
import { initBackend, tf } from '../engine/backend';
import { CausalLM } from '../models/causal-lm';
import { loadAdapter, mergeAdapter } from '../models/lora';
import { loadModel } from '../models/load';
import { exportGguf, type GgufExport } from '../export/gguf/export-gguf';
import type { GgufQuant } from '../api/contract';
import { finalDir, listCheckpoints, readTrainerState } from './checkpoint';
import { exportModelFolder } from './export';
import { lockRunFolder } from './run-lock';
import { writeFolderWhole } from '../durable-write';

/** A request this run cannot meet; `about` says which argument is wrong, so callers can point at it. */
export class ExportRefusal extends Error {
  constructor(
    message: string,
    readonly about: 'run' | 'kind' | 'destination',
  ) {
    super(message);
  }
}

const adapterConfig = (runDir: string) => path.join(finalDir(runDir), 'adapter_config.json');

/** The kinds a run folder can export: none until it has finished. */
export function exportKinds(runDir: string): ExportKind[] {
  if (!fs.existsSync(finalDir(runDir))) return [];
  return fs.existsSync(adapterConfig(runDir)) ? ['peft', 'merged', 'gguf'] : ['hf', 'gguf'];
}

/** Throws an ExportRefusal unless the run in `runDir` can write `kind` to `out`; reads only a few folder entries. */
export function checkExport(runDir: string, kind: ExportKind, out: string): void {
  const kinds = exportKinds(runDir);
  if (kinds.length === 0) throw new ExportRefusal(`${finalDir(runDir)}: not found; has the run finished?`, 'run');
  if (fs.existsSync(out) && (!fs.statSync(out).isDirectory() || fs.readdirSync(out).length > 0)) {
    throw new ExportRefusal(`${out}: already exists and is not an empty folder; choose a new one`, 'destination');
  }
  if (!kinds.includes(kind)) {
    const what = kinds.includes('hf') ? 'a full fine-tuning run: it has no adapter' : 'a LoRA run';
    throw new ExportRefusal(`${runDir} is ${what}; it exports as ${kinds.slice(0, -1).join(', ')} or ${kinds.at(-1)}, not ${kind}`, 'kind');
  }
}

/** The GGUF file an export into folder `out` writes: named after the folder, so `ollama create NAME` reads naturally. */
export const ggufFileIn = (out: string, quant: GgufQuant) => path.join(out, `${path.basename(path.resolve(out))}-${quant}.gguf`);

/** Writes `kind` of the run in `runDir` to `out`, which must be new or empty; gguf writes one file (and its Modelfile) in it. */
export async function exportRun(runDir: string, kind: ExportKind, out: string, quant: GgufQuant = 'f16'): Promise<void> {
  checkExport(runDir, kind, out);
  // A resume of the run would rewrite final/ under the copy.
  const lock = lockRunFolder(runDir, 'export');
  try {
    if (kind === 'gguf') {
      fs.mkdirSync(out, { recursive: true });
      await exportRunGguf(runDir, quant, ggufFileIn(out, quant));
      return;
    }
    if (kind !== 'merged') {
      writeFolderWhole(out, (tmp) => fs.cpSync(finalDir(runDir), tmp, { recursive: true }));
      return;
    }
    await initBackend();
    const base = baseModelOf(runDir);
    // Tidied: a caller that goes on afterwards keeps none of the base model's tensors.
    tf.tidy(() => {
      const { model } = loadModel(base);
      const merged = new CausalLM(model.config, mergeAdapter(model.weights, loadAdapter(finalDir(runDir), model)));
      exportModelFolder(merged, base, out);
    });
  } finally {
    lock.release();
  }
}

/** The base model folder a LoRA run's adapter was trained on. */
function baseModelOf(runDir: string): string {
  const base = (readJsonFile(adapterConfig(runDir)) as { base_model_name_or_path?: string }).base_model_name_or_path;
  if (!base || !fs.existsSync(base)) throw new Error(`${adapterConfig(runDir)}: base model folder "${base}" not found`);
  return base;
}

/**
 * What a run's GGUF is made of: its model, or its base with the adapter to fold in, and
 * the prompt template it trained with (kept in its checkpoints' config; null without one).
 */
export function ggufSource(runDir: string): Pick<GgufExport, 'modelDir' | 'adapterDir' | 'template'> {
  if (!fs.existsSync(finalDir(runDir))) throw new ExportRefusal(`${finalDir(runDir)}: not found; has the run finished?`, 'run');
  const latest = listCheckpoints(runDir).at(-1);
  const template = latest ? readTrainerState(latest.dir).config.data.template : null;
  if (fs.existsSync(adapterConfig(runDir))) return { modelDir: baseModelOf(runDir), adapterDir: finalDir(runDir), template };
  return { modelDir: finalDir(runDir), template };
}

/** Writes the run in `runDir` as the GGUF file `out` (with a Modelfile beside it). */
export async function exportRunGguf(runDir: string, quant: GgufQuant, out: string, onProgress?: GgufExport['onProgress']): Promise<{ gguf: string; modelfile: string }> {
  return exportGguf({ ...ggufSource(runDir), quant, out, onProgress });
}
