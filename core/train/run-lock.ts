// One process at a time in a run folder. Node has no flock, and a native one would need
// the engine's addon, so the lock is a file created with O_EXCL holding its owner's pid,
// process start identity (process-identity.ts) and run id. A lock whose owner is gone (even
// if its pid now belongs to another process, or lingers as a zombie) is stale and taken
// over; the OS does not release it, but no dead process can keep it.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { OWN_IDENTITY, processIdentity, stillRunning } from '../process-identity';
import { OutputDirError, recordRunEntry } from './run-folder';

export const LOCK_FILE = '.tunesmith.lock';

export interface LockOwner {
  pid: number;
  identity: string | null;
  host: string;
  runId: string | null;
  /** ISO time the lock was taken. */
  since: string;
  doing: 'training' | 'export';
}

export interface RunLock {
  release(): void;
}

/** Locks held by this process, counted, so the CLI can take the lock early and the trainer again. */
const held = new Map<string, { count: number; owner: LockOwner }>();

function readOwner(file: string): LockOwner | null {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as LockOwner;
  } catch {
    return null;
  }
}

/** Whether the lock's owner still runs. Another machine's lock (a shared drive) cannot be checked, so it holds. */
function ownerAlive(owner: LockOwner | null): boolean {
  if (!owner || !Number.isInteger(owner.pid)) return false;
  if (owner.host !== os.hostname()) return true;
  return stillRunning(owner.pid, owner.identity);
}

/** Who holds `dir`'s lock now, if anyone alive does. */
export function lockHolder(dir: string): LockOwner | null {
  const owner = readOwner(path.join(dir, LOCK_FILE));
  return ownerAlive(owner) ? owner : null;
}

export class RunFolderBusy extends OutputDirError {
  constructor(
    dir: string,
    readonly owner: LockOwner,
  ) {
    const run = owner.runId ? `run ${owner.runId}` : 'another Tunesmith process';
    super(`${dir}: in use by ${run} (${owner.doing}, pid ${owner.pid}, started ${owner.since}); wait for it to finish or stop it first`);
  }
}

/**
 * Takes `dir`'s lock (the folder must exist) for a training or an export, or throws
 * RunFolderBusy naming the holder. Released by release(), or on exit.
 */
export function lockRunFolder(dir: string, doing: LockOwner['doing'], runId: string | null = null): RunLock {
  const key = path.resolve(dir);
  const mine = held.get(key);
  if (mine) {
    mine.count++;
    return { release: once(() => releaseHeld(key)) };
  }
  const file = path.join(key, LOCK_FILE);
  const owner: LockOwner = { pid: process.pid, identity: processIdentity(process.pid) ?? OWN_IDENTITY, host: os.hostname(), runId, since: new Date().toISOString(), doing };
  recordRunEntry(key, LOCK_FILE);
  for (let attempt = 0; ; attempt++) {
    try {
      fs.writeFileSync(file, `${JSON.stringify(owner)}\n`, { flag: 'wx' });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new OutputDirError(`${file}: cannot create the run folder's lock (${(err as Error).message})`);
    }
    const current = readOwner(file);
    // A lock file being written right now reads as empty: give its writer a moment.
    if (current === null && attempt < 3) {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
      continue;
    }
    if (current && ownerAlive(current)) throw new RunFolderBusy(key, current);
    if (attempt > 5) throw new OutputDirError(`${file}: cannot take over the stale lock; remove it if no Tunesmith process uses ${key}`);
    takeOverStale(file, current);
  }
  held.set(key, { count: 1, owner });
  return { release: once(() => releaseHeld(key)) };
}

/**
 * Moves a stale lock aside under a name of our own, and checks that what was moved is the
 * stale one: between reading it and moving it, another process may have done the same and
 * written a live lock, which is then put back.
 */
function takeOverStale(file: string, stale: LockOwner | null): void {
  const aside = `${file}.stale-${process.pid}`;
  try {
    fs.renameSync(file, aside);
  } catch {
    return;
  }
  const moved = readOwner(aside);
  if (moved && ownerAlive(moved) && JSON.stringify(moved) !== JSON.stringify(stale)) {
    try {
      fs.linkSync(aside, file);
    } catch {
      // A third process already holds a newer lock; the moved one's owner will find its own gone.
    }
  }
  fs.rmSync(aside, { force: true });
}

function once(fn: () => void): () => void {
  let done = false;
  return () => {
    if (!done) fn();
    done = true;
  };
}

function releaseHeld(key: string): void {
  const mine = held.get(key);
  if (!mine || --mine.count > 0) return;
  held.delete(key);
  const file = path.join(key, LOCK_FILE);
  // Only our own lock is removed, never one a later process took over.
  if (readOwner(file)?.pid === process.pid) fs.rmSync(file, { force: true });
}

process.on('exit', () => {
  for (const key of held.keys()) {
    const file = path.join(key, LOCK_FILE);
    if (readOwner(file)?.pid === process.pid) fs.rmSync(file, { force: true });
  }
});
