// The run page's reading of a run's curves: best evaluation, over-fitting verdict, smoothing.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bestEval, describeOverfit, overfitVerdict, RISE_MARGIN, RISING_EVALS, smoothed } from '../core/train/verdict';

const curve = (pairs: [number, number | null][]) => ({ steps: pairs.map((p) => p[0]), values: pairs.map((p) => p[1]) });

test('bestEval: the lowest finite eval loss, the first on a tie; null with no evaluation', () => {
  assert.deepEqual(bestEval(curve([[25, 3.1], [50, 2.4], [75, null], [100, 2.4], [125, 2.9]])), { step: 50, loss: 2.4 });
  assert.equal(bestEval(curve([])), null);
  assert.equal(bestEval(undefined), null);
  assert.equal(bestEval(curve([[10, null], [20, Number.NaN]])), null);
});

test('overfitVerdict: eval loss above its best for the last evaluations, by more than the margin', () => {
  // The run: best at step 125, rising after.
  const rising = curve([[25, 3.2], [50, 2.9], [75, 2.7], [100, 2.6], [125, 2.55], [150, 2.61], [175, 2.7], [200, 2.82]]);
  const verdict = overfitVerdict(rising)!;
  assert.deepEqual(verdict, { best: { step: 125, loss: 2.55 }, last: { step: 200, loss: 2.82 }, evalsSinceBest: 3 });

  // Still improving, or one worse evaluation only, or a rise inside the margin: no remark.
  assert.equal(overfitVerdict(curve([[25, 3], [50, 2.8], [75, 2.7]])), null);
  assert.equal(overfitVerdict(curve([[25, 3], [50, 2.8], [75, 2.9]])), null, `one evaluation after the best is fewer than ${RISING_EVALS}`);
  const flat = 2.8 * (1 + RISE_MARGIN / 2);
  assert.equal(overfitVerdict(curve([[25, 3], [50, 2.8], [75, flat], [100, flat]])), null, 'jitter within the margin');
  assert.equal(overfitVerdict(curve([[25, 3]])), null);
  // Falling again at the end: the latest is back below best × (1 + margin).
  assert.equal(overfitVerdict(curve([[25, 3], [50, 2.8], [75, 3.0], [100, 2.81]])), null);
});

test('describeOverfit: names the best step, says whether the result holds it, and how to avoid it', () => {
  const verdict = overfitVerdict(curve([[25, 3], [125, 2.5], [150, 2.7], [175, 2.9]]))!;
  const kept = describeOverfit(verdict, 125, true);
  assert.match(kept, /risen for 2 evaluations since step 125 \(2\.500 then, 2\.900 at step 175\)/);
  assert.match(kept, /memorising the training examples/);
  assert.match(kept, /result holds the weights of step 125, its best checkpoint/);
  const notKept = describeOverfit(verdict, 175, false);
  assert.match(notKept, /best checkpoint is step 125; the result holds step 175's weights/);
  assert.match(notKept, /load_best_model_at_end/);
  assert.match(describeOverfit(verdict, null, true), /best checkpoint so far is step 125; the result will hold its weights\./);
  assert.match(describeOverfit(verdict, null, false), /best checkpoint so far is step 125\. Fewer/);
});

test('smoothed: a debiased moving average that starts at the first value and follows a step change', () => {
  assert.deepEqual(smoothed([4, 4, 4], 0.6), [4, 4, 4], 'a constant stays constant: no pull towards 0');
  assert.deepEqual(smoothed([1, 5, 2], 0), [1, 5, 2], 'weight 0 is the raw line');
  const values = [...Array(10).fill(1), ...Array(30).fill(3)];
  const line = smoothed(values, 0.6);
  assert.equal(line[0], 1);
  // The weighted mean, computed directly: Σ w^(n-i)(1-w) v_i / (1 - w^(n+1)).
  const n = 12;
  let num = 0;
  for (let i = 0; i <= n; i++) num += 0.6 ** (n - i) * 0.4 * values[i];
  assert.ok(Math.abs(line[n] - num / (1 - 0.6 ** (n + 1))) < 1e-12);
  assert.ok(line[10] > 1 && line[10] < 3, 'the step is softened');
  assert.ok(Math.abs(line[39] - 3) < 1e-6, 'and reached');
});
