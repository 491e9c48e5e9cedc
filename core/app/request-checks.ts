// The meaning checks of requests from the renderer (their shapes were checked by the host):
// paths must be absolute and present, never in the system's folders, and each failure names
// the request field when given.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { apiError, errorInfo } from '../api/errors';
import { inPseudoFilesystem } from '../train/run-folder';

/** Runs `fn`; whatever it throws comes back as an apiError about `field`. */
export function withField<T>(field: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw apiError({ ...errorInfo(err), field });
  }
}

/** `~/data.json` as a shell reads it: people paste paths from terminals and docs. */
export function expandHome(value: string): string {
  return value === '~' || /^~[\\/]/.test(value) ? path.join(os.homedir(), value.slice(1)) : value;
}

function absolute(given: string, field?: string): string {
  const value = expandHome(given);
  if (value.includes('\0')) throw apiError({ message: `${JSON.stringify(value)} is not a usable path (it contains a NUL character)`, field });
  if (!path.isAbsolute(value)) throw apiError({ message: `"${value}" is not an absolute path`, field });
  return path.normalize(value);
}

/** System folders whose files are never a user's data: the kernel's pseudo filesystems (which hold the environment, HF_TOKEN included) and /etc. */
function refuseSystemPath(file: string, field?: string): void {
  const real = fs.existsSync(file) ? fs.realpathSync(file) : file;
  // macOS keeps /etc at /private/etc.
  const inEtc = process.platform !== 'win32' && ['/etc', '/private/etc'].some((root) => real === root || real.startsWith(`${root}/`));
  if (inEtc || inPseudoFilesystem(file) || inPseudoFilesystem(real)) {
    throw apiError({ message: `${file}: is a system location (/etc, /proc, /sys or /dev), not one of your files`, field });
  }
}

/** An existing regular file (links followed) outside the system's folders. */
export function existingFile(value: string, field?: string): string {
  const file = absolute(value, field);
  refuseSystemPath(file, field);
  if (!fs.existsSync(file)) throw apiError({ message: `${file}: no such file`, field });
  const stat = fs.statSync(file);
  if (stat.isDirectory()) throw apiError({ message: `${file}: is a folder, not a file`, field });
  if (!stat.isFile()) throw apiError({ message: `${file}: is not a regular file (a device, pipe or socket)`, field });
  return file;
}

/** Refuses `file` (an existing one) when it lies inside `dir`, links followed, so a renderer cannot read the app's own files. */
export function outsideFolder(file: string, dir: string, why: string, field?: string): string {
  const relative = path.relative(fs.realpathSync(dir), fs.realpathSync(file));
  if (relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative))) throw apiError({ message: `${file}: ${why}`, field });
  return file;
}

export function existingFolder(value: string, field?: string): string {
  const dir = absolute(value, field);
  refuseSystemPath(dir, field);
  if (!fs.existsSync(dir)) throw apiError({ message: `${dir}: no such folder`, field });
  if (!fs.statSync(dir).isDirectory()) throw apiError({ message: `${dir}: is a file, not a folder`, field });
  return dir;
}

/** An absolute folder path whose parent exists; whether the folder itself may be written is its writer's to say. */
export function folderToCreate(value: string, field: string): string {
  const dir = absolute(value, field);
  existingFolder(path.dirname(dir), field);
  return dir;
}
