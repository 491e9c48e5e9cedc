// What a handoff job holds, decided from the run's config alone: Tunesmith's hyperparameters
// under their TrainingArguments / LoraConfig names, and the rows of every epoch in the order
// Tunesmith's trainer would read them. Pure, so tests compare it with the trainer's own batching.
import { batches, epochOrder } from '../data/batching';
import type { Example } from '../data/records';
import { totalOptimizerSteps, warmupSteps, type TrainConfig } from '../train/config';

export class HandoffRefusal extends Error {}

/** One training row of data/train.jsonl: the example Tunesmith reads at that point of epoch `epoch` (from 0). */
export interface EpochRow extends Example {
  epoch: number;
}

export function stepsPerEpoch(config: TrainConfig, trainExamples: number): number {
  return Math.max(1, Math.ceil(Math.ceil(trainExamples / config.per_device_train_batch_size) / config.gradient_accumulation_steps));
}

/**
 * Every epoch the run touches, each in Tunesmith's order (epochOrder): Trainer's epoch loop
 * groups each epoch's micro-batches for accumulation as Tunesmith does, so feeding the rows
 * sequentially per epoch gives the same optimizer steps.
 */
export function epochRows(config: TrainConfig, train: readonly Example[]): EpochRow[] {
  const epochs = Math.ceil(totalOptimizerSteps(config, train.length) / stepsPerEpoch(config, train.length));
  const rows: EpochRow[] = [];
  for (let epoch = 0; epoch < epochs; epoch++) {
    for (const i of epochOrder(train.length, epoch, config.seed, config.shuffle)) rows.push({ epoch, ...train[i] });
  }
  return rows;
}

/** The micro-batches (as example lists) that epochRows feeds, for comparing with Tunesmith's own batching. */
export function microBatchesOf(rows: readonly EpochRow[], batchSize: number): Example[][] {
  const byEpoch = new Map<number, EpochRow[]>();
  for (const row of rows) byEpoch.set(row.epoch, [...(byEpoch.get(row.epoch) ?? []), row]);
  return [...byEpoch.values()].flatMap((epoch) => batches(epoch.map((_, i) => i), batchSize).map((idx) => idx.map((i) => epoch[i])));
}

export interface Architecture {
  modelType: 'gpt2' | 'bloom';
  /** The architecture's default LoRA target (Tunesmith's, when the config names none). */
  defaultLoraTarget: string;
  fanInFanOut: boolean;
}

/** Tunesmith's one `dropout` setting under each model config's own names. */
function dropoutOverrides(config: TrainConfig, arch: Architecture): Record<string, number> | null {
  if (config.dropout === null) return null;
  const p = config.dropout;
  return arch.modelType === 'gpt2' ? { embd_pdrop: p, resid_pdrop: p, attn_pdrop: p } : { hidden_dropout: p, attention_dropout: p };
}

export interface Hyperparameters {
  trainingArguments: Record<string, unknown>;
  loraConfig: Record<string, unknown> | null;
  dropoutOverrides: Record<string, number> | null;
  totalSteps: number;
}

/** `lora` is the adapter the job starts from (Tunesmith's fresh one or the config's init_adapter). */
export function hyperparameters(
  config: TrainConfig,
  arch: Architecture,
  trainExamples: number,
  hasValidation: boolean,
  lora: { r: number; alpha: number; targetModules: string[] | string } | null,
): Hyperparameters {
  const totalSteps = totalOptimizerSteps(config, trainExamples);
  // Tunesmith evaluates every eval_steps and always at the last step; 0 means only there.
  const evalEvery = config.eval_steps > 0 ? config.eval_steps : totalSteps;
  // As in Tunesmith's trainer: with validation data, early stopping or load_best_model_at_end hands over the best evaluation's weights.
  const keepBest = hasValidation && (config.early_stopping_patience !== null || config.load_best_model_at_end);
  // Trainer restores the best model only from its checkpoints, which it must then write at every evaluation.
  const saveEvery = keepBest ? evalEvery : config.save_steps;
  const trainingArguments: Record<string, unknown> = {
    num_train_epochs: config.num_train_epochs,
    // Explicit, so Trainer's schedule spans exactly Tunesmith's step count.
    max_steps: totalSteps,
    per_device_train_batch_size: config.per_device_train_batch_size,
    per_device_eval_batch_size: config.per_device_eval_batch_size,
    gradient_accumulation_steps: config.gradient_accumulation_steps,
    learning_rate: config.learning_rate,
    lr_scheduler_type: config.lr_scheduler_type,
    // Tunesmith's warmup_steps, or warmup_ratio rounded up as Trainer does, as a step count.
    warmup_steps: warmupSteps(config, totalSteps),
    weight_decay: config.weight_decay,
    max_grad_norm: config.max_grad_norm,
    adam_beta1: config.adam_beta1,
    adam_beta2: config.adam_beta2,
    adam_epsilon: config.adam_epsilon,
    optim: 'adamw_torch',
    seed: config.seed,
    logging_strategy: 'steps',
    logging_steps: config.logging_steps,
    eval_strategy: hasValidation ? 'steps' : 'no',
    eval_steps: evalEvery,
    save_strategy: saveEvery > 0 ? 'steps' : 'no',
    save_steps: saveEvery > 0 ? saveEvery : 500,
    save_total_limit: config.save_total_limit,
    load_best_model_at_end: keepBest,
    metric_for_best_model: keepBest ? 'eval_loss' : null,
    greater_is_better: keepBest ? false : null,
    include_num_input_tokens_seen: 'non_padding',
    remove_unused_columns: false,
    report_to: 'none',
  };
  const loraConfig = lora && {
    r: lora.r,
    lora_alpha: lora.alpha,
    lora_dropout: config.lora.dropout,
    target_modules: lora.targetModules,
    fan_in_fan_out: arch.fanInFanOut,
    bias: 'none',
    task_type: 'CAUSAL_LM',
  };
  return { trainingArguments, loraConfig, dropoutOverrides: dropoutOverrides(config, arch), totalSteps };
}

/** What makes the job's curve differ from Tunesmith's run step by step, though the recipe is the same. */
export function reproducibilityNotes(config: TrainConfig, modelDropout: number): string[] {
  const notes: string[] = [];
  const dropout = config.dropout ?? modelDropout;
  if (dropout > 0) notes.push(`dropout ${dropout} draws its masks from torch's generator, so losses match Tunesmith's only on average; set "dropout": 0 for a step-by-step match`);
  if (config.method === 'lora' && config.lora.dropout > 0) notes.push(`lora.dropout ${config.lora.dropout} draws its masks from torch's generator, so losses match only on average`);
  if (config.sample_prompts.length > 0) notes.push('sample_prompts are not answered during the job; chat with the imported run instead');
  if (config.logging_steps > 1) notes.push('Trainer logs the grad_norm of the logging step itself, where Tunesmith logs the mean over the window');
  return notes;
}
