// A Hub model named the way people write it: `gpt2`, `bigscience/bloom-560m`, optionally
// pinned with `@revision` (a branch, tag or commit).

export interface ModelRef {
  id: string;
  revision: string;
}

export const DEFAULT_REVISION = 'main';

/** The Hub's own rule: an optional namespace, then a name of letters, digits, `-`, `_`, `.`. */
const REPO_ID = /^(?:[\w.-]+\/)?[\w.-]{1,96}$/;

export function isCommitHash(revision: string): boolean {
  return /^[0-9a-f]{40}$/.test(revision);
}

/** Throws naming the id when the Hub would refuse it; `--` and `..` are reserved there. */
export function checkModelId(id: string): string {
  if (!REPO_ID.test(id) || id.includes('--') || id.includes('..') || id.startsWith('.') || id.endsWith('.')) {
    throw new Error(`"${id}" is not a Hugging Face model id (expected NAME or ORG/NAME of letters, digits, "-", "_" and ".")`);
  }
  return id;
}

/** `ID@REV` or `ID`; an explicit revision argument wins over one written in the source. */
export function parseModelRef(source: string, revision?: string): ModelRef {
  const at = source.indexOf('@');
  const id = checkModelId(at < 0 ? source : source.slice(0, at));
  const rev = revision ?? (at < 0 ? DEFAULT_REVISION : source.slice(at + 1));
  if (rev.trim() === '') throw new Error(`"${source}": the revision after "@" is empty`);
  return { id, revision: checkRevision(rev) };
}

/**
 * A revision becomes a file under the cache's refs/ (branches like `refs/pr/1` hold a `/`),
 * so one that could climb out of it, or mean another path on Windows, is refused.
 */
function checkRevision(revision: string): string {
  if (revision.startsWith('/') || revision.includes('\\') || revision.split('/').includes('..')) {
    throw new Error(`"${revision}" is not a usable revision (a branch, tag or commit may not start with "/", hold "\\" or a ".." part)`);
  }
  return revision;
}
