// Parsing of command-line values into the numbers and lists the commands need,
// with errors that name the flag.

export class UsageError extends Error {}

export function parseIds(flag: string, text: string): number[] {
  const ids = text.split(',').map((s) => s.trim()).filter((s) => s.length > 0).map(Number);
  if (ids.length === 0 || ids.some((n) => !Number.isInteger(n) || n < 0)) {
    throw new UsageError(`${flag} must be comma-separated token ids such as 1,2,3; got "${text}"`);
  }
  return ids;
}

export function parseNumber(flag: string, text: string | undefined, fallback: number, integer = false): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || (integer && !Number.isInteger(n))) {
    throw new UsageError(`${flag} must be ${integer ? 'a whole number' : 'a number'}; got "${text}"`);
  }
  return n;
}
