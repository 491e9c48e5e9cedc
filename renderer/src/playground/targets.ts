// Chat targets as one string each (`run:<id>`, `model:<source>`): what a <select> holds
// and what `#/playground?targets=` lists to open the Playground on given targets.
import type { ChatTarget, ChatTargetInfo } from '../../../core/api/contract';

/** Side by side is readable up to three; more would squeeze each reply to a column of words. */
export const MAX_PANES = 3;

export function targetKey(target: ChatTarget): string {
  return target.kind === 'run' ? `run:${target.runId}` : `model:${target.source}`;
}

/** Splits at the first colon only: a model source may be a Windows path (`C:\…`). */
export function parseTargetKey(key: string): ChatTarget | null {
  const at = key.indexOf(':');
  const kind = key.slice(0, at);
  const rest = key.slice(at + 1);
  if (at < 0 || rest === '') return null;
  if (kind === 'run') return { kind: 'run', runId: rest };
  if (kind === 'model') return { kind: 'model', source: rest };
  return null;
}

export function findTarget(targets: readonly ChatTargetInfo[], key: string): ChatTargetInfo | undefined {
  return targets.find((t) => targetKey(t.target) === key);
}

/**
 * The targets a `?targets=` list asks for, in its order and at most MAX_PANES of them,
 * plus the entries that name nothing available, so the page can say which were skipped.
 */
export function preselection(param: string, targets: readonly ChatTargetInfo[]): { keys: string[]; missing: string[] } {
  const keys: string[] = [];
  const missing: string[] = [];
  for (const raw of param.split(',')) {
    const entry = raw.trim();
    if (entry === '') continue;
    const target = parseTargetKey(entry);
    const key = target && targetKey(target);
    if (key && findTarget(targets, key)) {
      if (!keys.includes(key)) keys.push(key);
    } else {
      missing.push(entry);
    }
  }
  return { keys: keys.slice(0, MAX_PANES), missing };
}
