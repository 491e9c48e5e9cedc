// Runs one recipe both ways — Tunesmith's trainer, and the handoff job's train.py under
// Hugging Face Trainer — and measures how far apart their curves and results are. Used by
// test/handoff-trainer.test.ts and bench/handoff-parity.ts; needs python3 with transformers.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { initBackend, tf } from '../core/engine/backend';
import { writeHandoffJob } from '../core/handoff/write-job';
import { loadAdapter } from '../core/models/lora';
import { loadModel } from '../core/models/load';
import { resolveTrainConfig, type TrainConfig } from '../core/train/config';
import { fixture, trainEvents } from './helpers';

/** Why the Trainer side cannot run here, or null when python3 has transformers and peft. */
export function pythonTrainerMissing(): string | null {
  const r = spawnSync('python3', ['-c', 'import torch, transformers, peft, accelerate, safetensors'], { encoding: 'utf8' });
  if (r.error) return `python3 is not available (${r.error.message})`;
  return r.status === 0 ? null : `python3 lacks torch/transformers/peft/accelerate/safetensors: ${r.stderr.trim().split('\n').at(-1)}`;
}

/** `count` Alpaca rows from the examples, enough for a few steps over two epochs. */
export function writeAlpacaSample(file: string, count: number): string {
  const rows = JSON.parse(fs.readFileSync(path.resolve(import.meta.dirname, '../examples/data/alpaca-train.json'), 'utf8')) as unknown[];
  fs.writeFileSync(file, JSON.stringify(rows.slice(0, count)));
  return file;
}

export function parityConfig(dir: string, model: string, method: 'full' | 'lora', steps: number): TrainConfig {
  return resolveTrainConfig({
    model: fixture(model),
    output_dir: path.join(dir, `tunesmith-${model}-${method}`),
    method,
    lora: { r: 4, alpha: 8 },
    data: { train: writeAlpacaSample(path.join(dir, 'alpaca.json'), 16), validation_split: 0.125, max_length: 128 },
    max_steps: steps,
    per_device_train_batch_size: 2,
    per_device_eval_batch_size: 2,
    gradient_accumulation_steps: 2,
    learning_rate: method === 'lora' ? 1e-2 : 1e-3,
    lr_scheduler_type: 'linear',
    warmup_steps: 1,
    weight_decay: 0.01,
    dropout: 0,
    logging_steps: 1,
    eval_steps: 3,
    save_steps: 0,
  });
}

export interface StepValues {
  loss: number[];
  grad_norm: number[];
  learning_rate: number[];
  tokens_seen: number[];
  eval_loss: number[];
}

export interface Parity {
  tunesmith: StepValues;
  trainer: StepValues;
  /** max |Δ| per curve, over every step. */
  maxDiff: Record<keyof StepValues, number>;
  /** max |Δ| of the logits of the two results (Tunesmith's export vs the job's output/final) on one validation row. */
  logitsMaxDiff: number;
  jobDir: string;
  trainerOutput: string;
}

function maxAbs(a: number[], b: number[]): number {
  if (a.length !== b.length) return Infinity;
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
}

/** Logits of a result folder (full) or the base with a result adapter (LoRA) for `ids`. */
function resultLogits(config: TrainConfig, result: string, ids: number[]): Float32Array {
  const { model } = loadModel(config.method === 'lora' ? config.model : result);
  const adapter = config.method === 'lora' ? loadAdapter(result, model) : undefined;
  const logits = tf.tidy(() => model.forward(tf.tensor2d([ids], undefined, 'int32'), adapter ? { lora: adapter.layers } : {}).logits);
  const out = logits.dataSync() as Float32Array;
  tf.dispose([logits, ...(adapter ? [...adapter.layers.values()].flatMap((p) => [p.a, p.b]) : [])]);
  model.dispose();
  return out;
}

export async function measureParity(dir: string, config: TrainConfig): Promise<Parity> {
  const configFile = path.join(dir, `${path.basename(config.output_dir)}.json`);
  fs.writeFileSync(configFile, JSON.stringify(config));
  const events = trainEvents('--config', configFile);
  const tunesmith: StepValues = {
    loss: events.filter((e) => e.event === 'step').map((e) => e.loss),
    grad_norm: events.filter((e) => e.event === 'step').map((e) => e.grad_norm),
    learning_rate: events.filter((e) => e.event === 'step').map((e) => e.learning_rate),
    tokens_seen: events.filter((e) => e.event === 'step').map((e) => e.tokens_seen),
    eval_loss: events.filter((e) => e.event === 'eval').map((e) => e.eval_loss),
  };
  const jobDir = path.join(dir, `job-${path.basename(config.output_dir)}`);
  await writeHandoffJob({ config, out: jobDir });
  const trainerOutput = path.join(jobDir, 'output');
  const run = spawnSync('python3', ['train.py', '--output_dir', trainerOutput], { cwd: jobDir, encoding: 'utf8', env: { ...process.env, HF_HUB_OFFLINE: '1', TRANSFORMERS_VERBOSITY: 'error' } });
  if (run.status !== 0) throw new Error(`train.py failed (${run.status}):\n${run.stderr.slice(-3000)}`);
  const history = JSON.parse(fs.readFileSync(path.join(trainerOutput, 'trainer_state.json'), 'utf8')).log_history as Record<string, number>[];
  const logged = history.filter((h) => 'loss' in h);
  const trainer: StepValues = {
    loss: logged.map((h) => h.loss),
    grad_norm: logged.map((h) => h.grad_norm),
    learning_rate: logged.map((h) => h.learning_rate),
    tokens_seen: logged.map((h) => h.num_input_tokens_seen),
    eval_loss: history.filter((h) => 'eval_loss' in h).map((h) => h.eval_loss),
  };
  const maxDiff = Object.fromEntries(Object.keys(tunesmith).map((k) => [k, maxAbs(tunesmith[k as keyof StepValues], trainer[k as keyof StepValues])])) as Parity['maxDiff'];
  await initBackend();
  const ids = JSON.parse(fs.readFileSync(path.join(jobDir, 'data', 'validation.jsonl'), 'utf8').split('\n')[0]).input_ids as number[];
  const ours = resultLogits(config, path.join(config.output_dir, 'final'), ids);
  const theirs = resultLogits(config, path.join(trainerOutput, 'final'), ids);
  return { tunesmith, trainer, maxDiff, logitsMaxDiff: maxAbs([...ours], [...theirs]), jobDir, trainerOutput };
}
