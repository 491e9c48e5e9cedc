// Shapes a RunComparison for the compare screen: chart lines per run, and config values as text.
import type { AlignedSeries } from '../../../core/store/compare';
import { toPoints, type ChartSeries } from '../charts/series';

/** One line per run; a run's nulls (x values only other runs have) are left out, not drawn as gaps. */
export function comparisonSeries(aligned: AlignedSeries, runNames: readonly string[]): ChartSeries[] {
  return runNames.map((label, i) => ({ label, points: toPoints(aligned.x, aligned.values[i] ?? []) }));
}

/** A config value as it would be typed: strings bare, lists and objects as JSON, a missing key as a dash. */
export function formatConfigValue(value: unknown): string {
  if (value === undefined) return '—';
  if (typeof value === 'string') return value;
  return JSON.stringify(value);
}
