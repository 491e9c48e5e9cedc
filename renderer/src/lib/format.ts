// Numbers as people read them: 1.2 GiB, 3:05, 124M. Shared by every screen so the
// same quantity is never written two ways.

export { formatBytes, formatDuration } from '../../../core/units';

/** Parameter counts the way model cards write them: 124M, 1.5B. */
export function formatCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(1)}B`;
  if (n >= 1e6) return `${Math.round(n / 1e6)}M`;
  if (n >= 1e3) return `${Math.round(n / 1e3)}K`;
  return String(n);
}

/**
 * Losses and rates: four significant digits, exponent form for tiny learning rates. Large
 * values (an untrained model's perplexity of 50,289) are whole numbers, not 5.029e+4.
 */
export function formatMetric(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  if (value !== 0 && Math.abs(value) < 1e-3) return value.toExponential(2);
  if (Math.abs(value) >= 1e4) return Math.round(value).toLocaleString();
  return value.toPrecision(4);
}

export function formatDate(ms: number | null | undefined): string {
  return ms ? new Date(ms).toLocaleString() : '—';
}
