// Three starting points for the training settings, so a first run needs no knowledge of
// learning rates. LoRA trains a few small matrices and tolerates (needs) a rate about
// four times higher than updating every weight does.
import type { WizardForm } from './form';
import { getPath, type FormPatch } from './paths';

export const PRESET_NAMES = ['quick', 'balanced', 'thorough'] as const;
export type PresetName = (typeof PRESET_NAMES)[number];

export const PRESETS: Record<PresetName, { title: string; meaning: string }> = {
  quick: {
    title: 'Quick test',
    meaning: '30 steps, no checkpoints: checks that your data and settings work end to end in minutes. The model will barely change.',
  },
  balanced: {
    title: 'Balanced',
    meaning: '3 passes over your data, 10% held back to measure progress, a checkpoint every 200 steps. A good first real run.',
  },
  thorough: {
    title: 'Thorough',
    meaning: '5 passes with a gentler learning rate, stopping early when the validation loss stops improving. Takes the longest.',
  },
};

type PresetInputs = Pick<WizardForm, 'method' | 'validationSource'>;

/** Hold back a tenth for evaluation, unless a validation file or split is already chosen. */
function holdBack(form: PresetInputs): FormPatch {
  return form.validationSource === 'none' ? { validationSource: 'split', 'data.validation_split': 0.1 } : {};
}

export function presetPatch(name: PresetName, form: PresetInputs): FormPatch {
  const lora = form.method === 'lora';
  switch (name) {
    case 'quick':
      return {
        length: 'steps',
        max_steps: 30,
        num_train_epochs: 1,
        per_device_train_batch_size: 4,
        gradient_accumulation_steps: 1,
        learning_rate: lora ? 3e-4 : 5e-5,
        lr_scheduler_type: 'constant',
        warmup_steps: 0,
        warmup_ratio: 0,
        weight_decay: 0,
        logging_steps: 1,
        eval_steps: 0,
        save_steps: 0,
        save_total_limit: null,
        early_stopping_patience: null,
      };
    case 'balanced':
      return {
        length: 'epochs',
        num_train_epochs: 3,
        per_device_train_batch_size: 8,
        gradient_accumulation_steps: 1,
        learning_rate: lora ? 2e-4 : 5e-5,
        lr_scheduler_type: 'linear',
        warmup_steps: 0,
        warmup_ratio: 0.05,
        weight_decay: 0,
        logging_steps: 10,
        eval_steps: 100,
        save_steps: 200,
        save_total_limit: 2,
        early_stopping_patience: null,
        ...holdBack(form),
      };
    case 'thorough':
      return {
        length: 'epochs',
        num_train_epochs: 5,
        per_device_train_batch_size: 8,
        gradient_accumulation_steps: 2,
        learning_rate: lora ? 1e-4 : 2e-5,
        lr_scheduler_type: 'cosine',
        warmup_steps: 0,
        warmup_ratio: 0.1,
        weight_decay: 0.01,
        logging_steps: 10,
        eval_steps: 50,
        save_steps: 100,
        save_total_limit: 3,
        early_stopping_patience: 3,
        ...holdBack(form),
      };
  }
}

/** The preset the form's settings match exactly, or null once any of them was changed. */
export function activePreset(form: WizardForm): PresetName | null {
  return PRESET_NAMES.find((name) => Object.entries(presetPatch(name, form)).every(([key, value]) => getPath(form, key) === value)) ?? null;
}
