// The wizard's checks are the trainer's own: the draft goes through resolveTrainConfig,
// and each setting it rejects is noted and put back to its default until it passes, so
// every problem is found (those spanning two settings too), each against the real
// config. Only the wording changes, to plain words with the labels people see.
import type { TrainConfigDraft } from '../../../core/api/contract';
import { ConfigFieldError, resolveTrainConfig } from '../../../core/train/config';
import { FIELDS, isConfigField, type ConfigField, type StepId } from './fields';
import { draftFields, TRAINER_DEFAULTS, type WizardForm } from './form';
import { getPath, withPatch } from './paths';

/** Messages by config field (`lora.r`), `name` for the run's name, `config` for one naming no field. */
export type Problems = Partial<Record<ConfigField | 'name' | 'config', string>>;

export interface FormCheck {
  problems: Problems;
  /** What to send the host; null while any setting has a problem. */
  draft: TrainConfigDraft | null;
}

const PHRASES: [RegExp, string][] = [
  [/ > 0/g, ' above 0'],
  [/ ≥ 0/g, ' of 0 or more'],
  [/(?:in )?\[0, 1\)/g, 'from 0 up to (not including) 1'],
];

/** The resolver's message with labels for keys and words for symbols. */
export function plainWords(message: string): string {
  let text = message.replace(/^config: /, '').replace(/ \(got .*\)$/s, '');
  text = text.replace(/"([a-z_.]+)"/g, (quoted, key: string) => (isConfigField(key) ? FIELDS[key].label : quoted));
  for (const [pattern, words] of PHRASES) text = text.replace(pattern, words);
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** The first setting the resolver rejects, in plain words; null once it accepts the config. */
function firstProblem(fields: Record<string, unknown>): { field: keyof Problems; message: string } | null {
  try {
    resolveTrainConfig({ ...fields, output_dir: '-' });
    return null;
  } catch (error) {
    if (!(error instanceof ConfigFieldError)) throw error;
    const key = /"([a-z_.]+)"/.exec(error.message)?.[1] ?? '';
    const field = isConfigField(key) ? key : 'config';
    const value = field === 'config' ? undefined : getPath(fields, field);
    const empty = value === null || value === '';
    return { field, message: empty && field !== 'config' ? (FIELDS[field].empty ?? `${FIELDS[field].label} needs a value`) : plainWords(error.message) };
  }
}

export function checkForm(form: WizardForm): FormCheck {
  const fields = draftFields(form);
  const problems: Problems = {};
  let rest = fields;
  for (let problem = firstProblem(rest); problem && !problems[problem.field]; problem = firstProblem(rest)) {
    problems[problem.field] = problem.message;
    if (problem.field === 'config') break;
    // Defaults are valid, so each pass leaves one problem fewer.
    rest = withPatch(rest, { [problem.field]: getPath(TRAINER_DEFAULTS, problem.field) });
  }
  // The resolver accepted every field, which is what makes this draft a TrainConfigDraft.
  return { problems, draft: Object.keys(problems).length === 0 ? (fields as TrainConfigDraft) : null };
}

export function runNameProblem(name: string): string | null {
  return name.trim() ? null : 'Give the run a name';
}

function stepOf(key: keyof Problems): StepId {
  return isConfigField(key) ? FIELDS[key].step : 'review';
}

/** Problems that belong to one step, in the order its fields appear. */
export function stepProblems(problems: Problems, step: StepId): string[] {
  const keys: (keyof Problems)[] = [...(Object.keys(FIELDS) as ConfigField[]), 'name', 'config'];
  return keys.filter((key) => problems[key] && stepOf(key) === step).map((key) => problems[key] as string);
}
