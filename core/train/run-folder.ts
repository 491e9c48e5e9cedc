// A run's output folder: checked and created before any step runs, and a record
// (`.tunesmith-files.json`) of what the run writes there, kept as it writes, so deleting the
// run removes exactly that and never a folder or file Tunesmith did not make. `output_dir`
// may be a folder full of the user's own files (`"."` next to the config).
import fs from 'node:fs';
import path from 'node:path';
import { writeJsonWhole } from '../durable-write';

const RECORD = '.tunesmith-files.json';

interface FilesRecord {
  /** How many of output_dir's trailing path components Tunesmith created (0: the folder was there). */
  createdLevels: number;
  /** Names directly inside output_dir that Tunesmith wrote, recorded before each was created. */
  entries: string[];
}

/** output_dir cannot be used; the message names the path and why. */
export class OutputDirError extends Error {
  override name = 'OutputDirError';
}

/** Kernel pseudo filesystems: mkdir there loops or fails oddly, and nothing written there lasts. */
const PSEUDO_ROOTS = ['/proc', '/sys', '/dev'];
// statfs f_type of procfs, sysfs, devpts, debugfs, securityfs, cgroup2, configfs.
const PSEUDO_FS_TYPES = new Set([0x9fa0, 0x62656572, 0x1cd1, 0x64626720, 0x73636673, 0x63677270, 0x62656570]);

const within = (p: string, root: string) => p === root || p.startsWith(root + path.sep);

/** Whether `file` (after following links) lies in /proc, /sys or /dev, or on a kernel pseudo filesystem. */
export function inPseudoFilesystem(file: string): boolean {
  let existing = path.resolve(file);
  while (!fs.existsSync(existing) && path.dirname(existing) !== existing) existing = path.dirname(existing);
  let real = existing;
  try {
    real = fs.realpathSync(existing);
  } catch {
    // An unreadable link is judged by its own path.
  }
  if (process.platform !== 'win32' && PSEUDO_ROOTS.some((root) => within(real, root) || within(path.resolve(file), root))) return true;
  try {
    return PSEUDO_FS_TYPES.has(fs.statfsSync(real).type);
  } catch {
    return false;
  }
}

function reason(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  const words: Record<string, string> = {
    EROFS: 'read-only file system',
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    ENOSPC: 'no space left on device',
    ENOTDIR: 'a part of the path is a file, not a folder',
    ENAMETOOLONG: 'the name is too long',
  };
  return e.code ? `${words[e.code] ?? e.message} (${e.code})` : e.message;
}

function readRecord(dir: string): FilesRecord | null {
  try {
    const r = JSON.parse(fs.readFileSync(path.join(dir, RECORD), 'utf8')) as FilesRecord;
    if (Number.isInteger(r.createdLevels) && Array.isArray(r.entries) && r.entries.every((e) => typeof e === 'string')) return r;
  } catch {
    // Absent or damaged: nothing is known to be the run's.
  }
  return null;
}

function writeRecord(dir: string, record: FilesRecord): void {
  writeJsonWhole(path.join(dir, RECORD), record);
}

/**
 * Checks that `dir` can hold a run (not a file, not in a pseudo filesystem, creatable and
 * writable), creating it and any missing parents one level at a time (a recursive mkdir
 * loops forever under /proc), and starts its record of files. Throws OutputDirError.
 */
export function prepareRunFolder(dir: string): void {
  const fail = (why: string): never => {
    throw new OutputDirError(`${dir}: ${why}`);
  };
  if (inPseudoFilesystem(dir)) fail('output_dir is in a kernel pseudo filesystem (/proc, /sys or /dev); choose a folder on a disk');
  const missing: string[] = [];
  let existing = path.resolve(dir);
  while (!fs.existsSync(existing)) {
    missing.unshift(existing);
    const parent = path.dirname(existing);
    if (parent === existing) break;
    existing = parent;
  }
  if (!fs.statSync(existing).isDirectory()) fail(existing === path.resolve(dir) ? 'output_dir exists and is not a folder' : `cannot create output_dir: ${existing} is a file`);
  for (const level of missing) {
    try {
      fs.mkdirSync(level);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') fail(`cannot create output_dir: ${reason(err)}`);
    }
  }
  const probe = path.join(dir, `.tunesmith-probe-${process.pid}`);
  try {
    fs.closeSync(fs.openSync(probe, 'wx'));
    fs.rmSync(probe);
  } catch (err) {
    fail(`cannot write in output_dir: ${reason(err)}`);
  }
  const record = readRecord(dir) ?? { createdLevels: missing.length, entries: [] };
  try {
    writeRecord(dir, record);
  } catch (err) {
    fail(`cannot write in output_dir: ${(err as Error).message}`);
  }
}

/** Records `name` (directly inside `dir`) as the run's, before it is written. */
export function recordRunEntry(dir: string, name: string): void {
  const record = readRecord(dir) ?? { createdLevels: 0, entries: [] };
  if (record.entries.includes(name)) return;
  record.entries.push(name);
  writeRecord(dir, record);
}

export interface RunFiles {
  /** What exists and would be removed: recorded entries, the record, then the folders Tunesmith created (if left empty). */
  paths: string[];
  /** Folders that would be removed once empty, deepest first. */
  folders: string[];
}

/** What deleting the run in `dir` removes. A folder without a record (written before records were kept) gives nothing. */
export function runFiles(dir: string): RunFiles {
  const record = readRecord(dir);
  if (!record) return { paths: [], folders: [] };
  const paths = [...record.entries, RECORD].map((e) => path.join(dir, e)).filter((p) => fs.existsSync(p));
  const folders: string[] = [];
  for (let level = 0, d = path.resolve(dir); level < record.createdLevels; level++, d = path.dirname(d)) folders.push(d);
  return { paths, folders };
}

/** Removes what runFiles lists; a created folder that still holds anything else stays. Returns what was removed. */
export function removeRunFiles(dir: string): string[] {
  const { paths, folders } = runFiles(dir);
  const recordFile = path.join(dir, RECORD);
  // The record goes last, so an interrupted delete can be run again.
  for (const p of paths.filter((p) => p !== recordFile)) fs.rmSync(p, { recursive: true, force: true });
  fs.rmSync(recordFile, { force: true });
  const removed = [...paths];
  for (const folder of folders) {
    try {
      fs.rmdirSync(folder);
      removed.push(folder);
    } catch {
      break;
    }
  }
  return removed;
}
