// "Run again with changes": which setting a failed run's error is about, so the wizard can
// open on it. Config and trainer errors quote the key they are about (`"data.max_length"`,
// `lora.target_modules [...]`); an error naming none (a crash, memory) points nowhere.
import { FIELDS, type ConfigField } from './fields';

/** Longest first, so `data.max_length` wins over a bare `max_length` inside it. */
const KEYS = (Object.keys(FIELDS) as ConfigField[]).sort((a, b) => b.length - a.length);

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The setting a run's error names, by its dotted key or its last part (`max_length`); null when none. */
export function failingField(error: string | null): ConfigField | null {
  if (!error) return null;
  for (const key of KEYS) {
    if (new RegExp(`(?<![\\w.])${escape(key)}(?![\\w])`).test(error)) return key;
  }
  for (const key of KEYS) {
    const leaf = key.split('.').pop() as string;
    if (leaf.includes('_') && new RegExp(`(?<![\\w.])${escape(leaf)}(?![\\w])`).test(error)) return key;
  }
  return null;
}
