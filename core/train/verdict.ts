// What a finished (or running) run's curves say, in plain words: the best evaluation, and
// whether eval loss has been rising while train loss kept falling — the model memorising its
// training examples. Pure, so the app, the CLI and tests read the same verdict.

export interface Curve {
  steps: readonly number[];
  values: readonly (number | null)[];
}

export interface BestEval {
  step: number;
  loss: number;
}

export interface OverfitVerdict {
  best: BestEval;
  /** The latest evaluation, above the best. */
  last: BestEval;
  /** Evaluations since the best, every one above it. */
  evalsSinceBest: number;
}

/**
 * Evaluations after the best before it counts as rising "for a while": one worse evaluation is
 * noise as often as not; two in a row, each above the best, is a trend worth a remark.
 */
export const RISING_EVALS = 2;
/** And the latest at least this much above the best (relative), so a flat curve's jitter is not called over-fitting. */
export const RISE_MARGIN = 0.01;

function points(curve: Curve | undefined): BestEval[] {
  if (!curve) return [];
  const out: BestEval[] = [];
  curve.steps.forEach((step, i) => {
    const loss = curve.values[i];
    if (loss !== null && loss !== undefined && Number.isFinite(loss)) out.push({ step, loss });
  });
  return out;
}

/** The lowest eval loss and its step (the first, on a tie, as the trainer keeps the first best). */
export function bestEval(evalCurve: Curve | undefined): BestEval | null {
  return points(evalCurve).reduce<BestEval | null>((best, p) => (best === null || p.loss < best.loss ? p : best), null);
}

/** The verdict when eval loss has risen for a while since its best; null when it has not. */
export function overfitVerdict(evalCurve: Curve | undefined): OverfitVerdict | null {
  const evals = points(evalCurve);
  const best = bestEval(evalCurve);
  if (!best) return null;
  const after = evals.filter((p) => p.step > best.step);
  const last = evals[evals.length - 1];
  if (after.length < RISING_EVALS || last.loss < best.loss * (1 + RISE_MARGIN)) return null;
  return { best, last, evalsSinceBest: after.length };
}

/**
 * The sentence the run page shows for a verdict. `resultStep` is the step whose weights the run's
 * result holds, null while it still trains; `keepsBest` whether it restores its best weights at the end.
 */
export function describeOverfit(verdict: OverfitVerdict, resultStep: number | null, keepsBest: boolean): string {
  const { best, last, evalsSinceBest } = verdict;
  const trend = `Eval loss has risen for ${evalsSinceBest} evaluations since step ${best.step} (${best.loss.toFixed(3)} then, ${last.loss.toFixed(3)} at step ${last.step})`;
  const keep =
    resultStep === null
      ? `the best checkpoint so far is step ${best.step}${keepsBest ? '; the result will hold its weights' : ''}`
      : resultStep === best.step
        ? `the run's result holds the weights of step ${best.step}, its best checkpoint`
        : `the best checkpoint is step ${best.step}; the result holds step ${resultStep}'s weights (turn on "load_best_model_at_end" to keep the best)`;
  return `${trend}: the model is memorising the training examples rather than learning what carries over. ${capitalise(keep)}. Fewer epochs, more data or a lower learning rate would help.`;
}

function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/**
 * An exponential moving average with TensorBoard's debiasing (the first points are not pulled
 * towards 0), for a smoothed line drawn over the raw one. `weight` 0 returns the values as they are.
 */
export function smoothed(values: readonly number[], weight: number): number[] {
  let average = 0;
  let debias = 1;
  return values.map((v) => {
    average = average * weight + (1 - weight) * v;
    debias *= weight;
    return debias === 1 ? v : average / (1 - debias);
  });
}
