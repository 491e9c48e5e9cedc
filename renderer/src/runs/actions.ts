// Which of a run's actions make sense in its state; the run page shows only those.
import type { RunDetail } from '../../../core/api/contract';
import type { RunStatus } from '../../../core/store/types';

/** Training now or waiting to: there is a process to stop and progress to watch. */
export function isActive(status: RunStatus): boolean {
  return status === 'running' || status === 'queued';
}

/** A run that ended early can go on from its last checkpoint. */
export function canResume(detail: RunDetail): boolean {
  return ['stopped', 'interrupted', 'failed'].includes(detail.run.status) && detail.checkpoints.length > 0;
}

/**
 * A finished run trains more epochs from the checkpoint the trainer writes at the end. One
 * limited by max_steps counts steps, not epochs, so the host refuses to extend it.
 */
export function canExtend(detail: RunDetail): boolean {
  const maxSteps = (detail.run.config as { max_steps?: unknown } | null)?.max_steps;
  const limitedBySteps = typeof maxSteps === 'number' && maxSteps > 0;
  return detail.run.status === 'completed' && detail.checkpoints.length > 0 && !limitedBySteps;
}
