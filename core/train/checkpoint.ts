// Checkpoints that resume a run exactly: trainable weights, AdamW moments and step count,
// the position in the data order and the dropout stream, with the config that made them.
// Written into a hidden temporary folder and renamed into place, so a checkpoint that was
// interrupted half-written never carries a `checkpoint-N` name and is never picked up.
import fs from 'node:fs';
import path from 'node:path';
import { readJsonFile } from '../checkpoint/model-folder';
import { SafetensorsFile, writeSafetensors } from '../checkpoint/safetensors';
import { partialName, writeFolderWhole, writeJsonWhole } from '../durable-write';
import { tf } from '../engine/backend';
import type { AdamW, TrainableParam } from './adamw';
import type { TrainConfig } from './config';
import { recordRunEntry } from './run-folder';

export interface TrainerState {
  /** Optimizer steps done. */
  step: number;
  /** Where the next micro-batch comes from: epoch and index into that epoch's batches. */
  epoch: number;
  microIndex: number;
  dropoutCalls: number;
  lossSum: number;
  best: { step: number; evalLoss: number } | null;
  evalsWithoutImprovement: number;
  /** Non-padding tokens trained on so far (absent in checkpoints written before it was kept). */
  tokensSeen?: number;
  config: TrainConfig;
}

/** Where a finished run's result (its model or adapter folder) is written in its output folder. */
export const finalDir = (outputDir: string) => path.join(outputDir, 'final');

const STATE_FILE = 'trainer_state.json';
const PARAMS_FILE = 'trainable.safetensors';
const OPTIMIZER_FILE = 'optimizer.safetensors';
const NAME = /^checkpoint-(\d+)$/;

export function saveCheckpoint(outputDir: string, state: TrainerState, params: TrainableParam[], optimizer: AdamW): string {
  const final = path.join(outputDir, `checkpoint-${state.step}`);
  for (const name of [path.basename(final), path.basename(partialName(final))]) recordRunEntry(outputDir, name);
  const dump = (named: [string, tf.Tensor][]) => named.map(([name, t]) => ({ name, shape: t.shape, data: t.dataSync() as Float32Array }));
  writeFolderWhole(final, (tmp) => {
    writeSafetensors(path.join(tmp, PARAMS_FILE), dump(params.map((p) => [p.name, p.variable])));
    const { m, v } = optimizer.moments();
    writeSafetensors(path.join(tmp, OPTIMIZER_FILE), dump([...[...m].map(([n, t]) => [`m.${n}`, t]), ...[...v].map(([n, t]) => [`v.${n}`, t])] as [string, tf.Tensor][]), {
      step: String(optimizer.step),
    });
    writeJsonWhole(path.join(tmp, STATE_FILE), state);
  });
  return final;
}

/** Completed checkpoints of a run, oldest first. */
export function listCheckpoints(outputDir: string): { step: number; dir: string }[] {
  if (!fs.existsSync(outputDir)) return [];
  return fs
    .readdirSync(outputDir)
    .map((name) => ({ m: NAME.exec(name), dir: path.join(outputDir, name) }))
    .filter(({ m, dir }) => m && fs.existsSync(path.join(dir, STATE_FILE)))
    .map(({ m, dir }) => ({ step: Number(m![1]), dir }))
    .sort((a, b) => a.step - b.step);
}

/** Deletes the oldest checkpoints beyond `limit`, never the best one. */
export function pruneCheckpoints(outputDir: string, limit: number | null, bestStep: number | null): void {
  if (limit === null) return;
  const all = listCheckpoints(outputDir);
  let excess = all.length - limit;
  for (const c of all) {
    if (excess <= 0) break;
    if (c.step === bestStep) continue;
    fs.rmSync(c.dir, { recursive: true, force: true });
    excess--;
  }
}

/** A checkpoint folder, or a run's output folder (its latest checkpoint). */
export function resolveCheckpoint(dir: string): string {
  if (fs.existsSync(path.join(dir, STATE_FILE))) return dir;
  const latest = listCheckpoints(dir).at(-1);
  if (!latest) throw new Error(`${dir}: no checkpoint to resume from (looked for checkpoint-N folders with ${STATE_FILE})`);
  return latest.dir;
}

export function readTrainerState(checkpoint: string): TrainerState {
  return readJsonFile(path.join(checkpoint, STATE_FILE)) as TrainerState;
}

/** Puts a checkpoint's weights (and, unless only the weights are wanted, its moments) back. */
export function restoreCheckpoint(checkpoint: string, params: TrainableParam[], optimizer?: AdamW): void {
  const weights = new SafetensorsFile(path.join(checkpoint, PARAMS_FILE));
  try {
    for (const p of params) tf.tidy(() => p.variable.assign(tf.tensor(weights.read(p.name), p.variable.shape)));
  } finally {
    weights.close();
  }
  if (!optimizer) return;
  const moments = new SafetensorsFile(path.join(checkpoint, OPTIMIZER_FILE));
  try {
    const { m, v } = optimizer.moments();
    for (const p of params) {
      tf.tidy(() => {
        m.get(p.name)!.assign(tf.tensor(moments.read(`m.${p.name}`), p.variable.shape));
        v.get(p.name)!.assign(tf.tensor(moments.read(`v.${p.name}`), p.variable.shape));
      });
    }
    optimizer.step = Number(moments.metadata.step);
  } finally {
    moments.close();
  }
}
