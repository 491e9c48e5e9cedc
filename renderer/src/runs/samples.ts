// Sample generations grouped by the evaluation that produced them, newest first.
import type { Sample } from '../../../core/store/types';

export function samplesByStep(samples: readonly Sample[]): { step: number; samples: Sample[] }[] {
  const groups = new Map<number, Sample[]>();
  for (const s of samples) {
    const group = groups.get(s.step);
    if (group) group.push(s);
    else groups.set(s.step, [s]);
  }
  return [...groups].sort(([a], [b]) => b - a).map(([step, list]) => ({ step, samples: list }));
}
