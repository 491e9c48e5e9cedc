// `tunesmith pull MODEL_ID [--revision R]`: downloads a model into the Hugging Face cache
// with a progress bar. Ctrl-C leaves the partial file, and the next pull resumes it.
import { hubConfigFromEnv } from '../hub/config';
import { formatBytes } from '../units';
import { throttle, type PullProgress } from '../hub/progress';
import { pullModel } from '../hub/pull';
import { UsageError } from './args';
import type { Flags, Print } from './commands';

export const PULL_USAGE = 'usage: tunesmith pull MODEL_ID [--revision R]   (MODEL_ID as on the Hub: gpt2, bigscience/bloom-560m)';

/** Rough on purpose: download speeds swing too much for seconds to mean anything past a minute. */
function formatEta(seconds: number | null): string {
  if (seconds === null) return '?';
  return seconds < 60 ? `${Math.ceil(seconds)} s` : seconds < 3600 ? `${Math.round(seconds / 60)} min` : `${(seconds / 3600).toFixed(1)} h`;
}

export function progressLine(p: PullProgress): string {
  const width = 20;
  const share = p.totalBytes > 0 ? p.bytes / p.totalBytes : 0;
  const filled = Math.round(share * width);
  const file = p.file ? `${p.file} ${formatBytes(p.fileBytes)}/${formatBytes(p.fileTotalBytes)}  ` : '';
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(share * 100).toFixed(0)}% ${formatBytes(p.bytes)}/${formatBytes(p.totalBytes)}  ${file}${formatBytes(p.bytesPerSecond)}/s ETA ${formatEta(p.etaSeconds)}`;
}

/** A redrawn bar on terminals; elsewhere (logs, pipes) one line per file started. */
function progressPrinter(write: (s: string) => void, print: Print, terminal: boolean): (p: PullProgress) => void {
  if (!terminal) {
    let file: string | null = null;
    return (p) => {
      if (p.file && p.file !== file) print(`fetching ${p.file} (${formatBytes(p.fileTotalBytes)})`);
      file = p.file;
    };
  }
  return throttle((p: PullProgress) => write(`\r\x1b[2K${progressLine(p)}`), 100);
}

export async function pullCommand(words: string[], flags: Flags, print: Print, write: (s: string) => void, terminal: boolean): Promise<void> {
  if (words.length !== 1) throw new UsageError(PULL_USAGE);
  const revision = typeof flags.revision === 'string' ? flags.revision : undefined;
  const pulled = await pullModel(words[0], { config: hubConfigFromEnv(), revision, onProgress: progressPrinter(write, print, terminal) });
  if (terminal) write('\r\x1b[2K');
  const how =
    pulled.source === 'cache' ? 'found in the cache (the Hub was not asked)' : pulled.downloadedBytes === 0 ? 'up to date in the cache' : `downloaded ${formatBytes(pulled.downloadedBytes)}`;
  const skipped = pulled.skipped.length ? ` (the Hub would not serve ${pulled.skipped.join(', ')})` : '';
  print(`${pulled.id}@${pulled.revision} (commit ${pulled.commit.slice(0, 8)}): ${how}${skipped}\n${pulled.dir}`);
}
