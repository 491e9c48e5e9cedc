// Which format a data file is in, and its rows as samples, documents or ready token ids.
// The format comes from the extension, or for JSON from the fields of the first row.
import path from 'node:path';
import { csvSamples } from './csv';
import { DataError } from './errors';
import { guessFields, isTextRow, TEXT_FIELD, type ChosenFields, type FieldGuess, type FieldMapping } from './fields';
import { arrayField, readJsonRows, stringField, typeName, type JsonObject } from './json-rows';
import { IGNORE_INDEX, type Chat, type Example, type Instruction, type Located, type Message, type Role, type Sample } from './records';

export const FORMATS = ['text', 'alpaca', 'chat', 'csv', 'tokenized'] as const;
export type DataFormat = (typeof FORMATS)[number];

export type ParsedData =
  | { format: 'text'; documents: string[] }
  | { format: 'chat'; samples: Located<Sample>[] }
  | { format: 'alpaca' | 'csv'; samples: Located<Sample>[]; columns: FieldGuess }
  | { format: 'tokenized'; examples: Example[] };

export interface ParseOptions extends ChosenFields {
  /** The model's embedding rows: pre-tokenized ids at or past it are refused where they are read. */
  vocab_size?: number;
}

export function parseData(file: string, text: string, format: string | null, columns: ParseOptions): ParsedData {
  const chosen = format === null ? formatFromExtension(file) : checkFormat(format);
  switch (chosen) {
    case 'text':
      return { format: 'text', documents: textDocuments(text) };
    case 'csv':
      return { format: 'csv', ...csvSamples(file, text, columns) };
    default: {
      const rows = readJsonRows(file, text);
      const jsonFormat = chosen === 'json' ? (rows.length > 0 ? formatFromFields(rows[0], columns) : 'alpaca') : chosen;
      if (jsonFormat === 'tokenized') return { format: jsonFormat, examples: rows.map((row) => tokenizedRow(row, columns.vocab_size ?? Infinity)) };
      if (jsonFormat === 'chat') return { format: jsonFormat, samples: rows.map(chatRow) };
      if (jsonFormat === 'text') return { format: jsonFormat, documents: rows.map(({ where, value }) => stringField(value, TEXT_FIELD, where, true)) };
      const first = rows[0];
      const guess = guessFields(first ? first.where : file, first ? Object.keys(first.value) : [], columns);
      return { format: jsonFormat, samples: rows.map((row) => instructionRow(row, guess)), columns: guess };
    }
  }
}

function checkFormat(format: string): DataFormat {
  if ((FORMATS as readonly string[]).includes(format)) return format as DataFormat;
  throw new DataError(`unknown data format "${format}" (expected one of ${FORMATS.join(', ')})`);
}

function formatFromExtension(file: string): 'text' | 'csv' | 'json' {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.txt') return 'text';
  if (ext === '.csv') return 'csv';
  if (ext === '.json' || ext === '.jsonl') return 'json';
  throw new DataError(`${file}: cannot tell the data format from the extension "${ext}" (use .txt, .json, .jsonl or .csv, or set format to one of ${FORMATS.join(', ')})`);
}

/** Chat and token rows by their keys; a lone text field is a document; anything else is a prompt/response pair (guessFields names what is missing). */
function formatFromFields(first: Located<JsonObject>, columns: ChosenFields): 'alpaca' | 'chat' | 'tokenized' | 'text' {
  const obj = first.value;
  if ('messages' in obj || 'conversations' in obj) return 'chat';
  if ('input_ids' in obj) return 'tokenized';
  if (isTextRow(Object.keys(obj), columns)) return 'text';
  return 'alpaca';
}

/** Each non-blank line is one document. */
function textDocuments(text: string): string[] {
  return text.split(/\r?\n/).filter((line) => line.trim() !== '');
}

function instructionRow({ where, value }: Located<JsonObject>, fields: FieldMapping): Located<Instruction> {
  return {
    where,
    value: {
      kind: 'instruction',
      instruction: stringField(value, fields.prompt, where, true),
      input: fields.input === null ? '' : stringField(value, fields.input, where, false),
      output: stringField(value, fields.response, where, true),
    },
  };
}

/** ShareGPT's speaker names, mapped to the OpenAI roles that `messages` uses. */
const SHAREGPT_ROLES: Record<string, Role> = { human: 'user', gpt: 'assistant', system: 'system' };
const ROLES: Record<string, Role> = { user: 'user', assistant: 'assistant', system: 'system' };

function chatRow({ where, value }: Located<JsonObject>): Located<Chat> {
  const shareGpt = !('messages' in value) && 'conversations' in value;
  const [key, roleKey, contentKey, roles] = shareGpt
    ? (['conversations', 'from', 'value', SHAREGPT_ROLES] as const)
    : (['messages', 'role', 'content', ROLES] as const);
  const turns = arrayField(value, key, where);
  if (turns.length === 0) throw new DataError(`${where}: field "${key}" is empty`);
  const messages = turns.map((turn, i): Message => {
    const at = `${where}: ${key}[${i}]`;
    if (typeof turn !== 'object' || turn === null || Array.isArray(turn)) throw new DataError(`${at} must be an object, got ${typeName(turn)}`);
    const name = stringField(turn as JsonObject, roleKey, at, true);
    const role = roles[name];
    if (!role) throw new DataError(`${at}: "${roleKey}" must be one of ${Object.keys(roles).join(', ')}, got "${name}"`);
    return { role, content: stringField(turn as JsonObject, contentKey, at, true) };
  });
  return { where, value: { kind: 'chat', messages } };
}

function tokenizedRow({ where, value }: Located<JsonObject>, vocabSize: number): Example {
  const input_ids = idList(value, 'input_ids', where, vocabSize, false);
  if (input_ids.length === 0) throw new DataError(`${where}: field "input_ids" is empty`);
  if (value.labels === undefined) return { input_ids, labels: [...input_ids] };
  const labels = idList(value, 'labels', where, vocabSize, true);
  if (labels.length !== input_ids.length) {
    throw new DataError(`${where}: field "labels" has ${labels.length} entries, "input_ids" has ${input_ids.length}`);
  }
  return { input_ids, labels };
}

function idList(obj: JsonObject, key: string, where: string, vocabSize: number, ignoreAllowed: boolean): number[] {
  const list = arrayField(obj, key, where);
  const valid = (v: unknown) => Number.isInteger(v) && (((v as number) >= 0 && (v as number) < vocabSize) || (ignoreAllowed && v === IGNORE_INDEX));
  const bad = list.findIndex((v) => !valid(v));
  if (bad < 0) return list as number[];
  const v = list[bad];
  const why = Number.isInteger(v) && (v as number) >= vocabSize ? `; the model has ${vocabSize}` : '';
  throw new DataError(`${where}: ${key}[${bad}] is not a valid token id (got ${JSON.stringify(v)}${why})`);
}
