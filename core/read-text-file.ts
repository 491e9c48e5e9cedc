// Text files are UTF-8. A file in another encoding (latin-1, UTF-16) must be refused, not
// decoded into U+FFFD replacement characters and trained on.
import fs from 'node:fs';

type MakeError = (message: string) => Error;
const plainError: MakeError = (m) => new Error(m);

/** Byte offset of the first byte that does not start a well-formed UTF-8 sequence in `bytes` (an incomplete one at the end counts), or -1. */
export function firstInvalidUtf8(bytes: Uint8Array, final = true): number {
  for (let i = 0; i < bytes.length; ) {
    const b = bytes[i];
    if (b < 0x80) {
      i++;
      continue;
    }
    // Lead byte → length, and the allowed range of the first continuation byte (no overlongs, no surrogates, nothing past U+10FFFF).
    const [len, lo, hi] =
      b >= 0xc2 && b <= 0xdf ? [2, 0x80, 0xbf]
      : b === 0xe0 ? [3, 0xa0, 0xbf]
      : b === 0xed ? [3, 0x80, 0x9f]
      : b >= 0xe1 && b <= 0xef ? [3, 0x80, 0xbf]
      : b === 0xf0 ? [4, 0x90, 0xbf]
      : b === 0xf4 ? [4, 0x80, 0x8f]
      : b >= 0xf1 && b <= 0xf3 ? [4, 0x80, 0xbf]
      : [0, 0, 0];
    if (len === 0) return i;
    if (i + len > bytes.length) return final ? i : -1;
    if (bytes[i + 1] < lo || bytes[i + 1] > hi) return i;
    for (let k = 2; k < len; k++) if ((bytes[i + k] & 0xc0) !== 0x80) return i;
    i += len;
  }
  return -1;
}

/** The error for undecodable bytes: file, line and byte offset of the first bad sequence, and what to do. */
export function utf8Error(file: string, bytes: Uint8Array, offset: number, makeError: MakeError = plainError): Error {
  let line = 1;
  for (let i = 0; i < offset; i++) if (bytes[i] === 0x0a) line++;
  const hex = bytes[offset].toString(16).toUpperCase().padStart(2, '0');
  return makeError(`${file}:${line}: not valid UTF-8 (byte 0x${hex} at offset ${offset}); re-save the file as UTF-8`);
}

/**
 * Decodes `bytes` read from `file` as strict UTF-8 (a leading byte-order mark is dropped).
 * With `partial`, an incomplete character at the end (a cut read) is left out instead.
 */
export function decodeUtf8(file: string, bytes: Uint8Array, makeError: MakeError = plainError, partial = false): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes, { stream: partial });
  } catch {
    throw utf8Error(file, bytes, Math.max(0, firstInvalidUtf8(bytes, !partial)), makeError);
  }
}

/** Reads a UTF-8 file with an error naming it; `makeError` lets callers raise their own error class. */
export function readTextFile(file: string, makeError: MakeError = plainError): string {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw makeError(code === 'ENOENT' ? `${file}: file not found` : `${file}: cannot read (${(err as Error).message})`);
  }
  return decodeUtf8(file, bytes, makeError);
}
