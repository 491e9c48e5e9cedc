// The start of a data file, cut after its last whole row, so a preview of a huge file reads
// and tokenizes a bounded amount and still parses like a smaller file of the same format.
import fs from 'node:fs';
import { decodeUtf8, readTextFile } from '../read-text-file';
import { DataError } from './errors';

export interface DataPrefix {
  text: string;
  /** null when the whole file was read. */
  partial: { bytesRead: number; totalBytes: number } | null;
}

export function readDataPrefix(file: string, maxBytes: number): DataPrefix {
  const totalBytes = fs.statSync(file).size;
  if (totalBytes <= maxBytes) return { text: readTextFile(file, (message) => new DataError(message)), partial: null };
  const buffer = Buffer.alloc(maxBytes);
  const fd = fs.openSync(file, 'r');
  try {
    fs.readSync(fd, buffer, 0, maxBytes, 0);
  } finally {
    fs.closeSync(fd);
  }
  // A character cut at the end is left out; any other bad byte is the file's, and refused.
  const text = decodeUtf8(file, buffer, (message) => new DataError(message), true);
  const kept = text.trimStart().startsWith('[') ? wholeArrayItems(text) : text.slice(0, text.lastIndexOf('\n') + 1);
  if (kept.trim() === '') throw new DataError(`${file}: its first row is longer than the ${maxBytes} bytes a preview reads`);
  return { text: kept, partial: { bytesRead: maxBytes, totalBytes } };
}

/** The items of a JSON array that end within `text`, closed into an array again; '' when none does. */
export function wholeArrayItems(text: string): string {
  let depth = 0;
  let inString = false;
  let escaped = false;
  let end = -1;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (escaped) escaped = false;
      else if (c === '\\') escaped = true;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') {
      depth--;
      if (depth === 1) end = i + 1;
    }
  }
  return end < 0 ? '' : `${text.slice(0, end)}]`;
}
