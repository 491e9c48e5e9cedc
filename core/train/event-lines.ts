// A training event as one line of plain text: what the CLI prints between progress bars
// and what the app writes to a run's log, so both read the same.
import { formatDuration } from '../units';
import type { TrainEvent } from './events';

export function eventLine(e: TrainEvent): string {
  switch (e.event) {
    case 'start':
      return `training ${e.method} on ${e.backend}: ${e.train.examples} examples (${e.train.label_tokens} label tokens, ${e.train.truncated} truncated, ${e.train.skipped} skipped), ${e.total_steps} steps, ${e.trainable_parameters} trainable parameters${e.resumed_from ? `, resumed from ${e.resumed_from}` : ''}`;
    case 'step':
      return `step ${e.step}: loss ${e.loss.toFixed(4)}, grad norm ${e.grad_norm.toFixed(4)}, learning rate ${e.learning_rate.toExponential(2)}, ${e.tokens_per_second.toFixed(1)} tok/s`;
    case 'eval':
      return `step ${e.step}: eval loss ${e.eval_loss.toFixed(4)}, perplexity ${e.perplexity.toFixed(2)}`;
    case 'sample':
      return `step ${e.step}: ${JSON.stringify(e.prompt)} → ${JSON.stringify(e.output)}`;
    case 'checkpoint':
      return `step ${e.step}: checkpoint saved to ${e.path}`;
    case 'done': {
      const last = e.last_loss === null ? '' : `, last ${e.last_loss.toFixed(4)}`;
      const kept = e.result_step === e.step ? '' : ` (the weights of step ${e.result_step}, the best evaluation)`;
      return `done in ${formatDuration(e.seconds)}: ${e.step} steps, average train loss ${e.train_loss.toFixed(4)}${last}, peak memory ${(e.measured_peak_bytes / 2 ** 20).toFixed(0)} MiB; saved to ${e.output_dir}${kept}`;
    }
  }
}
