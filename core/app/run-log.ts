// A run's log, kept in its folder (`train.log`) so the run page shows it after a restart too.
import fs from 'node:fs';
import path from 'node:path';

export const RUN_LOG_FILE = 'train.log';

export function appendRunLog(runDir: string, line: string): void {
  fs.mkdirSync(runDir, { recursive: true });
  fs.appendFileSync(path.join(runDir, RUN_LOG_FILE), `${line}\n`);
}

/** The log's last `maxLines` lines; none when the run has no log. */
export function readRunLog(runDir: string, maxLines: number): string[] {
  const file = path.join(runDir, RUN_LOG_FILE);
  if (!fs.existsSync(file)) return [];
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines.slice(-maxLines);
}
