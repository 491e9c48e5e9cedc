// Which fields of a JSON row or CSV header hold the prompt, its optional input and the
// response. Datasets name them many ways (Alpaca's instruction/input/output, question/
// answer, OpenAI's prompt/completion, prompt/response), so the common names are found
// on their own and anything else is named with prompt_column / response_column.
import { DataError } from './errors';

/** The names tried, in order; the first present wins when several are. */
export const PROMPT_FIELDS = ['instruction', 'prompt', 'question', 'query'] as const;
export const RESPONSE_FIELDS = ['output', 'response', 'answer', 'completion'] as const;
const INPUT_FIELDS = ['input', 'context'] as const;
/** A row with only this (and no prompt/response) is a document to train on whole. */
export const TEXT_FIELD = 'text';

/** The user's choice, from the config's data.prompt_column / data.response_column. */
export interface ChosenFields {
  prompt_column?: string | null;
  response_column?: string | null;
}

/** Where a row's parts are, by field name as the file spells it. */
export interface FieldMapping {
  prompt: string;
  input: string | null;
  response: string;
}

/** What the file's fields were read as, for the wizard's "prompt ← question" picker. */
export interface FieldGuess extends FieldMapping {
  /** Every field (or column) name of the first row, in file order. */
  available: string[];
  /** false when another field could also be meant: the wizard asks. */
  sure: boolean;
}

/** No prompt or response field could be found: the error keeps the names so a picker can offer them. */
export class FieldsError extends DataError {
  override name = 'FieldsError';
  constructor(
    message: string,
    readonly available: string[],
  ) {
    super(message);
  }
}

function candidates(names: string[], wanted: readonly string[]): string[] {
  const byLower = new Map(names.map((n) => [n.toLowerCase(), n]));
  return wanted.map((w) => byLower.get(w)).filter((n): n is string => n !== undefined);
}

function pick(where: string, names: string[], chosen: string | null | undefined, wanted: readonly string[], what: 'prompt' | 'response'): { name: string; sure: boolean } {
  const listed = `fields: ${names.join(', ') || 'none'}`;
  if (chosen) {
    const name = names.find((n) => n === chosen.trim());
    if (name === undefined) throw new FieldsError(`${where}: no field "${chosen}" for the ${what} (${listed})`, names);
    return { name, sure: true };
  }
  const found = candidates(names, wanted);
  if (found.length === 0) throw new FieldsError(`${where}: no ${what} field (looked for ${wanted.join(', ')}; ${listed}); set data.${what}_column`, names);
  return { name: found[0], sure: found.length === 1 };
}

/** The mapping for a row with these field names; a FieldsError naming `where` when there is none. */
export function guessFields(where: string, names: string[], chosen: ChosenFields): FieldGuess {
  const prompt = pick(where, names, chosen.prompt_column, PROMPT_FIELDS, 'prompt');
  const response = pick(where, names, chosen.response_column, RESPONSE_FIELDS, 'response');
  if (prompt.name === response.name) throw new FieldsError(`${where}: "${prompt.name}" cannot be both the prompt and the response`, names);
  const input = candidates(names, INPUT_FIELDS).find((n) => n !== prompt.name && n !== response.name) ?? null;
  return { available: names, prompt: prompt.name, input, response: response.name, sure: prompt.sure && response.sure };
}

/** Whether a row with these names is plain text to train on whole: a text field and no prompt/response pair. */
export function isTextRow(names: string[], chosen: ChosenFields): boolean {
  const lower = names.map((n) => n.toLowerCase());
  const chose = Boolean(chosen.prompt_column || chosen.response_column);
  return !chose && lower.includes(TEXT_FIELD) && (candidates(names, PROMPT_FIELDS).length === 0 || candidates(names, RESPONSE_FIELDS).length === 0);
}
