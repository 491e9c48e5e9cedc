// Finding and opening the store file. A file we cannot safely use (not SQLite, or written
// by a newer Tunesmith) is inspected read-only and refused, so it is never modified.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { LATEST_VERSION, migrate } from './migrations';

const SQLITE_MAGIC = Buffer.from('SQLite format 3\0', 'latin1');
// From the SQLite file format: a 100-byte header, user_version big-endian at byte 60.
const HEADER_BYTES = 100;
const USER_VERSION_OFFSET = 60;

/** `$TUNESMITH_HOME/tunesmith.db`, or `~/.tunesmith/tunesmith.db`. */
export function defaultStorePath(): string {
  const home = process.env.TUNESMITH_HOME || path.join(os.homedir(), '.tunesmith');
  return path.join(home, 'tunesmith.db');
}

function readHeader(file: string): Buffer {
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.alloc(HEADER_BYTES);
    const n = fs.readSync(fd, buf, 0, buf.length, 0);
    return buf.subarray(0, n);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * The file's PRAGMA user_version. The header holds it, except that uncheckpointed WAL
 * frames may hold a newer header; only then is a read-only connection needed (one on a
 * WAL database without a -wal file would create the -wal and -shm files).
 */
function userVersion(file: string, header: Buffer): number {
  const wal = `${file}-wal`;
  if (!(fs.existsSync(wal) && fs.statSync(wal).size > 0)) return header.readUInt32BE(USER_VERSION_OFFSET);
  let db: Database.Database | undefined;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
    return db.pragma('user_version', { simple: true }) as number;
  } catch (err) {
    throw new Error(`${file}: cannot read the store: ${(err as Error).message}`, { cause: err });
  } finally {
    db?.close();
  }
}

/** Throws, naming the file, unless it is empty or an SQLite database at a schema version we know. */
function inspect(file: string): void {
  const header = readHeader(file);
  if (header.length === 0) return;
  if (header.length < HEADER_BYTES || !header.subarray(0, SQLITE_MAGIC.length).equals(SQLITE_MAGIC)) {
    throw new Error(`${file}: not a Tunesmith store (not an SQLite database); move it aside or set TUNESMITH_HOME`);
  }
  const version = userVersion(file, header);
  if (version > LATEST_VERSION) {
    throw new Error(`${file}: store schema version ${version} is newer than this Tunesmith supports (${LATEST_VERSION}); update Tunesmith to open it`);
  }
}

/** The store file is damaged: nothing is written into it, and the message says what to do. */
export class StoreDamaged extends Error {
  constructor(
    readonly file: string,
    why: string,
  ) {
    super(`${file}: the run store is damaged (${why}); move it aside or restore a backup (runs keeps working with --store on another file)`);
  }
}

const CORRUPT_CODES = new Set(['SQLITE_CORRUPT', 'SQLITE_NOTADB']);

/** Whether `err` is SQLite saying the file is damaged. */
export function isCorruption(err: unknown): boolean {
  const code = (err as { code?: string }).code ?? '';
  return [...CORRUPT_CODES].some((c) => code.startsWith(c));
}

/**
 * Throws StoreDamaged unless `db` passes SQLite's quick_check, so a damaged store is found
 * before anything writes into it (a write into a damaged b-tree can spread the damage).
 */
function checkIntact(db: Database.Database, file: string): void {
  let result: unknown;
  try {
    result = db.pragma('quick_check(1)', { simple: true });
  } catch (err) {
    if (isCorruption(err)) throw new StoreDamaged(file, (err as Error).message);
    throw err;
  }
  if (result !== 'ok') throw new StoreDamaged(file, String(result).replace(/\s+/g, ' ').trim());
}

/**
 * Renames a damaged store (and its -wal and -shm files) to `<name>.damaged-<time>`, so a new
 * store can start in its place and the old one can still be sent for recovery. Returns the
 * new name of the database file.
 */
export function moveStoreAside(file: string, now = new Date()): string {
  const aside = `${file}.damaged-${now.toISOString().replace(/[:.]/g, '-')}`;
  for (const suffix of ['-wal', '-shm']) if (fs.existsSync(file + suffix)) fs.renameSync(file + suffix, aside + suffix);
  fs.renameSync(file, aside);
  return aside;
}

/** A damaged store opened read-only, to list what can still be read. */
export function openDamagedForReading(file: string): Database.Database {
  return new Database(file, { readonly: true, fileMustExist: true });
}

/** Opens (creating if needed) and migrates the store at `file`. */
export function openDatabase(file: string = defaultStorePath()): Database.Database {
  const existed = fs.existsSync(file) && fs.statSync(file).size > 0;
  if (fs.existsSync(file)) inspect(file);
  else fs.mkdirSync(path.dirname(file), { recursive: true });
  const db = new Database(file);
  try {
    if (existed) checkIntact(db, file);
    db.pragma('journal_mode = WAL');
    // NORMAL in WAL mode loses nothing on a process crash, only possibly the last commits on power loss.
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    migrate(db);
  } catch (err) {
    db.close();
    // Every failure names the file (a full disk shows up as SQLite's bare "database or disk is full").
    if (err instanceof Error && !err.message.includes(file)) throw new Error(`${file}: cannot open the store: ${err.message}`, { cause: err });
    throw err;
  }
  return db;
}
