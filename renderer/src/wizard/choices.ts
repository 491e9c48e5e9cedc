// The options behind the wizard's selects, in words. Keyed by core's own names, so a
// template or schedule added there fails to compile here until it is described.
import type { DataFormat } from '../../../core/data/formats';
import type { TemplateName } from '../../../core/data/templates';
import { SCHEDULES, type ScheduleName } from '../../../core/train/schedules';

/** '' is "detect"; tokenized files are detected, never chosen by hand. */
export const FORMAT_CHOICES: { value: '' | Exclude<DataFormat, 'tokenized'>; label: string }[] = [
  { value: '', label: 'Detect from the file' },
  { value: 'text', label: 'Plain text (a line each)' },
  { value: 'alpaca', label: 'Alpaca (instruction, output)' },
  { value: 'chat', label: 'Chat (messages)' },
  { value: 'csv', label: 'CSV (columns)' },
];

/** A short name for the list, and what it means for the one chosen. */
interface Described {
  label: string;
  meaning: string;
}

export const TEMPLATES: Record<TemplateName, Described> = {
  human_assistant: { label: 'Human / Assistant', meaning: '“Human: … Assistant: …”; works with any model and data.' },
  alpaca: { label: 'Alpaca', meaning: '“### Instruction / ### Response” sections; instruction data only.' },
  chatml: { label: 'ChatML', meaning: '<|im_start|> and <|im_end|> around each turn.' },
  none: { label: 'None', meaning: 'The data’s text exactly as it is.' },
  model: { label: 'The model’s own', meaning: 'The chat template that came with the model.' },
};

export function templateChoices(modelHasChatTemplate: boolean): { value: string; label: string; disabled: boolean }[] {
  return (Object.entries(TEMPLATES) as [TemplateName, Described][]).map(([value, { label }]) => {
    const unavailable = value === 'model' && !modelHasChatTemplate;
    return { value, label: unavailable ? `${label} (this model has none)` : label, disabled: unavailable };
  });
}

export const SCHEDULES_DESCRIBED: Record<ScheduleName, Described> = {
  linear: { label: 'Linear decay', meaning: 'Falls steadily to 0 by the last step.' },
  cosine: { label: 'Cosine decay', meaning: 'Falls slowly, then faster, then slowly again to 0.' },
  constant: { label: 'Constant', meaning: 'Stays the same throughout; warm-up is ignored.' },
  constant_with_warmup: { label: 'Constant after warm-up', meaning: 'Rises during the warm-up, then stays the same.' },
};

export const SCHEDULE_CHOICES = SCHEDULES.map((value) => ({ value, label: SCHEDULES_DESCRIBED[value].label }));
