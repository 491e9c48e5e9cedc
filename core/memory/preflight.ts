// The checks a run must pass before it starts, made from what the app already knows:
// the training config, the model's config.json and the data's counts. Each is a mistake
// that would otherwise surface as a failed run seconds or hours later (a LoRA target the
// model lacks, a max length past its position table) or as a silently different run (a
// batch larger than the data). Pure, so the wizard's host, the start of a run and tests
// all get the same answer.
import { ARCHITECTURES } from '../models/causal-lm';
import type { ModelConfig } from '../models/config';
import { isTargeted } from '../models/lora';
import type { TrainConfig } from '../train/config';
import { projections } from './parameters';

/** What the data file holds once templated and tokenized for this model. */
export interface DataFacts {
  /** Examples the trainer will train on, after the validation split. */
  trainExamples: number;
  /** Tokens in the longest example, after truncation. */
  longestTokens: number;
}

export interface PreflightIssue {
  /** `error` stops the run from starting; `warning` lets it start. */
  severity: 'error' | 'warning';
  /** The config field it is about, dotted (`lora.target_modules`). */
  field: string;
  message: string;
  /** Config fields (dotted) that would resolve it, when one value clearly does. */
  fix?: Record<string, number>;
}

export interface Preflight {
  issues: PreflightIssue[];
  /** The micro-batch the run will really hold: the batch size, capped by the training examples. */
  batch: number;
}

/**
 * Learning rates that fine-tuning practice uses (PEFT's and HF's examples: LoRA around
 * 1e-4 to 5e-4, full fine-tunes around 1e-5 to 5e-5), and the wider range outside which a
 * run almost surely diverges or stands still.
 */
export const LEARNING_RATES = {
  lora: { usual: [1e-4, 5e-4], sane: [1e-6, 1e-2] },
  full: { usual: [1e-5, 5e-5], sane: [1e-7, 1e-3] },
} as const satisfies Record<TrainConfig['method'], { usual: [number, number]; sane: [number, number] }>;

const METHOD_NAMES = { lora: 'LoRA', full: 'a full fine-tune' } as const;

/** The names target_modules can use for this model: the projections LoRA can adapt. */
export function loraTargetNames(model: ModelConfig): string[] {
  return ARCHITECTURES[model.modelType].loraTargets;
}

function missingTargets(model: ModelConfig, targets: string[]): string[] {
  const adaptable = projections(model)
    .map((p) => p.module)
    .filter((m) => loraTargetNames(model).some((t) => m.endsWith(`.${t}`)));
  return targets.filter((t) => !adaptable.some((m) => isTargeted(m, [t])));
}

export function preflight(config: TrainConfig, model: ModelConfig, data: DataFacts | null): Preflight {
  const issues: PreflightIssue[] = [];

  if (config.method === 'lora' && config.lora.target_modules) {
    const missing = missingTargets(model, config.lora.target_modules);
    if (missing.length > 0) {
      const names = missing.map((t) => `"${t}"`).join(', ');
      issues.push({
        severity: 'error',
        field: 'lora.target_modules',
        message: `This ${model.modelType} model has no module ${names}; it has ${loraTargetNames(model).join(', ')}`,
      });
    }
  }

  if (model.maxPositions !== null && config.data.max_length > model.maxPositions) {
    issues.push({
      severity: 'error',
      field: 'data.max_length',
      message: `Max length ${config.data.max_length} is more than this model can read (${model.maxPositions} tokens)`,
      fix: { 'data.max_length': model.maxPositions },
    });
  }

  let batch = config.per_device_train_batch_size;
  if (data && data.trainExamples > 0 && batch > data.trainExamples) {
    batch = data.trainExamples;
    issues.push({
      severity: 'warning',
      field: 'per_device_train_batch_size',
      message: `Batch size ${config.per_device_train_batch_size} is more than the ${data.trainExamples} training examples, so each batch holds ${batch}`,
      fix: { per_device_train_batch_size: batch },
    });
  }

  const rates = LEARNING_RATES[config.method];
  const lr = config.learning_rate;
  if (lr < rates.sane[0] || lr > rates.sane[1]) {
    issues.push({
      severity: 'warning',
      field: 'learning_rate',
      message: `Learning rate ${lr} is ${lr > rates.sane[1] ? 'far higher' : 'far lower'} than ${METHOD_NAMES[config.method]} uses (usually ${rates.usual[0]} to ${rates.usual[1]}); ${lr > rates.sane[1] ? 'the loss will likely blow up' : 'the model will barely change'}`,
      fix: { learning_rate: rates.usual[0] },
    });
  }

  return { issues, batch };
}
