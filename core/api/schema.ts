// Tiny combinators that check an untrusted value and hand it back typed. Requests reach
// the hosts from a page (IPC) or a socket (HTTP), so nothing about their shape is assumed.
// A failure throws an apiError naming the dotted field, which hosts report like any other
// error; the UI can point at the field.
import { apiError } from './errors';

export type Schema<T> = ((value: unknown, field: string) => T) & { readonly optional?: boolean };
export type OptionalSchema<T> = Schema<T | undefined> & { readonly optional: true };
export type Infer<S> = S extends Schema<infer T> ? T : never;

/**
 * One schema per field of T, none missing: used with `satisfies`, a field added to the
 * contract fails to compile until its validator is written.
 */
export type ShapeOf<T> = { [K in keyof T]-?: Schema<T[K]> };

type Shape = Record<string, Schema<unknown>>;
type OptionalKeys<S extends Shape> = { [K in keyof S]: S[K] extends { readonly optional: true } ? K : never }[keyof S];
type InferShape<S extends Shape> = { [K in Exclude<keyof S, OptionalKeys<S>>]: Infer<S[K]> } & { [K in OptionalKeys<S>]?: Infer<S[K]> };

function reject(field: string, problem: string): never {
  throw apiError({ message: `${field || 'the request'} ${problem}`, field: field || undefined });
}

function child(field: string, key: string): string {
  return field ? `${field}.${key}` : key;
}

/** Every string refuses NUL: as a path it would cut the name short at the OS boundary. */
export function string(maxLength: number): Schema<string> {
  return (value, field) => {
    if (typeof value !== 'string') reject(field, 'must be a string');
    if (value.length > maxLength) reject(field, `must be at most ${maxLength} characters (got ${value.length})`);
    if (value.includes('\0')) reject(field, 'must not contain a NUL character');
    return value;
  };
}

export const number: Schema<number> = (value, field) => (typeof value === 'number' && Number.isFinite(value) ? value : reject(field, 'must be a number'));

export const integer: Schema<number> = (value, field) => (Number.isSafeInteger(value) ? (value as number) : reject(field, 'must be a whole number'));

/** A whole number of things: 0 or more. */
export const count: Schema<number> = (value, field) => (integer(value, field) >= 0 ? (value as number) : reject(field, 'must be 0 or more'));

export const boolean: Schema<boolean> = (value, field) => (typeof value === 'boolean' ? value : reject(field, 'must be true or false'));

export function oneOf<const T extends readonly string[]>(options: T): Schema<T[number]> {
  return (value, field) => (options.includes(value as string) ? (value as T[number]) : reject(field, `must be one of ${options.join(', ')}`));
}

export function nullable<T>(schema: Schema<T>): Schema<T | null> {
  return (value, field) => (value === null ? null : schema(value, field));
}

/** May be left out (or undefined); an object schema then does not require the key. */
export function optional<T>(schema: Schema<T>): OptionalSchema<T> {
  return Object.assign((value: unknown, field: string) => (value === undefined ? undefined : schema(value, field)), { optional: true as const });
}

export function array<T>(item: Schema<T>, maxItems: number): Schema<T[]> {
  return (value, field) => {
    if (!Array.isArray(value)) reject(field, 'must be a list');
    if (value.length > maxItems) reject(field, `must have at most ${maxItems} items (got ${value.length})`);
    return value.map((v, i) => item(v, `${field}[${i}]`));
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Exactly the keys of the shape: unknown keys are refused, not dropped, so typos surface. */
export function object<S extends Shape>(shape: S): Schema<InferShape<S>> {
  return (value, field) => {
    if (!isRecord(value)) reject(field, 'must be an object');
    for (const key of Object.keys(value)) {
      if (!Object.hasOwn(shape, key)) reject(child(field, key), 'is not a known field');
    }
    const out: Record<string, unknown> = {};
    for (const [key, schema] of Object.entries(shape)) {
      const v = value[key];
      if (v === undefined && !schema.optional) reject(child(field, key), 'is required');
      if (v !== undefined) out[key] = schema(v, child(field, key));
    }
    return out as InferShape<S>;
  };
}

/** A tagged union: the value of `key` picks the case, whose schema then checks the rest. */
export function variant<const K extends string, C extends Record<string, Schema<Record<K, string>>>>(key: K, cases: C): Schema<Infer<C[keyof C]>> {
  const tags = Object.keys(cases);
  return (value, field) => {
    if (!isRecord(value)) reject(field, 'must be an object');
    const tag = value[key];
    if (typeof tag !== 'string' || !Object.hasOwn(cases, tag)) reject(child(field, key), `must be one of ${tags.join(', ')}`);
    return cases[tag](value, field) as Infer<C[keyof C]>;
  };
}

/** For members that take no request; `null` is accepted because JSON has no undefined. */
export const none: Schema<undefined> = (value, field) => (value === undefined || value === null ? undefined : reject(field, 'must be empty: this call takes no request'));
