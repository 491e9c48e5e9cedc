// Every training setting the wizard edits: its label in plain words and the step that
// shows it. Keyed by the config's own dotted names, so a host error naming
// `config.lora.r` and a suggestion patching `data.max_length` land on the right input.
import type { TrainConfig } from '../../../core/train/config';

/** The wizard's steps in order, each with the sentence that opens it. */
export const STEPS = [
  { id: 'model', title: 'Model', lead: 'Pick the model to teach. Smaller models train faster and need less memory; you can always try a bigger one later.' },
  { id: 'data', title: 'Data', lead: 'Choose the examples to learn from. Each one becomes a prompt and the answer the model should learn to give.' },
  { id: 'method', title: 'Method', lead: 'How much of the model to change.' },
  { id: 'settings', title: 'Settings', lead: 'Start from a preset; change anything under Advanced.' },
  { id: 'review', title: 'Review', lead: 'Check the settings, name the run, and start. You can follow it live on the run’s page.' },
] as const;

export type StepId = (typeof STEPS)[number]['id'];

/** Dotted paths to a config's leaves; lists count as leaves. */
type Dotted<T> = {
  [K in keyof T & string]: T[K] extends unknown[] | null
    ? K
    : T[K] extends object
      ? `${K}.${keyof T[K] & string}`
      : K;
}[keyof T & string];

/** Every setting the wizard sends; the host picks the output folder itself. */
export type ConfigField = Exclude<Dotted<TrainConfig>, 'output_dir'>;

export interface FieldInfo {
  label: string;
  step: StepId;
  /** What to say when it is left empty, where the default wording would be vague. */
  empty?: string;
}

// A Record over ConfigField: a setting added to TrainConfig fails to compile until it has a label here.
export const FIELDS: Record<ConfigField, FieldInfo> = {
  model: { label: 'Model', step: 'model', empty: 'Choose a model' },
  method: { label: 'Method', step: 'method' },
  'lora.r': { label: 'Rank (r)', step: 'method' },
  'lora.alpha': { label: 'Alpha', step: 'method' },
  'lora.dropout': { label: 'LoRA dropout', step: 'method' },
  'lora.target_modules': { label: 'Target modules', step: 'method' },
  'lora.init_adapter': { label: 'Start from adapter', step: 'method' },
  'data.train': { label: 'Training data file', step: 'data', empty: 'Choose a training data file' },
  'data.format': { label: 'Format', step: 'data' },
  'data.template': { label: 'Prompt template', step: 'data' },
  'data.max_length': { label: 'Max length (tokens)', step: 'data' },
  'data.packing': { label: 'Pack short examples together', step: 'data' },
  'data.train_on_prompt': { label: 'Also train on the prompt', step: 'data' },
  'data.prompt_column': { label: 'Prompt field', step: 'data' },
  'data.response_column': { label: 'Response field', step: 'data' },
  'data.validation': { label: 'Validation file', step: 'settings', empty: 'Choose a validation file' },
  'data.validation_split': { label: 'Validation split', step: 'settings' },
  num_train_epochs: { label: 'Epochs', step: 'settings' },
  max_steps: { label: 'Steps', step: 'settings' },
  per_device_train_batch_size: { label: 'Batch size', step: 'settings' },
  per_device_eval_batch_size: { label: 'Evaluation batch size', step: 'settings' },
  gradient_accumulation_steps: { label: 'Gradient accumulation', step: 'settings' },
  learning_rate: { label: 'Learning rate', step: 'settings' },
  lr_scheduler_type: { label: 'Schedule', step: 'settings' },
  warmup_steps: { label: 'Warm-up steps', step: 'settings' },
  warmup_ratio: { label: 'Warm-up ratio', step: 'settings' },
  weight_decay: { label: 'Weight decay', step: 'settings' },
  max_grad_norm: { label: 'Gradient clipping (max norm)', step: 'settings' },
  adam_beta1: { label: 'Adam beta 1', step: 'settings' },
  adam_beta2: { label: 'Adam beta 2', step: 'settings' },
  adam_epsilon: { label: 'Adam epsilon', step: 'settings' },
  dropout: { label: 'Model dropout', step: 'settings' },
  shuffle: { label: 'Shuffle examples each epoch', step: 'settings' },
  seed: { label: 'Random seed', step: 'settings' },
  logging_steps: { label: 'Log every (steps)', step: 'settings' },
  eval_steps: { label: 'Evaluate every (steps)', step: 'settings' },
  save_steps: { label: 'Save a checkpoint every (steps)', step: 'settings' },
  save_total_limit: { label: 'Checkpoints to keep', step: 'settings' },
  early_stopping_patience: { label: 'Early stopping patience', step: 'settings' },
  load_best_model_at_end: { label: 'Keep the best evaluation’s weights', step: 'settings' },
  sample_prompts: { label: 'Sample prompts', step: 'settings' },
  bf16: { label: 'bf16 mixed precision', step: 'settings' },
  save_dtype: { label: 'Save weights as', step: 'settings' },
};

export function isConfigField(key: string): key is ConfigField {
  return Object.hasOwn(FIELDS, key);
}
