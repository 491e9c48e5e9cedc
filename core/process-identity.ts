// Whether the process that recorded itself somewhere (a run row, a lock file) is still that
// process. A pid alone cannot say: a killed process can linger as a zombie, and its pid can
// be handed to an unrelated process later. So every record also keeps the process's start
// identity, which a reused pid cannot have.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';

let bootId: string | undefined;

/** Linux: /proc/<pid>/stat's start time (clock ticks since boot) with the boot id; a zombie counts as gone. */
function linuxIdentity(pid: number): string | null {
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return null;
  }
  // The command name (field 2) may hold spaces and parentheses; the fields after its last ')' do not.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  if (fields[0] === 'Z' || fields[0] === 'X') return null;
  bootId ??= fs.readFileSync('/proc/sys/kernel/random/boot_id', 'latin1').trim();
  return `${bootId}:${fields[19]}`;
}

/** macOS and the BSDs: ps's start time (to the second) of that pid, empty once it is gone or a zombie. */
function psIdentity(pid: number): string | null {
  const r = spawnSync('ps', ['-o', 'stat=,lstart=', '-p', String(pid)], { encoding: 'utf8' });
  const out = r.status === 0 ? r.stdout.trim() : '';
  if (!out || out.startsWith('Z')) return null;
  return out.replace(/^\S+\s+/, '');
}

function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Where no start time can be read (Windows), a live pid is all there is to go on. */
export const PID_ONLY = 'pid-only';

/**
 * A string naming the process `pid` is now, which differs from any earlier or later process
 * with the same pid; null when no live process has it (a zombie counts as dead).
 */
export function processIdentity(pid: number): string | null {
  if (!Number.isInteger(pid) || pid <= 0) return null;
  if (process.platform === 'linux') return linuxIdentity(pid);
  if (process.platform === 'win32') return pidExists(pid) ? PID_ONLY : null;
  return psIdentity(pid);
}

/** This process's identity, read once. */
export const OWN_IDENTITY = processIdentity(process.pid) ?? PID_ONLY;

/** Whether `pid` is still the process that recorded `identity` (null: recorded without one, so only the pid is checked). */
export function stillRunning(pid: number, identity: string | null): boolean {
  const now = processIdentity(pid);
  if (now === null) return false;
  return identity === null || now === PID_ONLY || identity === PID_ONLY || now === identity;
}
