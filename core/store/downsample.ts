// Shrinks a long curve for plotting. Plain striding would drop loss spikes, so each
// bucket keeps its lowest and highest point; the ends are kept so the x range is exact.
import type { Point } from './types';

/** Returns at most `maxPoints` of `points` (in their order): first, last, and each bucket's min and max. */
export function downsample(points: readonly Point[], maxPoints: number): Point[] {
  if (!Number.isInteger(maxPoints) || maxPoints < 2) throw new RangeError(`maxPoints must be a whole number of at least 2; got ${maxPoints}`);
  const n = points.length;
  if (n <= maxPoints) return points.slice();
  const buckets = Math.floor((maxPoints - 2) / 2);
  const out: Point[] = [points[0]];
  const inner = n - 2;
  for (let b = 0; b < buckets; b++) {
    const start = 1 + Math.floor((b * inner) / buckets);
    const end = 1 + Math.floor(((b + 1) * inner) / buckets);
    let lo = start;
    let hi = start;
    for (let i = start + 1; i < end; i++) {
      if (points[i].value < points[lo].value) lo = i;
      if (points[i].value > points[hi].value) hi = i;
    }
    if (lo === hi) out.push(points[lo]);
    else if (lo < hi) out.push(points[lo], points[hi]);
    else out.push(points[hi], points[lo]);
  }
  out.push(points[n - 1]);
  return out;
}
