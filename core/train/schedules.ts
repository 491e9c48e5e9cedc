// Learning-rate schedules exactly as `transformers.get_scheduler` builds them: a
// LambdaLR factor applied to the peak rate, evaluated at the optimizer step about to run.

export const SCHEDULES = ['linear', 'cosine', 'constant', 'constant_with_warmup'] as const;
export type ScheduleName = (typeof SCHEDULES)[number];

export interface Schedule {
  name: ScheduleName;
  peakLr: number;
  warmupSteps: number;
  totalSteps: number;
}

function warmupFactor(step: number, warmup: number): number {
  return step / Math.max(1, warmup);
}

export function learningRateAt(s: Schedule, step: number): number {
  const inWarmup = step < s.warmupSteps;
  const decaySteps = Math.max(1, s.totalSteps - s.warmupSteps);
  switch (s.name) {
    case 'constant':
      return s.peakLr;
    case 'constant_with_warmup':
      return s.peakLr * (inWarmup ? warmupFactor(step, s.warmupSteps) : 1);
    case 'linear':
      return s.peakLr * (inWarmup ? warmupFactor(step, s.warmupSteps) : Math.max(0, (s.totalSteps - step) / decaySteps));
    case 'cosine': {
      if (inWarmup) return s.peakLr * warmupFactor(step, s.warmupSteps);
      const progress = (step - s.warmupSteps) / decaySteps;
      return s.peakLr * Math.max(0, 0.5 * (1 + Math.cos(Math.PI * progress)));
    }
  }
}
