// "Run again with changes": which setting a failed run's error is about, so the wizard can
// open on it. Config and trainer errors quote the key they are about (`"data.max_length"`,
// `lora.target_modules [...]`); an error naming none (a crash, memory) points nowhere.
import { FIELDS, type ConfigField } from './fields';

/** Longest first, so `data.max_length` wins over a bare `max_length` inside it. */
const KEYS = (Object.keys(FIELDS) as ConfigField[]).sort((a, b) => b.length - a.length);

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Whole-word `name` in `text`, not part of a longer key. */
function mentions(text: string, name: string): boolean {
  return new RegExp(`(?<![\\w.])${escape(name)}(?![\\w])`).test(text);
}

/**
 * The setting a run's error names: quoted (`"model"`), or as a dotted or snake_case key
 * or its last part (`max_length`); plain words like "model" in a sentence do not count.
 * null when none is named.
 */
export function failingField(error: string | null): ConfigField | null {
  if (!error) return null;
  return (
    KEYS.find((key) => error.includes(`"${key}"`)) ??
    KEYS.find((key) => /[._]/.test(key) && mentions(error, key)) ??
    KEYS.find((key) => key.includes('.') && /_/.test(key.split('.').pop() as string) && mentions(error, key.split('.').pop() as string)) ??
    null
  );
}
