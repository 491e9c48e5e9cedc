// The Hugging Face cache on disk, laid out exactly as huggingface_hub lays it out so
// models downloaded by Python tools are reused and ours are reused by them:
//   models--{org}--{name}/blobs/{etag}               file contents, named by the Hub's ETag
//   models--{org}--{name}/snapshots/{commit}/{file}  links into blobs/ (copies where links fail)
//   models--{org}--{name}/refs/{revision}            the commit a branch or tag pointed at
import fs from 'node:fs';
import path from 'node:path';
import { readJsonFile } from '../checkpoint/model-folder';
import { CONFIG_FILE, isShardIndex, shardFiles, WEIGHT_FILES } from './files';
import { isCommitHash, type ModelRef } from './model-ref';

const PREFIX = 'models--';

export function repoDir(cacheDir: string, id: string): string {
  return path.join(cacheDir, PREFIX + id.split('/').join('--'));
}

export function blobPath(repo: string, etag: string): string {
  return path.join(repo, 'blobs', etag);
}

/** Where a blob grows while it downloads; kept on failure so the next attempt resumes it. */
export function incompletePath(repo: string, etag: string): string {
  return `${blobPath(repo, etag)}.incomplete`;
}

export function snapshotDir(repo: string, commit: string): string {
  return path.join(repo, 'snapshots', commit);
}

/** The commit a revision names in the cache: its ref, or itself when it is a commit with a snapshot. */
export function readRef(repo: string, revision: string): string | null {
  if (isCommitHash(revision)) return fs.existsSync(snapshotDir(repo, revision)) ? revision : null;
  const file = path.join(repo, 'refs', revision);
  if (!fs.existsSync(file)) return null;
  const commit = fs.readFileSync(file, 'utf8').trim();
  return isCommitHash(commit) ? commit : null;
}

export function writeRef(repo: string, revision: string, commit: string): void {
  if (revision === commit) return;
  const file = path.join(repo, 'refs', revision);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, commit);
}

/**
 * Puts a blob into a snapshot (replacing what is there) as a relative symlink (as huggingface_hub does, so the cache
 * can be moved), or a copy where the OS refuses links (Windows without developer mode).
 */
export function linkIntoSnapshot(repo: string, commit: string, file: string, etag: string): void {
  const pointer = path.join(snapshotDir(repo, commit), file);
  fs.mkdirSync(path.dirname(pointer), { recursive: true });
  // Whatever is there is wrong: a dangling link to a deleted blob, or a copy cut short.
  fs.rmSync(pointer, { force: true });
  const blob = blobPath(repo, etag);
  try {
    fs.symlinkSync(path.relative(path.dirname(pointer), blob), pointer);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EPERM' && code !== 'EACCES' && code !== 'ENOTSUP') throw err;
    fs.copyFileSync(blob, pointer);
  }
}

/** Files a loadable model lacks in a snapshot folder: config.json, its weights, an index's shards. */
export function missingModelFiles(dir: string): string[] {
  const has = (f: string) => fs.existsSync(path.join(dir, f));
  const missing = has(CONFIG_FILE) ? [] : [CONFIG_FILE];
  const weights = WEIGHT_FILES.find(has);
  if (!weights) return [...missing, WEIGHT_FILES.join(' or ')];
  if (isShardIndex(weights)) {
    const index = path.join(dir, weights);
    missing.push(...shardFiles(readJsonFile(index), index).filter((f) => !has(f)));
  }
  return missing;
}

/** The snapshot folder of a cached model that can be loaded, or null. */
export function cachedSnapshot(cacheDir: string, ref: ModelRef): string | null {
  const repo = repoDir(cacheDir, ref.id);
  const commit = readRef(repo, ref.revision);
  if (!commit) return null;
  const dir = snapshotDir(repo, commit);
  try {
    return missingModelFiles(dir).length === 0 ? dir : null;
  } catch {
    // An unreadable shard index is a broken download, not a cached model.
    return null;
  }
}

export interface CachedModel {
  id: string;
  /** Revision name → commit, as refs/ records them. */
  refs: Record<string, string>;
  /** Commits with a snapshot folder. */
  commits: string[];
  /** Bytes the model takes on disk: its blobs, and snapshot files that are copies. */
  sizeBytes: number;
  /** The loadable snapshot of `main`, else of any revision; null when none is complete. */
  dir: string | null;
}

function listDir(dir: string): fs.Dirent[] {
  return fs.existsSync(dir) ? fs.readdirSync(dir, { withFileTypes: true }) : [];
}

function filesUnder(dir: string, relative = ''): string[] {
  return listDir(path.join(dir, relative)).flatMap((e) => {
    const rel = path.join(relative, e.name);
    return e.isDirectory() ? filesUnder(dir, rel) : [rel];
  });
}

function diskBytes(repo: string): number {
  let total = 0;
  for (const e of listDir(path.join(repo, 'blobs'))) {
    if (e.isFile() && !e.name.endsWith('.incomplete')) total += fs.statSync(path.join(repo, 'blobs', e.name)).size;
  }
  for (const commit of listDir(path.join(repo, 'snapshots'))) {
    const dir = path.join(repo, 'snapshots', commit.name);
    for (const f of filesUnder(dir)) {
      const stat = fs.lstatSync(path.join(dir, f));
      if (stat.isFile()) total += stat.size;
    }
  }
  return total;
}

/** Every model in the cache (datasets and spaces share the folder and are skipped). */
export function listCachedModels(cacheDir: string): CachedModel[] {
  const models: CachedModel[] = [];
  for (const e of listDir(cacheDir)) {
    if (!e.isDirectory() || !e.name.startsWith(PREFIX)) continue;
    const repo = path.join(cacheDir, e.name);
    const id = e.name.slice(PREFIX.length).split('--').join('/');
    const refs: Record<string, string> = {};
    for (const name of filesUnder(path.join(repo, 'refs'))) {
      const revision = name.split(path.sep).join('/');
      const commit = readRef(repo, revision);
      if (commit) refs[revision] = commit;
    }
    const commits = listDir(path.join(repo, 'snapshots')).filter((s) => s.isDirectory()).map((s) => s.name);
    const revisions = ['main', ...Object.keys(refs), ...commits];
    const dir = revisions.map((revision) => cachedSnapshot(cacheDir, { id, revision })).find((d) => d !== null) ?? null;
    models.push({ id, refs, commits, sizeBytes: diskBytes(repo), dir });
  }
  return models.sort((a, b) => a.id.localeCompare(b.id));
}
