// Reading and setting a form's settings by dotted key (`data.max_length`), the way presets
// and the estimator's suggestions name them.

/** Dotted keys to values. */
export type FormPatch = Record<string, string | number | boolean | null>;

export function getPath(obj: object, key: string): unknown {
  return key.split('.').reduce<unknown>((at, part) => (at as Record<string, unknown> | undefined)?.[part], obj);
}

function setPath<T extends object>(obj: T, [head, ...rest]: string[], value: unknown, key: string): T {
  if (!Object.hasOwn(obj, head)) throw new Error(`Unknown setting "${key}"`);
  const current = (obj as Record<string, unknown>)[head];
  return { ...obj, [head]: rest.length ? setPath(current as object, rest, value, key) : value };
}

/** A copy with each dotted key set; a key the form lacks is an error, never a silent new field. */
export function withPatch<T extends object>(obj: T, patch: Readonly<Record<string, unknown>>): T {
  return Object.entries(patch).reduce((out, [key, value]) => setPath(out, key.split('.'), value, key), obj);
}
