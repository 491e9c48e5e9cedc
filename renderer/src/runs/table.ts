// The runs list's sorting and filtering, kept apart from the table that shows them.
import type { RunSummary } from '../../../core/api/contract';
import type { RunStatus } from '../../../core/store/types';

export type SortKey = 'name' | 'status' | 'model' | 'method' | 'createdAt' | 'loss' | 'evalLoss';
/** The values aria-sort takes, so a header can announce its own order. */
export type SortDirection = 'ascending' | 'descending';

/** The final train loss, or the latest logged one while the run is still going. */
export function trainLoss(run: RunSummary): number | null {
  return run.finalMetrics?.train_loss ?? run.lastMetrics.loss ?? null;
}

export function evalLoss(run: RunSummary): number | null {
  return run.finalMetrics?.eval_loss ?? run.lastMetrics.eval_loss ?? null;
}

const SORT_VALUE: Record<SortKey, (run: RunSummary) => string | number | null> = {
  name: (r) => r.name,
  status: (r) => r.status,
  model: (r) => r.model,
  method: (r) => r.method,
  createdAt: (r) => r.createdAt,
  loss: trainLoss,
  evalLoss,
};

/** A sorted copy; runs without a value (no loss yet, no model) go last in either direction. */
export function sortRuns(runs: readonly RunSummary[], key: SortKey, direction: SortDirection): RunSummary[] {
  const value = SORT_VALUE[key];
  const sign = direction === 'ascending' ? 1 : -1;
  return [...runs].sort((a, b) => {
    const va = value(a);
    const vb = value(b);
    if (va === null || vb === null) return va === vb ? 0 : va === null ? 1 : -1;
    const order = typeof va === 'number' && typeof vb === 'number' ? va - vb : String(va).localeCompare(String(vb), undefined, { numeric: true, sensitivity: 'base' });
    return sign * order;
  });
}

/** Runs whose name, model or a tag contains `text` (any case), with the given status unless 'all'. */
export function filterRuns(runs: readonly RunSummary[], text: string, status: RunStatus | 'all'): RunSummary[] {
  const needle = text.trim().toLowerCase();
  return runs.filter(
    (r) => (status === 'all' || r.status === status) && (!needle || [r.name, r.model ?? '', ...r.tags].some((field) => field.toLowerCase().includes(needle))),
  );
}

/** Date and time without seconds or a long year: the table has many columns to fit. */
/** The day alone, in local time: the table's column stays narrow, and the cell's tooltip has the time. */
export function shortDate(ms: number): string {
  return new Date(ms).toLocaleDateString(undefined, { dateStyle: 'short' });
}

/** A local folder's last part (the rest is in the tooltip); Hub ids such as `bigscience/bloom-560m` stay whole. */
export function shortModel(source: string | null): string {
  if (!source) return '—';
  const absolute = source.startsWith('/') || source.startsWith('\\\\') || /^[A-Za-z]:[\\/]/.test(source);
  return absolute ? (source.split(/[\\/]/).filter(Boolean).pop() ?? source) : source;
}
