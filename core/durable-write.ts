// Writes that either complete or leave nothing under the real name. On a full disk Node's
// fs.writeSync returns a short count instead of throwing, so every write loops until all
// bytes are down; files are fsynced before their rename, and folders (a run's final/, an
// export) are built under a temporary name and renamed whole.
import fs from 'node:fs';
import path from 'node:path';

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

function freeBytes(dir: string): number | null {
  try {
    const s = fs.statfsSync(dir);
    return s.bavail * s.bsize;
  } catch {
    return null;
  }
}

/** An error naming `file`, and for a full disk how much was to be written and how much is free. */
export function writeError(file: string, err: unknown, bytesToWrite?: number): Error {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    const free = freeBytes(path.dirname(file));
    const need = bytesToWrite === undefined ? '' : ` (it needs ${mib(bytesToWrite)}${free === null ? '' : `, ${mib(free)} is free there`})`;
    return new Error(`${file}: no space left on device${need}; free some space and resume`, { cause: err });
  }
  const message = (err as Error).message;
  return new Error(message.includes(file) ? message : `${file}: ${message}`, { cause: err });
}

/** Writes every byte of `bytes` at the fd's position; a write that makes no progress is a full disk. */
export function writeAll(fd: number, bytes: Uint8Array, file: string): void {
  let done = 0;
  while (done < bytes.length) {
    const n = fs.writeSync(fd, bytes, done, bytes.length - done);
    if (n <= 0) throw Object.assign(new Error(`${file}: no space left on device`), { code: 'ENOSPC' });
    done += n;
  }
}

/** The hidden temporary name a file or folder is built under before it takes `target`'s name. */
export const partialName = (target: string) => path.join(path.dirname(target), `.${path.basename(target)}.partial`);

/**
 * Writes what `fill` hands to `write` into `file` through a temporary file that is fsynced
 * and then renamed, so `file` is either its old self or complete; the bytes may be made as
 * they are written (a GGUF export encodes tensor by tensor, in bounded memory). Throws naming
 * `file`, with `totalBytes` (when known) in a full disk's message.
 */
export function writeFileStreamed(file: string, fill: (write: (bytes: Uint8Array) => void) => void, totalBytes?: number): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  try {
    const fd = fs.openSync(tmp, 'w');
    try {
      fill((bytes) => writeAll(fd, bytes, file));
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw writeError(file, err, totalBytes);
  }
}

/** writeFileStreamed for bytes already in memory. */
export function writeFileWhole(file: string, chunks: readonly Uint8Array[]): void {
  const total = chunks.reduce((n, c) => n + c.byteLength, 0);
  writeFileStreamed(
    file,
    (write) => {
      for (const c of chunks) write(c);
    },
    total,
  );
}

/** writeFileWhole for text. */
export function writeTextWhole(file: string, text: string): void {
  writeFileWhole(file, [Buffer.from(text, 'utf8')]);
}

/** writeTextWhole for a value as indented JSON, as every JSON file Tunesmith writes reads. */
export function writeJsonWhole(file: string, value: unknown): void {
  writeTextWhole(file, `${JSON.stringify(value, null, 2)}\n`);
}

/**
 * Builds folder `dir` by `fill(tmp)` in a temporary sibling, then renames it to `dir`
 * (replacing an older `dir`, which stays until the new one is complete). On failure the
 * temporary folder is removed and the error names the path under `dir`, not the temporary one.
 */
export function writeFolderWhole<T>(dir: string, fill: (tmp: string) => T): T {
  const tmp = partialName(dir);
  fs.rmSync(tmp, { recursive: true, force: true });
  let filled: T;
  try {
    fs.mkdirSync(tmp);
    filled = fill(tmp);
  } catch (err) {
    fs.rmSync(tmp, { recursive: true, force: true });
    const e = err as Error;
    e.message = e.message.split(tmp).join(dir);
    throw e;
  }
  // An empty folder at `dir` (an export's destination) may be replaced; anything else was checked by the caller.
  if (fs.existsSync(dir)) fs.rmSync(dir, { recursive: true, force: true });
  fs.renameSync(tmp, dir);
  return filled;
}
