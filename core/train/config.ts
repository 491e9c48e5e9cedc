// The training configuration: one JSON object (also what the app's wizard writes), with
// Hugging Face TrainingArguments names and defaults where one exists. Unknown keys and
// impossible values are rejected with the key named, before anything is loaded.
import { SCHEDULES, type ScheduleName } from './schedules';

export interface LoraSettings {
  r: number;
  alpha: number;
  dropout: number;
  /** null = the architecture's default (GPT-2 `c_attn`, BLOOM `query_key_value`). */
  target_modules: string[] | null;
  init_adapter: string | null;
}

export interface DataSettings {
  train: string;
  validation: string | null;
  validation_split: number;
  format: string | null;
  template: string;
  max_length: number;
  packing: boolean;
  train_on_prompt: boolean;
  /** The JSON field or CSV column holding the prompt; null finds instruction, prompt, question or query. */
  prompt_column: string | null;
  /** The one holding the response; null finds output, response, answer or completion. */
  response_column: string | null;
}

export interface TrainConfig {
  model: string;
  output_dir: string;
  method: 'full' | 'lora';
  lora: LoraSettings;
  data: DataSettings;
  num_train_epochs: number;
  max_steps: number;
  per_device_train_batch_size: number;
  per_device_eval_batch_size: number;
  gradient_accumulation_steps: number;
  learning_rate: number;
  lr_scheduler_type: ScheduleName;
  warmup_steps: number;
  warmup_ratio: number;
  weight_decay: number;
  max_grad_norm: number;
  adam_beta1: number;
  adam_beta2: number;
  adam_epsilon: number;
  /** null keeps the model config's dropouts. */
  dropout: number | null;
  shuffle: boolean;
  seed: number;
  logging_steps: number;
  /** 0 = evaluate only at the end (when there is validation data). */
  eval_steps: number;
  /** Checkpoint every N optimizer steps; 0 = none. */
  save_steps: number;
  save_total_limit: number | null;
  /** Stop after this many evaluations without a better eval loss; the best weights are exported. */
  early_stopping_patience: number | null;
  /**
   * With validation data, the result (final/) holds the weights of the best evaluation rather than
   * the last step's; a checkpoint is saved at each new best so they can be restored. HF's name; off
   * by default in HF, on here: a run that over-fits at the end should not hand over its worse weights.
   */
  load_best_model_at_end: boolean;
  /** Generated from at every evaluation, to watch the model learn. */
  sample_prompts: string[];
  /** bf16 mixed precision (torch autocast): projections on bf16-rounded inputs, fp32 everything else. */
  bf16: boolean;
  /** How a full run's export stores its weights; "bf16" halves the file (adapters stay fp32). */
  save_dtype: 'fp32' | 'bf16';
}

export const DEFAULT_LORA: LoraSettings = { r: 8, alpha: 8, dropout: 0, target_modules: null, init_adapter: null };

const DEFAULT_DATA: Omit<DataSettings, 'train'> = {
  validation: null,
  validation_split: 0,
  format: null,
  template: 'human_assistant',
  max_length: 512,
  packing: false,
  train_on_prompt: false,
  prompt_column: null,
  response_column: null,
};

const DEFAULTS: Omit<TrainConfig, 'model' | 'output_dir' | 'data' | 'lora'> = {
  method: 'lora',
  num_train_epochs: 3,
  max_steps: -1,
  per_device_train_batch_size: 8,
  per_device_eval_batch_size: 8,
  gradient_accumulation_steps: 1,
  learning_rate: 5e-5,
  lr_scheduler_type: 'linear',
  warmup_steps: 0,
  warmup_ratio: 0,
  weight_decay: 0,
  max_grad_norm: 1,
  adam_beta1: 0.9,
  adam_beta2: 0.999,
  adam_epsilon: 1e-8,
  dropout: null,
  shuffle: true,
  seed: 42,
  logging_steps: 500,
  eval_steps: 0,
  save_steps: 500,
  save_total_limit: null,
  early_stopping_patience: null,
  load_best_model_at_end: true,
  sample_prompts: [],
  bf16: false,
  save_dtype: 'fp32',
};

export class ConfigFieldError extends Error {}

type Check = (v: unknown) => string | null;
const positiveInt: Check = (v) => (Number.isInteger(v) && (v as number) > 0 ? null : 'must be a whole number > 0');
const nonNegativeInt: Check = (v) => (Number.isInteger(v) && (v as number) >= 0 ? null : 'must be a whole number ≥ 0');
/** "a number", or "a finite number" for a JSON number too large for a double (1e999 parses to Infinity). */
const aNumber = (v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? 'a finite number' : 'a number');
const positive: Check = (v) => (typeof v === 'number' && v > 0 && Number.isFinite(v) ? null : `must be ${aNumber(v)} > 0`);
const nonNegative: Check = (v) => (typeof v === 'number' && v >= 0 && Number.isFinite(v) ? null : `must be ${aNumber(v)} ≥ 0`);
const fraction: Check = (v) => (typeof v === 'number' && v >= 0 && v < 1 ? null : 'must be a number in [0, 1)');
const beta: Check = (v) => (typeof v === 'number' && v >= 0 && v < 1 ? null : 'must be in [0, 1)');
const bool: Check = (v) => (typeof v === 'boolean' ? null : 'must be true or false');
const text: Check = (v) => (typeof v === 'string' && v.length > 0 ? null : 'must be a non-empty string');
const int: Check = (v) => (Number.isInteger(v) ? null : 'must be a whole number');
const nullable = (c: Check): Check => (v) => (v === null ? null : c(v));
const oneOf = (options: readonly string[]): Check => (v) => (options.includes(v as string) ? null : `must be one of ${options.join(', ')}`);
const strings: Check = (v) => (Array.isArray(v) && v.every((s) => typeof s === 'string') ? null : 'must be a list of strings');

const TOP_CHECKS: Record<string, Check> = {
  model: text,
  output_dir: text,
  method: oneOf(['full', 'lora']),
  lora: (v) => (typeof v === 'object' && v !== null && !Array.isArray(v) ? null : 'must be an object'),
  data: (v) => (typeof v === 'object' && v !== null && !Array.isArray(v) ? null : 'must be an object'),
  num_train_epochs: positive,
  max_steps: (v) => (Number.isInteger(v) && ((v as number) > 0 || v === -1) ? null : 'must be a whole number > 0, or -1 to use num_train_epochs'),
  per_device_train_batch_size: positiveInt,
  per_device_eval_batch_size: positiveInt,
  gradient_accumulation_steps: positiveInt,
  learning_rate: positive,
  lr_scheduler_type: oneOf(SCHEDULES),
  warmup_steps: nonNegativeInt,
  warmup_ratio: fraction,
  weight_decay: nonNegative,
  max_grad_norm: nonNegative,
  adam_beta1: beta,
  adam_beta2: beta,
  adam_epsilon: positive,
  dropout: nullable(fraction),
  shuffle: bool,
  seed: int,
  logging_steps: positiveInt,
  eval_steps: nonNegativeInt,
  save_steps: nonNegativeInt,
  save_total_limit: nullable(positiveInt),
  early_stopping_patience: nullable(positiveInt),
  load_best_model_at_end: bool,
  sample_prompts: strings,
  bf16: bool,
  // Accepted as false, as Hugging Face configs often carry it; CPUs have no fast fp16 training.
  fp16: (v) => (v === false ? null : 'is not supported: CPUs train fp16 no faster than fp32 and it needs loss scaling; use "bf16": true'),
  save_dtype: oneOf(['fp32', 'bf16']),
};

const LORA_CHECKS: Record<string, Check> = {
  r: positiveInt,
  alpha: positive,
  dropout: fraction,
  target_modules: nullable(strings),
  init_adapter: nullable(text),
};

const DATA_CHECKS: Record<string, Check> = {
  train: text,
  validation: nullable(text),
  validation_split: fraction,
  format: nullable(text),
  template: text,
  max_length: positiveInt,
  packing: bool,
  train_on_prompt: bool,
  prompt_column: nullable(text),
  response_column: nullable(text),
};

function checkFields(obj: Record<string, unknown>, checks: Record<string, Check>, prefix: string, source: string): void {
  for (const [key, value] of Object.entries(obj)) {
    const check = checks[key];
    if (!check) throw new ConfigFieldError(`${source}: unknown key "${prefix}${key}"`);
    const problem = check(value);
    // String(), not JSON.stringify: the latter shows Infinity as null.
    const shown = typeof value === 'number' ? String(value) : JSON.stringify(value);
    if (problem) throw new ConfigFieldError(`${source}: "${prefix}${key}" ${problem} (got ${shown})`);
  }
}

/** Validates a parsed config and fills in the defaults. `source` names the file in errors. */
export function resolveTrainConfig(raw: unknown, source = 'config'): TrainConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigFieldError(`${source}: must be a JSON object`);
  const top = raw as Record<string, unknown>;
  checkFields(top, TOP_CHECKS, '', source);
  for (const key of ['model', 'output_dir', 'data']) {
    if (top[key] === undefined) throw new ConfigFieldError(`${source}: "${key}" is required`);
  }
  const data = top.data as Record<string, unknown>;
  checkFields(data, DATA_CHECKS, 'data.', source);
  if (data.train === undefined) throw new ConfigFieldError(`${source}: "data.train" is required`);
  const lora = (top.lora ?? {}) as Record<string, unknown>;
  checkFields(lora, LORA_CHECKS, 'lora.', source);
  const { fp16: _fp16, ...known } = top;
  const config = {
    ...DEFAULTS,
    ...known,
    lora: { ...DEFAULT_LORA, ...lora },
    data: { ...DEFAULT_DATA, ...data },
  } as TrainConfig;
  if (config.early_stopping_patience !== null && !config.data.validation && config.data.validation_split === 0) {
    throw new ConfigFieldError(`${source}: "early_stopping_patience" needs validation data ("data.validation" or "data.validation_split")`);
  }
  if (config.data.validation && config.data.validation_split > 0) {
    throw new ConfigFieldError(`${source}: give "data.validation" or "data.validation_split", not both`);
  }
  return config;
}

/** Optimizer steps the run will take: max_steps, or the epochs' worth of accumulated batches. */
export function totalOptimizerSteps(c: TrainConfig, trainExamples: number): number {
  if (c.max_steps > 0) return c.max_steps;
  const batchesPerEpoch = Math.ceil(trainExamples / c.per_device_train_batch_size);
  const stepsPerEpoch = Math.max(1, Math.ceil(batchesPerEpoch / c.gradient_accumulation_steps));
  return Math.ceil(stepsPerEpoch * c.num_train_epochs);
}

export function warmupSteps(c: TrainConfig, totalSteps: number): number {
  return c.warmup_steps > 0 ? c.warmup_steps : Math.ceil(c.warmup_ratio * totalSteps);
}
