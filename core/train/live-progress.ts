// A training run's progress as the CLI's progress bar, the app service and the run page show
// it, advanced event by event, with the one time-left estimate they all use: the pace of the
// recent steps. The caller says when each event arrived.
import type { LiveProgress } from '../api/contract';
import type { TrainEvent } from './events';

/** When a step arrived (ms), to estimate the time left from the observed pace. */
export interface PaceSample {
  step: number;
  at: number;
}

/** Enough steps to smooth out one slow step (an eval, a checkpoint) without lagging a real slowdown for long. */
const PACE_WINDOW = 20;

/** Adds a step's arrival to `pace` (in place), keeping the last PACE_WINDOW. */
export function recordPace(pace: PaceSample[], step: number, at: number): void {
  // A resumed run restarts below the last step seen; the old pace says nothing about the new process.
  if (pace.length > 0 && step <= pace[pace.length - 1].step) pace.length = 0;
  pace.push({ step, at });
  if (pace.length > PACE_WINDOW) pace.splice(0, pace.length - PACE_WINDOW);
}

/** Seconds left at the pace of the recent steps; null until two steps some time apart have been seen. */
export function etaSeconds(pace: readonly PaceSample[], totalSteps: number): number | null {
  if (pace.length < 2 || totalSteps <= 0) return null;
  const first = pace[0];
  const last = pace[pace.length - 1];
  // Steps that arrived together (a burst after a stall) say nothing about the pace.
  if (last.at <= first.at) return null;
  const secondsPerStep = (last.at - first.at) / 1000 / (last.step - first.step);
  return Math.max(0, totalSteps - last.step) * secondsPerStep;
}

export interface ProgressClock {
  live: LiveProgress;
  /** This process's recent steps; the start event counts as the step it resumed from, so loading is not timed. */
  pace: PaceSample[];
}

export function loadingProgress(): ProgressClock {
  return { live: { step: 0, totalSteps: 0, epoch: 0, tokensPerSecond: 0, etaSeconds: null }, pace: [] };
}

/**
 * The progress once `e` arrived at `now` (ms). `resumedStep` is read only for the start
 * event. The ETA extrapolates this process's recent steps, so loading is not counted.
 */
export function advanceProgress(p: ProgressClock, e: TrainEvent, now: number, resumedStep = 0): ProgressClock {
  switch (e.event) {
    case 'start':
      return { live: { ...p.live, step: resumedStep, totalSteps: e.total_steps, etaSeconds: null }, pace: [{ step: resumedStep, at: now }] };
    case 'step': {
      const pace = [...p.pace];
      recordPace(pace, e.step, now);
      return { pace, live: { ...p.live, step: e.step, epoch: e.epoch, tokensPerSecond: e.tokens_per_second, etaSeconds: etaSeconds(pace, p.live.totalSteps) } };
    }
    default:
      return p;
  }
}
