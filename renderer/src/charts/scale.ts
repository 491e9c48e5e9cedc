// Axis math for the SVG charts: which range to show, where the ticks go and how their
// labels read. Ticks fall on 1, 2 or 5 times a power of ten, as people read axes.

export interface Domain {
  min: number;
  max: number;
}

/** Smallest and largest finite value; null when there is none. */
export function extent(values: Iterable<number>): Domain | null {
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return min <= max ? { min, max } : null;
}

/** The 1/2/5 × 10^k step that splits `span` into about `count` intervals. */
export function tickStep(span: number, count: number): number {
  const raw = span / Math.max(1, count);
  const power = 10 ** Math.floor(Math.log10(raw));
  const factor = raw / power;
  const nice = factor < 1.5 ? 1 : factor < 3 ? 2 : factor < 7 ? 5 : 10;
  return nice * power;
}

/**
 * Ticks on 1/2/5 steps inside the domain. `widen` stretches the domain out to whole ticks, as
 * value axes read best; an x axis keeps its exact range so lines span the plot. A flat series
 * (min = max) gets a band around its value, so a constant line still sits mid-chart.
 */
export function niceAxis(domain: Domain, count = 5, widen = true): { domain: Domain; ticks: number[]; step: number } {
  let { min, max } = domain;
  if (min === max) {
    const pad = min === 0 ? 1 : Math.abs(min) * 0.1;
    min -= pad;
    max += pad;
  }
  const step = tickStep(max - min, count);
  // The epsilon keeps a bound that is a tick up to float noise from gaining or losing a tick.
  const lo = widen ? Math.floor(min / step + 1e-9) * step : Math.ceil(min / step - 1e-9) * step;
  const hi = widen ? Math.ceil(max / step - 1e-9) * step : Math.floor(max / step + 1e-9) * step;
  const ticks: number[] = [];
  for (let i = 0; lo + i * step <= hi + step * 1e-9; i++) ticks.push(lo + i * step);
  return { domain: widen ? { min: lo, max: hi } : { min, max }, ticks, step };
}

/**
 * The domain widened around its middle to at least `fraction` of its largest magnitude, so a
 * few noisy points of a nearly flat loss (2.31, 2.33, 2.30) do not fill the plot and read as spikes.
 */
export function atLeastSpan(domain: Domain, fraction: number): Domain {
  const need = fraction * Math.max(Math.abs(domain.min), Math.abs(domain.max));
  const span = domain.max - domain.min;
  if (span >= need) return domain;
  const middle = (domain.min + domain.max) / 2;
  let min = middle - need / 2;
  // A loss cannot go below zero, so neither need its axis.
  if (domain.min >= 0 && min < 0) min = 0;
  return { min, max: Math.max(domain.max, min + need) };
}

/** Maps the domain linearly onto [from, to] (to may be smaller, as the y axis grows upwards). */
export function linearScale(domain: Domain, from: number, to: number): (v: number) => number {
  const span = domain.max - domain.min || 1;
  return (v) => from + ((v - domain.min) / span) * (to - from);
}

const SUFFIXES: [number, string][] = [
  [1e9, 'B'],
  [1e6, 'M'],
  [1e3, 'k'],
];

/**
 * A tick label with as many decimals as the step needs: 0.5, 12k, 2M, 5e-5. Exponent form is
 * for small values only; a zoomed-in axis over large ones (a loss of 10.8256 to 10.8259)
 * reads better as decimals than as 1.08256e+1.
 */
export function formatTick(value: number, step: number): string {
  if (Math.abs(value) < step * 1e-6) return '0';
  for (const [size, suffix] of SUFFIXES) {
    if (step >= size || Math.abs(value) >= size * 10) return `${trimmed(value / size, step / size)}${suffix}`;
  }
  if (step < 1e-3 && Math.abs(value) < step * 1000) return Number(value.toPrecision(6)).toExponential();
  return trimmed(value, step);
}

function trimmed(value: number, step: number): string {
  const decimals = Math.max(0, Math.ceil(-Math.log10(step) - 1e-9));
  return value.toFixed(Math.min(decimals, 10));
}
