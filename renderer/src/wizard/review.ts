// The review step's summary: every setting the run will use, in words, grouped by the
// step that set it.
import type { TrainConfigDraft } from '../../../core/api/contract';
import type { TemplateName } from '../../../core/data/templates';
import type { ScheduleName } from '../../../core/train/schedules';
import { SCHEDULES_DESCRIBED, TEMPLATES } from './choices';
import { FIELDS, STEPS, type ConfigField, type StepId } from './fields';
import { getPath } from './paths';

/** What an empty (null) setting means, where "none" would undersell it. */
const NULL_MEANS: Partial<Record<ConfigField, string>> = {
  'lora.target_modules': 'the architecture’s default',
  'lora.init_adapter': 'none: a new adapter',
  'data.format': 'detected from the file',
  'data.prompt_column': 'found by its name',
  'data.response_column': 'found by its name',
  dropout: 'the model’s own',
  save_total_limit: 'keep all',
  early_stopping_patience: 'off',
};

const SPECIAL: Partial<Record<ConfigField, (value: unknown) => string | null>> = {
  method: (v) => (v === 'lora' ? 'LoRA' : 'Full fine-tune'),
  'data.template': (v) => TEMPLATES[v as TemplateName]?.label ?? null,
  lr_scheduler_type: (v) => SCHEDULES_DESCRIBED[v as ScheduleName]?.label ?? null,
  max_steps: (v) => (v === -1 ? 'set by the epochs' : null),
  'data.validation_split': (v) => (v === 0 ? 'none' : `${Math.round((v as number) * 100)}% of the training data`),
};

export function describeValue(field: ConfigField, value: unknown): string {
  const special = SPECIAL[field]?.(value);
  if (special) return special;
  if (value === null) return NULL_MEANS[field] ?? 'none';
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  if (Array.isArray(value)) return value.length ? value.join(' · ') : 'none';
  return String(value);
}

export interface ReviewSection {
  step: StepId;
  title: string;
  /** Label and value of each setting. */
  rows: [string, string][];
}

/** One section per step that holds settings, each listing the settings the draft has. */
export function reviewSections(draft: TrainConfigDraft): ReviewSection[] {
  const fields = Object.keys(FIELDS) as ConfigField[];
  return STEPS.map(({ id, title }) => ({
    step: id,
    title,
    rows: fields
      .filter((field) => FIELDS[field].step === id && getPath(draft, field) !== undefined)
      .map((field): [string, string] => [FIELDS[field].label, describeValue(field, getPath(draft, field))]),
  })).filter((section) => section.rows.length > 0);
}

/** A duration as a person would say it before a run: rounded, never falsely exact. */
export function roughDuration(seconds: number): string {
  if (seconds < 60) return 'under a minute';
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `about ${minutes} minute${minutes === 1 ? '' : 's'}`;
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  const h = `${hours} hour${hours === 1 ? '' : 's'}`;
  return rest ? `about ${h} ${rest} minute${rest === 1 ? '' : 's'}` : `about ${h}`;
}

/** The name a run gets unless someone types another: model, data file and method. */
export function suggestedRunName(draft: Pick<TrainConfigDraft, 'model' | 'method' | 'data'>): string {
  const last = (path: string) => path.split(/[\\/]/).filter(Boolean).pop() ?? path;
  const data = last(draft.data.train).replace(/\.[^.]+$/, '');
  return `${last(draft.model)} · ${data} · ${draft.method === 'full' ? 'full' : 'LoRA'}`;
}
