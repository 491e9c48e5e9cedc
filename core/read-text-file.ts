import fs from 'node:fs';

/** Reads a UTF-8 file with an error naming it; `makeError` lets callers raise their own error class. */
export function readTextFile(file: string, makeError: (message: string) => Error = (m) => new Error(m)): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw makeError(code === 'ENOENT' ? `${file}: file not found` : `${file}: cannot read (${(err as Error).message})`);
  }
}
