// The wizard's form: a training config in the shapes inputs hold (an emptied number
// input is null, a list is a line of text), plus the few choices that only the wizard
// makes. It becomes a TrainConfigDraft in validation.ts, once checked.
import { resolveTrainConfig, type TrainConfig } from '../../../core/train/config';
import { withPatch } from './paths';
import { presetPatch } from './presets';

/** The trainer's own defaults, read from its resolver so the wizard cannot drift from them. */
export const TRAINER_DEFAULTS: TrainConfig = resolveTrainConfig({ model: '-', output_dir: '-', data: { train: '-' } });

type InputValue<V> = [V] extends [number | null]
  ? number | null
  : [V] extends [boolean]
    ? boolean
    : [V] extends [string[] | null]
      ? string
      : null extends V
        ? string
        : V;

/** A config as inputs hold it: numbers may be emptied, lists and optional paths are text. */
type InputsOf<T> = {
  [K in keyof T]: [T[K]] extends [unknown[] | null] ? InputValue<T[K]> : T[K] extends object ? InputsOf<T[K]> : InputValue<T[K]>;
};

export type ConfigInputs = InputsOf<Omit<TrainConfig, 'output_dir'>>;

export interface WizardForm extends ConfigInputs {
  /** The run's name in the runs list. */
  name: string;
  modelOrigin: 'catalog' | 'folder';
  validationSource: 'none' | 'split' | 'file';
  /** Train for num_train_epochs, or stop after max_steps. */
  length: 'epochs' | 'steps';
}

export function initialForm(): WizardForm {
  const { output_dir: _outputDir, lora, data, ...top } = TRAINER_DEFAULTS;
  const form: WizardForm = {
    ...top,
    name: '',
    model: '',
    modelOrigin: 'catalog',
    validationSource: 'none',
    length: 'epochs',
    max_steps: null,
    sample_prompts: '',
    lora: { ...lora, target_modules: '', init_adapter: '' },
    data: { ...data, train: '', validation: '', format: '', prompt_column: '', response_column: '' },
  };
  return withPatch(form, presetPatch('balanced', form));
}

function lines(text: string): string[] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
}

function list(text: string): string[] | null {
  const items = text
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
  return items.length ? items : null;
}

/** The config the form describes, unchecked: numbers may still be null where a value is required. */
export function draftFields(form: WizardForm): Record<string, unknown> {
  const { name: _name, modelOrigin: _origin, validationSource, length, lora, data, sample_prompts, max_steps, ...top } = form;
  return {
    ...top,
    max_steps: length === 'steps' ? max_steps : -1,
    sample_prompts: lines(sample_prompts),
    // The trainer ignores LoRA settings in a full fine-tune, so stale ones must not block it.
    ...(form.method === 'lora'
      ? { lora: { ...lora, target_modules: list(lora.target_modules), init_adapter: lora.init_adapter.trim() || null } }
      : {}),
    data: {
      ...data,
      train: data.train.trim(),
      format: data.format || null,
      prompt_column: data.prompt_column || null,
      response_column: data.response_column || null,
      validation: validationSource === 'file' ? data.validation.trim() : null,
      validation_split: validationSource === 'split' ? data.validation_split : 0,
    },
  };
}

/** Hub ids (`gpt2`, `bigscience/bloom-560m`) are relative; a folder is absolute, or starts at the home folder. */
export function isFolderSource(source: string): boolean {
  return /^(?:\/|~[\\/]|[A-Za-z]:[\\/]|\\\\)/.test(source);
}

/**
 * The form a past run's stored config describes, so "Run again with changes" starts from
 * exactly that run: the inverse of draftFields. `source` is the model as the run was
 * started with it (the stored config holds the folder it resolved to).
 */
export function formFromConfig(stored: unknown, source: string, name: string): WizardForm {
  const { output_dir: _outputDir, lora, data, max_steps, sample_prompts, ...top } = resolveTrainConfig({ ...(stored as object), output_dir: '-' }, 'the run’s config');
  const blank = initialForm();
  return {
    ...blank,
    ...top,
    name,
    model: source,
    modelOrigin: isFolderSource(source) ? 'folder' : 'catalog',
    validationSource: data.validation ? 'file' : data.validation_split > 0 ? 'split' : 'none',
    length: max_steps > 0 ? 'steps' : 'epochs',
    max_steps: max_steps > 0 ? max_steps : blank.max_steps,
    sample_prompts: sample_prompts.join('\n'),
    lora: { ...lora, target_modules: (lora.target_modules ?? []).join(', '), init_adapter: lora.init_adapter ?? '' },
    data: {
      ...data,
      validation: data.validation ?? '',
      validation_split: data.validation ? blank.data.validation_split : data.validation_split,
      format: data.format ?? '',
      prompt_column: data.prompt_column ?? '',
      response_column: data.response_column ?? '',
    },
  };
}
