// The Hub names every file by a hash of its contents: LFS files by their sha256, the
// others by their git blob id (sha1 over "blob <size>\0" and the bytes). Recomputing it
// while the bytes arrive proves the file is the one the Hub listed.
import crypto from 'node:crypto';
import type { RepoFile } from './hub-client';

export interface ContentHasher {
  update(chunk: Uint8Array): void;
  /** Hex digest, to compare with the file's etag. */
  digest(): string;
}

export function contentHasher(file: Pick<RepoFile, 'lfs' | 'size'>): ContentHasher {
  const hash = crypto.createHash(file.lfs ? 'sha256' : 'sha1');
  if (!file.lfs) hash.update(`blob ${file.size}\0`);
  return {
    update: (chunk) => void hash.update(chunk),
    digest: () => hash.digest('hex'),
  };
}

export function hashName(file: Pick<RepoFile, 'lfs'>): string {
  return file.lfs ? 'sha256' : 'git blob sha1';
}
