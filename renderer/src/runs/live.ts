// Folds the training events streamed to the run page into the run's detail, so the page
// stays current without fetching the run again on every step.
import type { LiveProgress, RunDetail, RunSummary } from '../../../core/api/contract';
import type { Series } from '../../../core/store/types';
import type { TrainEvent } from '../../../core/train/events';
import { etaSeconds, recordPace, type PaceSample } from '../../../core/train/live-progress';
import type { Domain } from '../charts/scale';

/** Appends one step's values; a step at or before a series' last point is one a resumed run repeats, and is skipped. */
function append(curves: Record<string, Series>, step: number, values: Record<string, number>): void {
  for (const [name, value] of Object.entries(values)) {
    curves[name] ??= { steps: [], values: [] };
    // Read back through `curves`: under Svelte's $state the stored object is a reactive proxy of the literal.
    const series = curves[name];
    const last = series.steps[series.steps.length - 1];
    if (last !== undefined && step <= last) continue;
    series.steps.push(step);
    series.values.push(value);
  }
}

/**
 * The step range every chart of a run shares, so their x axes line up: up to the total steps
 * while it trains (the lines grow into a fixed frame), else up to the last step logged.
 */
export function stepDomain(detail: RunDetail): Domain | undefined {
  const last = Math.max(0, ...Object.values(detail.curves).map((c) => c.steps[c.steps.length - 1] ?? 0));
  const max = detail.live?.totalSteps || last;
  return max > 0 ? { min: 0, max } : undefined;
}

/** Progress after `event`. The ETA is left as it was: only the run page tracks the pace it comes from. */
export function advanceProgress(live: LiveProgress | null, event: TrainEvent): LiveProgress | null {
  switch (event.event) {
    case 'start':
      return { step: live?.step ?? 0, totalSteps: event.total_steps, epoch: live?.epoch ?? 0, tokensPerSecond: 0, etaSeconds: null };
    case 'step':
      return { totalSteps: 0, etaSeconds: null, ...live, step: event.step, epoch: event.epoch, tokensPerSecond: event.tokens_per_second };
    case 'done':
      return live && { ...live, step: event.step, etaSeconds: 0 };
    default:
      return live;
  }
}

/** The runs list's share of an event: progress and the latest losses. */
export function applyTrainEventToSummary(run: RunSummary, event: TrainEvent): void {
  run.live = advanceProgress(run.live, event);
  if (event.event === 'step') run.lastMetrics.loss = event.loss;
  if (event.event === 'eval') run.lastMetrics.eval_loss = event.eval_loss;
}

/**
 * Applies one event to `detail` in place: under Svelte's $state, pushing onto the curves
 * redraws only what changed. `now` is the arrival time in ms.
 */
export function applyTrainEvent(detail: RunDetail, event: TrainEvent, pace: PaceSample[], now: number): void {
  detail.live = advanceProgress(detail.live, event);
  switch (event.event) {
    case 'start':
      pace.length = 0;
      detail.run.estimatedPeakBytes = event.estimated_peak_bytes;
      break;
    case 'step': {
      append(detail.curves, event.step, { loss: event.loss, grad_norm: event.grad_norm, learning_rate: event.learning_rate, tokens_per_second: event.tokens_per_second, tokens_seen: event.tokens_seen });
      recordPace(pace, event.step, now);
      const live = detail.live!;
      live.etaSeconds = etaSeconds(pace, live.totalSteps) ?? live.etaSeconds;
      break;
    }
    case 'eval':
      append(detail.curves, event.step, { eval_loss: event.eval_loss, perplexity: event.perplexity });
      break;
    case 'sample':
      detail.samples.push({ runId: detail.run.id, step: event.step, prompt: event.prompt, output: event.output, createdAt: now });
      break;
    case 'checkpoint':
      if (event.is_best) for (const c of detail.checkpoints) c.isBest = false;
      detail.checkpoints.push({ runId: detail.run.id, step: event.step, path: event.path, evalLoss: event.eval_loss, isBest: event.is_best, createdAt: now });
      break;
    case 'done':
      detail.run.measuredPeakBytes = event.measured_peak_bytes;
      detail.run.estimatedPeakBytes = event.estimated_peak_bytes;
      break;
  }
}
