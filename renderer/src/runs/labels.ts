// Metric and method names as the store and trainer write them, and as people read them.
import { formatDuration, formatMetric } from '../lib/format';

const LABELS: Record<string, string> = {
  loss: 'Train loss',
  train_loss: 'Average train loss',
  last_loss: 'Last step’s train loss',
  result_step: 'Result’s step',
  eval_loss: 'Eval loss',
  learning_rate: 'Learning rate',
  grad_norm: 'Grad norm',
  perplexity: 'Perplexity',
  tokens_per_second: 'Tokens per second',
  tokens_seen: 'Tokens seen',
  steps: 'Steps',
  seconds: 'Seconds',
  best_step: 'Best step',
  stopped_early: 'Stopped early',
};

/** The curves the run page shows each in a chart of its own, after the loss chart. */
export const RUN_PAGE_METRICS = ['learning_rate', 'grad_norm'] as const;

export function metricLabel(name: string): string {
  const known = LABELS[name];
  if (known) return known;
  const words = name.replaceAll('_', ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** Known metrics first, in the order above (losses before rates), then the rest alphabetically. */
export function orderMetrics(names: readonly string[]): string[] {
  const rank = Object.keys(LABELS);
  const position = (n: string) => (rank.includes(n) ? rank.indexOf(n) : rank.length);
  return [...names].sort((a, b) => position(a) - position(b) || a.localeCompare(b));
}

/** A final metric in its own unit: a duration, a yes/no, a count, or a measured value. */
export function formatFinalMetric(name: string, value: number | null): string {
  if (value === null) return '—';
  if (name === 'seconds') return formatDuration(value);
  if (name === 'stopped_early') return value ? 'yes' : 'no';
  if (name === 'steps' || name === 'best_step') return value.toLocaleString();
  return formatMetric(value);
}

export function methodLabel(method: string): string {
  return method === 'lora' ? 'LoRA' : method === 'full' ? 'Full fine-tune' : method;
}
