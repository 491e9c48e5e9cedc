// The model folders and data files used lately, offered again in the wizard's path fields,
// and paths as people paste them (quoted by a file manager's "copy as path", with spaces
// around) made plain. Kept in the page's localStorage: a convenience, never needed.

export type PathKind = 'model' | 'data';

const STORAGE_KEY = 'tunesmith.recentPaths';
const KEEP = 8;

type Recent = Record<PathKind, string[]>;

function read(): Recent {
  try {
    const stored = JSON.parse(localStorage.getItem(STORAGE_KEY) ?? '{}') as Partial<Recent>;
    return { model: Array.isArray(stored.model) ? stored.model : [], data: Array.isArray(stored.data) ? stored.data : [] };
  } catch {
    return { model: [], data: [] };
  }
}

export function recentPaths(kind: PathKind): string[] {
  return read()[kind];
}

/** Puts `path` first in its list, once. */
export function rememberPath(kind: PathKind, path: string): void {
  const recent = read();
  recent[kind] = [path, ...recent[kind].filter((p) => p !== path)].slice(0, KEEP);
  try {
    localStorage.setItem(STORAGE_KEY, JSON.stringify(recent));
  } catch {
    // Storage full or disabled: the list is a convenience.
  }
}

/** `  "/home/me/my data.json" ` → `/home/me/my data.json`; `~/` is left for the host, which knows the home folder. */
export function cleanPastedPath(text: string): string {
  const trimmed = text.trim();
  const quoted = /^(["'])(.*)\1$/s.exec(trimmed);
  return quoted ? quoted[2].trim() : trimmed;
}
