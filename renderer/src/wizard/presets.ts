// Three starting points for the training settings, so a first run needs no knowledge of
// learning rates. LoRA trains a few small matrices and tolerates (needs) a rate about
// four times higher than updating every weight does.
import { totalOptimizerSteps, type TrainConfig } from '../../../core/train/config';
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
    meaning: '3 passes over your data, 10% held back to measure progress at least 5 times, the best weights kept. A good first real run.',
  },
  thorough: {
    title: 'Thorough',
    meaning: '5 passes with a gentler learning rate, stopping early when the validation loss stops improving. Takes the longest.',
  },
};

type PresetInputs = Pick<WizardForm, 'method' | 'validationSource'> & Partial<Pick<WizardForm, 'data'>>;

/** A loss curve needs this many points to show a trend, and this many evaluations to show over-fitting. */
export const MIN_CURVE_POINTS = 20;
export const MIN_EVALUATIONS = 5;

type Intervals = Pick<TrainConfig, 'logging_steps' | 'eval_steps' | 'save_steps'>;

/**
 * The preset's intervals, made denser for a short run so it still draws ≥ 20 points and
 * evaluates ≥ 5 times (60 examples at batch 8 is 24 steps: logging every 10 gave a 3-point chart
 * and one evaluation). Never sparser than the preset; checkpoints fall on evaluations, so the
 * best one can be kept.
 */
export function scaledIntervals(totalSteps: number, base: Intervals): Intervals {
  const within = (wanted: number, most: number) => Math.max(1, Math.min(most, Math.floor(wanted)));
  const logging = within(totalSteps / MIN_CURVE_POINTS, base.logging_steps);
  const evaluate = base.eval_steps === 0 ? 0 : within(totalSteps / MIN_EVALUATIONS, base.eval_steps);
  const save = base.save_steps === 0 || evaluate === 0 ? base.save_steps : evaluate * Math.max(1, Math.floor(Math.min(base.save_steps, totalSteps) / evaluate));
  return { logging_steps: logging, eval_steps: evaluate, save_steps: save };
}

/** The optimizer steps a patched form will take over `examples` training examples (before the held-back share). */
function stepsFor(patch: FormPatch, form: PresetInputs, examples: number): number {
  const value = <T>(key: string, fallback: T) => (key in patch ? (patch[key] as T) : fallback);
  const split = value('validationSource', form.validationSource) === 'split' ? value('data.validation_split', form.data?.validation_split ?? 0) : 0;
  const trainExamples = Math.max(1, examples - Math.round(examples * (split ?? 0)));
  return totalOptimizerSteps(
    {
      max_steps: value<string>('length', 'epochs') === 'steps' ? value('max_steps', -1) : -1,
      num_train_epochs: value('num_train_epochs', 1),
      per_device_train_batch_size: value('per_device_train_batch_size', 1),
      gradient_accumulation_steps: value('gradient_accumulation_steps', 1),
    } as TrainConfig,
    trainExamples,
  );
}

/** Hold back a tenth for evaluation, unless a validation file or split is already chosen. */
function holdBack(form: PresetInputs): FormPatch {
  return form.validationSource === 'none' ? { validationSource: 'split', 'data.validation_split': 0.1 } : {};
}

/** A preset's settings; with the data's example count known, its intervals fit the run's length. */
export function presetPatch(name: PresetName, form: PresetInputs, examples: number | null = null): FormPatch {
  const patch = basePatch(name, form);
  if (examples === null || examples <= 0) return patch;
  const base = { logging_steps: patch.logging_steps, eval_steps: patch.eval_steps, save_steps: patch.save_steps } as Intervals;
  return { ...patch, ...scaledIntervals(stepsFor(patch, form, examples), base) };
}

function basePatch(name: PresetName, form: PresetInputs): FormPatch {
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

/** The preset the form's settings match exactly (for `examples` training examples), or null once any of them was changed. */
export function activePreset(form: WizardForm, examples: number | null = null): PresetName | null {
  return PRESET_NAMES.find((name) => Object.entries(presetPatch(name, form, examples)).every(([key, value]) => getPath(form, key) === value)) ?? null;
}
