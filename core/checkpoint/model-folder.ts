// A Hugging Face model folder on disk: config.json plus weights in one of the layouts
// the Hub has used over the years. Finds the weights and opens the right reader.
import fs from 'node:fs';
import path from 'node:path';
import { readTextFile } from '../read-text-file';
import { SafetensorsFile, ShardedSafetensors } from './safetensors';
import type { TensorSource } from './tensor-source';
import { TorchCheckpoint } from './torch-bin';

/** Preferred first: safetensors cannot run code and reads faster. */
const WEIGHT_LAYOUTS: { file: string; open: (p: string) => TensorSource }[] = [
  { file: 'model.safetensors', open: (p) => new SafetensorsFile(p) },
  { file: 'model.safetensors.index.json', open: (p) => new ShardedSafetensors(p) },
  { file: 'pytorch_model.bin', open: (p) => new TorchCheckpoint(p) },
];

export function readJsonFile(file: string): unknown {
  const text = readTextFile(file);
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Error(`${file}: not valid JSON (${(err as Error).message})`);
  }
}

/** Throws unless `dir` is an existing folder, telling a file given in its place from a missing path. */
export function requireModelFolder(dir: string): void {
  if (!fs.existsSync(dir)) throw new Error(`${dir}: model folder not found`);
  if (!fs.statSync(dir).isDirectory()) throw new Error(`${dir}: is a file, not a model folder; give the model's folder`);
}

export function readModelConfigJson(dir: string): unknown {
  requireModelFolder(dir);
  const file = path.join(dir, 'config.json');
  if (!fs.existsSync(file)) throw new Error(`${file}: missing; a model folder needs config.json next to its weights`);
  return readJsonFile(file);
}

export function openWeights(dir: string): TensorSource {
  for (const layout of WEIGHT_LAYOUTS) {
    const file = path.join(dir, layout.file);
    if (fs.existsSync(file)) return layout.open(file);
  }
  throw new Error(`${dir}: no weights found (looked for ${WEIGHT_LAYOUTS.map((l) => l.file).join(', ')})`);
}
