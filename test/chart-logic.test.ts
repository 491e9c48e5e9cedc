// The SVG charts' math: axis ranges and ticks, tick labels, paths, the point under the
// pointer and the screen-reader description, checked against direct reference computations.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { atLeastSpan, extent, formatTick, linearScale, niceAxis, tickStep } from '../renderer/src/charts/scale';
import { describeChart, linePath, nearestIndex, toPoints } from '../renderer/src/charts/series';
import { formatMetric } from '../renderer/src/lib/format';
import { lossChart, SMOOTHING } from '../renderer/src/runs/loss-chart';
import { smoothed } from '../core/train/verdict';

/** A deterministic stream of numbers in [0, 1), so failures reproduce. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

test('extent skips non-finite values and is null when nothing is left', () => {
  const values = [3, Number.NaN, -2, Infinity, 7];
  const finite = values.filter(Number.isFinite);
  assert.deepEqual(extent(values), { min: Math.min(...finite), max: Math.max(...finite) });
  assert.equal(extent([Number.NaN]), null);
  assert.equal(extent([]), null);
});

test('tick steps are 1, 2 or 5 times a power of ten', () => {
  const next = random(1);
  for (let i = 0; i < 200; i++) {
    const span = 10 ** (next() * 12 - 6);
    const step = tickStep(span, 5);
    const mantissa = step / 10 ** Math.floor(Math.log10(step) + 1e-9);
    assert.ok([1, 2, 5, 10].some((m) => Math.abs(mantissa - m) < 1e-6), `step ${step} for span ${span}`);
    const intervals = span / step;
    assert.ok(intervals >= 5 / 3.5 && intervals <= 5 * 1.5 + 1e-9, `${intervals} intervals for span ${span}`);
  }
});

test('a nice axis covers the data with evenly spaced ticks at its ends', () => {
  const next = random(2);
  for (let i = 0; i < 200; i++) {
    const a = (next() - 0.5) * 10 ** (next() * 8 - 3);
    const b = a + next() * 10 ** (next() * 8 - 3);
    const { domain, ticks, step } = niceAxis({ min: a, max: b }, 5);
    assert.ok(domain.min <= a && domain.max >= b, `[${domain.min}, ${domain.max}] covers [${a}, ${b}]`);
    assert.ok(Math.abs(ticks[0] - domain.min) <= step * 1e-6 && Math.abs(ticks[ticks.length - 1] - domain.max) <= step * 1e-6);
    for (let t = 1; t < ticks.length; t++) assert.ok(Math.abs(ticks[t] - ticks[t - 1] - step) <= step * 1e-6);
    // Widening to whole ticks adds less than a step at either end.
    assert.ok(a - domain.min < step + step * 1e-6 && domain.max - b < step + step * 1e-6);
  }
});

test('an unwidened axis keeps its exact range, with every tick inside it', () => {
  const next = random(5);
  for (let i = 0; i < 200; i++) {
    const min = Math.round(next() * 50);
    const max = min + 1 + Math.round(next() * 10 ** (next() * 5));
    const { domain, ticks, step } = niceAxis({ min, max }, 5, false);
    assert.deepEqual(domain, { min, max });
    assert.ok(ticks.length >= 1 && ticks.every((t) => t >= min - step * 1e-6 && t <= max + step * 1e-6), `${ticks} in [${min}, ${max}]`);
    assert.ok(ticks[0] - min < step && max - ticks[ticks.length - 1] < step, 'no room for another tick at either end');
  }
});

test('a flat series gets a band around its value instead of a zero-height axis', () => {
  for (const value of [0, 2.5, -40]) {
    const { domain } = niceAxis({ min: value, max: value });
    assert.ok(domain.min < value && domain.max > value, `${value} inside [${domain.min}, ${domain.max}]`);
  }
});

test('the linear scale maps the domain ends onto the range ends, inverted ranges included', () => {
  const y = linearScale({ min: 1, max: 3 }, 200, 10);
  assert.equal(y(1), 200);
  assert.equal(y(3), 10);
  assert.equal(y(2), (200 + 10) / 2);
});

test('tick labels read back as the tick values, with the decimals the step needs', () => {
  const next = random(3);
  for (let i = 0; i < 200; i++) {
    const span = 10 ** (next() * 8 - 2);
    const { ticks, step } = niceAxis({ min: 0, max: span });
    for (const t of ticks) {
      const label = formatTick(t, step);
      const suffix = { k: 1e3, M: 1e6, B: 1e9 }[label.slice(-1)] ?? 1;
      const value = Number(suffix === 1 ? label : label.slice(0, -1)) * suffix;
      assert.ok(Math.abs(value - t) <= step * 1e-6, `${label} for ${t} (step ${step})`);
    }
  }
  // Float noise in a tick (0.1 + 0.2) must not leak into its label.
  assert.equal(formatTick(0.1 + 0.2, 0.1), '0.3');
  assert.equal(formatTick(12000, 2000), '12k');
  assert.equal(formatTick(5e-5, 5e-5), '5e-5');
  // A loss axis zoomed in to tiny steps keeps its values readable.
  assert.equal(formatTick(10.82565, 5e-6), '10.825650');
});

test('toPoints pairs x and y, leaving out missing and non-finite values', () => {
  const xs = [1, 2, 3, 4, 5];
  const ys = [0.5, null, Number.NaN, 2, Infinity];
  const expected = xs.flatMap((x, i) => (typeof ys[i] === 'number' && Number.isFinite(ys[i]) ? [{ x, y: ys[i] as number }] : []));
  assert.deepEqual(toPoints(xs, ys), expected);
});

test('linePath moves to the first point and draws a line to each next one, in scaled pixels', () => {
  const points = toPoints([0, 10, 20, 30], [4, 3, 2.5, 2.25]);
  const sx = linearScale({ min: 0, max: 30 }, 50, 450);
  const sy = linearScale({ min: 2, max: 4 }, 180, 10);
  const d = linePath(points, sx, sy);
  const commands = [...d.matchAll(/([ML])([-\d.]+),([-\d.]+)/g)];
  assert.deepEqual(
    commands.map((c) => c[1]),
    points.map((_, i) => (i === 0 ? 'M' : 'L')),
  );
  commands.forEach((c, i) => {
    assert.ok(Math.abs(Number(c[2]) - sx(points[i].x)) <= 0.05 + 1e-9);
    assert.ok(Math.abs(Number(c[3]) - sy(points[i].y)) <= 0.05 + 1e-9);
  });
  assert.equal(linePath([], sx, sy), '');
});

test('nearestIndex finds the same point as a linear scan', () => {
  const next = random(4);
  const xs = [...new Set(Array.from({ length: 60 }, () => Math.round(next() * 500)))].sort((a, b) => a - b);
  const points = xs.map((x) => ({ x, y: 0 }));
  for (let i = 0; i < 300; i++) {
    const x = next() * 600 - 50;
    const best = Math.min(...points.map((p) => Math.abs(p.x - x)));
    assert.equal(Math.abs(points[nearestIndex(points, x)].x - x), best, `x = ${x}`);
  }
  assert.equal(nearestIndex([], 3), -1);
});

test('the chart description names each series, its size, latest value and range', () => {
  const a = { label: 'run a', points: toPoints([1, 2, 3], [3, 1, 2]) };
  const b = { label: 'run b', points: [] };
  const text = describeChart('Train loss', 'step', [a, b]);
  assert.match(text, /^Train loss by step\./);
  assert.ok(text.includes(`run a: 3 points, latest ${formatMetric(2)} at step 3, lowest ${formatMetric(1)}, highest ${formatMetric(3)}`), text);
  assert.ok(text.includes('run b: no points yet'), text);
  assert.ok(!describeChart('Loss', 'step', [a]).includes('run a'), 'a single series is not named');
});

test('atLeastSpan widens a nearly flat range around its middle, never below zero for positive data', () => {
  const wide = { min: 1, max: 4 };
  assert.deepEqual(atLeastSpan(wide, 0.1), wide, 'already wide enough');
  const flat = { min: 2.3, max: 2.33 };
  const shown = atLeastSpan(flat, 0.1);
  assert.ok(Math.abs(shown.max - shown.min - 0.1 * 2.33) < 1e-12, 'a tenth of the largest value');
  assert.ok(shown.min <= flat.min && shown.max >= flat.max, 'the data stays inside');
  assert.ok(Math.abs((shown.min + shown.max) / 2 - (flat.min + flat.max) / 2) < 1e-12, 'centred');
  // Centred, it would reach below zero: it starts at zero and keeps the full span instead.
  const nearZero = atLeastSpan({ min: 0.001, max: 0.002 }, 2);
  assert.deepEqual(nearZero, { min: 0, max: 0.004 });
  assert.deepEqual(atLeastSpan(flat, 0), flat, 'fraction 0 leaves it alone');
});

test('the run page\'s loss chart: raw and smoothed train loss, eval loss, and the best evaluation marked', () => {
  const loss = { steps: [1, 2, 3, 4, 5, 6], values: [5, 4.2, 4.4, 3.9, 3.7, 3.8] };
  const evalLoss = { steps: [2, 4, 6], values: [4.5, 4.1, 4.3] };
  const { series, markers } = lossChart({ loss, eval_loss: evalLoss });
  assert.deepEqual(series.map((s) => [s.label, s.points.length, s.faint ?? false]), [
    ['Train loss', 6, true],
    ['Train loss, smoothed', 6, false],
    ['Eval loss', 3, false],
  ]);
  assert.deepEqual(series[1].points.map((p) => p.y), smoothed(loss.values, SMOOTHING));
  assert.equal(series[0].color, series[1].color, 'raw and smoothed train loss share a colour');
  assert.deepEqual(markers, [{ x: 4, label: 'best eval, step 4' }]);
  assert.deepEqual(lossChart({}).markers, [], 'no evaluation, no marker');
});
