// The Playground's shared sampling settings as the form holds them (a number field can be
// empty), checked into what a chat request carries. The rules are core's own
// (validateSampling); only the words are written here, for people rather than logs.
import type { ChatRequest } from '../../../core/api/contract';
import { DEFAULT_SAMPLING, validateSampling, type SamplingOptions } from '../../../core/generate/sampling';

export interface SamplingForm {
  greedy: boolean;
  temperature: number | null;
  topK: number | null;
  topP: number | null;
  repetitionPenalty: number | null;
  maxNewTokens: number | null;
  /** null: the host's default seed. */
  seed: number | null;
}

export type SamplingField = Exclude<keyof SamplingForm, 'greedy'>;

export type ChatSampling = ChatRequest['sampling'];

/** Long enough for a paragraph, short enough that a small model on a CPU answers in seconds. */
export const DEFAULT_MAX_NEW_TOKENS = 128;

export const DEFAULT_SAMPLING_FORM: SamplingForm = { ...DEFAULT_SAMPLING, maxNewTokens: DEFAULT_MAX_NEW_TOKENS, seed: null };

type CoreField = Exclude<keyof SamplingOptions, 'greedy'>;

const CORE_RULES: Record<CoreField, string> = {
  temperature: 'Temperature must be a number above 0 (1 keeps the model’s own odds).',
  topK: 'Top-k must be a whole number, 0 or more (0 turns it off).',
  topP: 'Top-p must be above 0 and at most 1 (1 turns it off).',
  repetitionPenalty: 'Repetition penalty must be a number above 0 (1 turns it off).',
};

// Asking core's validator one field at a time keeps a single copy of the rules.
function breaksCoreRule(field: CoreField, value: number): boolean {
  try {
    validateSampling({ ...DEFAULT_SAMPLING, [field]: value });
    return false;
  } catch {
    return true;
  }
}

/** What is wrong with each field, in plain words; an empty object when all is well. */
export function samplingProblems(form: SamplingForm): Partial<Record<SamplingField, string>> {
  const problems: Partial<Record<SamplingField, string>> = {};
  for (const field of Object.keys(CORE_RULES) as CoreField[]) {
    const value = form[field];
    if (value === null || breaksCoreRule(field, value)) problems[field] = CORE_RULES[field];
  }
  const max = form.maxNewTokens;
  if (max === null || !Number.isSafeInteger(max) || max < 1) problems.maxNewTokens = 'Max new tokens must be a whole number, 1 or more.';
  const seed = form.seed;
  if (seed !== null && (!Number.isSafeInteger(seed) || seed < 0)) problems.seed = 'Seed must be a whole number, 0 or more, or left empty.';
  return problems;
}

export type SamplingCheck = { ok: true; sampling: ChatSampling } | { ok: false; problems: Partial<Record<SamplingField, string>> };

export function checkSampling(form: SamplingForm): SamplingCheck {
  const problems = samplingProblems(form);
  if (Object.keys(problems).length > 0) return { ok: false, problems };
  // samplingProblems has ruled out every null but the seed's.
  const sampling: ChatSampling = {
    greedy: form.greedy,
    temperature: form.temperature!,
    topK: form.topK!,
    topP: form.topP!,
    repetitionPenalty: form.repetitionPenalty!,
    maxNewTokens: form.maxNewTokens!,
  };
  if (form.seed !== null) sampling.seed = form.seed;
  return { ok: true, sampling };
}

/** One line for the closed settings panel, e.g. "greedy · up to 128 tokens". */
export function samplingSummary(form: SamplingForm): string {
  const length = form.maxNewTokens === null ? 'no length set' : `up to ${form.maxNewTokens} tokens`;
  const how = form.greedy ? 'greedy' : `temperature ${form.temperature ?? '?'}, top-k ${form.topK ?? '?'}, top-p ${form.topP ?? '?'}`;
  return `${how} · ${length}`;
}
