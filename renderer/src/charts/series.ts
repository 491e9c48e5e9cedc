// Data shaping for line charts: turning stored or streamed series into plot points, the
// SVG path through them, the point under the pointer, and a sentence for screen readers.
import { formatMetric } from '../lib/format';
import { extent } from './scale';

export interface XY {
  x: number;
  y: number;
}

/** One line on a chart, its points in increasing x. */
export interface ChartSeries {
  label: string;
  points: XY[];
  /** The theme colour to draw it in (0–3); by default the series' own place. */
  color?: number;
  /** Drawn thin and pale: the raw line behind its smoothed one. */
  faint?: boolean;
}

/** A vertical line across the plot at `x`, e.g. the best evaluation's step. */
export interface ChartMarker {
  x: number;
  label: string;
}

/** Pairs parallel arrays into points, leaving out the missing (null) and non-finite values. */
export function toPoints(xs: readonly number[], ys: readonly (number | null)[]): XY[] {
  const points: XY[] = [];
  for (let i = 0; i < xs.length; i++) {
    const y = ys[i];
    if (y !== null && y !== undefined && Number.isFinite(y) && Number.isFinite(xs[i])) points.push({ x: xs[i], y });
  }
  return points;
}

/** `M x,y L x,y …` through the points, in pixels to a tenth (finer is invisible and bloats the DOM). */
export function linePath(points: readonly XY[], sx: (x: number) => number, sy: (y: number) => number): string {
  return points.map((p, i) => `${i === 0 ? 'M' : 'L'}${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`).join('');
}

/** Index of the point whose x is closest to `x` (points sorted by x); -1 when there are none. */
export function nearestIndex(points: readonly XY[], x: number): number {
  if (points.length === 0) return -1;
  let lo = 0;
  let hi = points.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (points[mid].x < x) lo = mid + 1;
    else hi = mid;
  }
  return lo > 0 && x - points[lo - 1].x <= points[lo].x - x ? lo - 1 : lo;
}

/** What the chart shows, in words: each line's point count, latest value and range. */
export function describeChart(title: string, xLabel: string, series: readonly ChartSeries[]): string {
  const parts = series.map((s) => {
    const name = series.length > 1 ? `${s.label}: ` : '';
    if (s.points.length === 0) return `${name}no points yet`;
    const last = s.points[s.points.length - 1];
    const range = extent(s.points.map((p) => p.y))!;
    return `${name}${s.points.length} points, latest ${formatMetric(last.y)} at ${xLabel} ${last.x}, lowest ${formatMetric(range.min)}, highest ${formatMetric(range.max)}`;
  });
  return `${title} by ${xLabel}. ${parts.join('; ')}.`;
}
