// Sample generations grouped by the evaluation that produced them, newest first.
import type { Sample } from '../../../core/store/types';

/**
 * What the samples panel says while it has none. The trainer writes samples at each
 * evaluation point, so a run with prompts that ended without any stopped before the first.
 */
export function noSamplesText(active: boolean, promptCount: number): string {
  if (promptCount === 0) return 'This run has no sample prompts, so it writes no samples.';
  if (active) return 'The model writes a sample for each sample prompt at every evaluation; they appear here.';
  return 'The run ended before its first evaluation, so it has no samples yet.';
}

/** How many sample prompts a stored config has; a config from another writer may have none. */
export function samplePromptCount(config: unknown): number {
  const prompts = (config as { sample_prompts?: unknown } | null)?.sample_prompts;
  return Array.isArray(prompts) ? prompts.length : 0;
}

export function samplesByStep(samples: readonly Sample[]): { step: number; samples: Sample[] }[] {
  const groups = new Map<number, Sample[]>();
  for (const s of samples) {
    const group = groups.get(s.step);
    if (group) group.push(s);
    else groups.set(s.step, [s]);
  }
  return [...groups].sort(([a], [b]) => b - a).map(([step, list]) => ({ step, samples: list }));
}
