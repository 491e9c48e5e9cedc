// A training run's progress as the app's run page and the CLI's progress bar show it,
// advanced event by event. Pure: the caller says when each event arrived.
import type { LiveProgress } from '../api/contract';
import type { TrainEvent } from './events';

export interface ProgressClock {
  live: LiveProgress;
  /** When training (not loading) began in this process, ms; null while loading. */
  startedAt: number | null;
  /** The step this process started from: 0, or the checkpoint's step when resumed. */
  firstStep: number;
}

export function loadingProgress(): ProgressClock {
  return { live: { step: 0, totalSteps: 0, epoch: 0, tokensPerSecond: 0, etaSeconds: null }, startedAt: null, firstStep: 0 };
}

/**
 * The progress once `e` arrived at `now` (ms). `resumedStep` is read only for the start
 * event. The ETA extrapolates this process's time per step, so loading is not counted.
 */
export function advanceProgress(p: ProgressClock, e: TrainEvent, now: number, resumedStep = 0): ProgressClock {
  switch (e.event) {
    case 'start':
      return { live: { ...p.live, step: resumedStep, totalSteps: e.total_steps, etaSeconds: null }, startedAt: now, firstStep: resumedStep };
    case 'step': {
      const done = e.step - p.firstStep;
      const perStep = p.startedAt !== null && done > 0 ? (now - p.startedAt) / 1000 / done : null;
      const etaSeconds = perStep === null ? null : perStep * Math.max(0, p.live.totalSteps - e.step);
      return { ...p, live: { ...p.live, step: e.step, epoch: e.epoch, tokensPerSecond: e.tokens_per_second, etaSeconds } };
    }
    default:
      return p;
  }
}
