// JSON Lines or one JSON array, read into objects that remember their line or item, plus
// the field checks every JSON format shares.
import { DataError } from './errors';
import type { Located } from './records';

export type JsonObject = Record<string, unknown>;

/** A file whose first character is `[` is one JSON array; anything else is JSON Lines. */
export function readJsonRows(file: string, text: string): Located<JsonObject>[] {
  return text.trimStart().startsWith('[') ? arrayRows(file, text) : lineRows(file, text);
}

function arrayRows(file: string, text: string): Located<JsonObject>[] {
  const items = parse(text, file) as unknown[];
  if (!Array.isArray(items)) throw new DataError(`${file}: expected a JSON array of objects`);
  return items.map((item, i) => asObject({ where: `${file}: item ${i + 1}`, value: item }));
}

function lineRows(file: string, text: string): Located<JsonObject>[] {
  const rows: Located<JsonObject>[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    const where = `${file}:${i + 1}`;
    rows.push(asObject({ where, value: parse(line, where) }));
  });
  return rows;
}

function parse(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new DataError(`${where}: not valid JSON (${(err as Error).message})`);
  }
}

function asObject(row: Located<unknown>): Located<JsonObject> {
  if (typeof row.value !== 'object' || row.value === null || Array.isArray(row.value)) {
    throw new DataError(`${row.where}: expected a JSON object, got ${typeName(row.value)}`);
  }
  return row as Located<JsonObject>;
}

export function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

/** A string field; a missing optional one (absent or null) reads as ''. */
export function stringField(obj: JsonObject, key: string, where: string, required: boolean): string {
  const v = obj[key];
  if (v === undefined || (v === null && !required)) {
    if (required) throw new DataError(`${where}: field "${key}" is missing`);
    return '';
  }
  if (typeof v !== 'string') throw new DataError(`${where}: field "${key}" must be a string, got ${typeName(v)}`);
  return v;
}

export function arrayField(obj: JsonObject, key: string, where: string): unknown[] {
  const v = obj[key];
  if (v === undefined) throw new DataError(`${where}: field "${key}" is missing`);
  if (!Array.isArray(v)) throw new DataError(`${where}: field "${key}" must be an array, got ${typeName(v)}`);
  return v;
}
