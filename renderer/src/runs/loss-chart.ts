// The run page's loss chart: train loss raw and smoothed, eval loss, and the best evaluation
// marked, so over-fitting shows as the two lines parting after the marker.
import type { Series } from '../../../core/store/types';
import { bestEval, smoothed } from '../../../core/train/verdict';
import { toPoints, type ChartMarker, type ChartSeries } from '../charts/series';
import { metricLabel } from './labels';

/** TensorBoard's default weight: steady enough to read a trend through step-to-step noise. */
export const SMOOTHING = 0.6;

export function lossChart(curves: Record<string, Series | undefined>): { series: ChartSeries[]; markers: ChartMarker[] } {
  const train = curves.loss ? toPoints(curves.loss.steps, curves.loss.values) : [];
  const trend = smoothed(
    train.map((p) => p.y),
    SMOOTHING,
  ).map((y, i) => ({ x: train[i].x, y }));
  const evals = curves.eval_loss;
  const best = bestEval(evals);
  return {
    series: [
      { label: metricLabel('loss'), points: train, color: 0, faint: true },
      { label: `${metricLabel('loss')}, smoothed`, points: trend, color: 0 },
      { label: metricLabel('eval_loss'), points: evals ? toPoints(evals.steps, evals.values) : [], color: 1 },
    ],
    markers: best ? [{ x: best.step, label: `best eval, step ${best.step}` }] : [],
  };
}
