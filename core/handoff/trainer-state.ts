// Hugging Face Trainer's trainer_state.json, read as Tunesmith's curves: each log_history
// entry's values go to the store unchanged, under the names Tunesmith's own runs use.
import { TOKENS_METRIC } from '../store/compare';

/** The tag an imported run carries: its checkpoints and curves came from Trainer, not from this engine. */
export const IMPORTED_TAG = 'imported';

export class TrainerStateError extends Error {}

export interface ImportedPoint {
  step: number;
  epoch: number | null;
  values: Record<string, number>;
}

export interface ImportedState {
  points: ImportedPoint[];
  finalMetrics: Record<string, number>;
  globalStep: number;
  /** e.g. "output/checkpoint-40", as Trainer wrote it; null without load_best_model_at_end. */
  bestModelCheckpoint: string | null;
  trainBatchSize: number | null;
  maxSteps: number | null;
}

/** log_history key → the metric name Tunesmith's runs record it under. */
const STEP_KEYS: Record<string, string> = { loss: 'loss', grad_norm: 'grad_norm', learning_rate: 'learning_rate', num_input_tokens_seen: TOKENS_METRIC };

function numberField(entry: Record<string, unknown>, key: string, where: string): number | undefined {
  const v = entry[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number') throw new TrainerStateError(`${where}: "${key}" must be a number (got ${JSON.stringify(v)})`);
  return v;
}

export function parseTrainerState(raw: unknown, file: string): ImportedState {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new TrainerStateError(`${file}: must be a JSON object`);
  const state = raw as Record<string, unknown>;
  if (!Array.isArray(state.log_history)) throw new TrainerStateError(`${file}: "log_history" must be a list`);
  const globalStep = state.global_step;
  if (!Number.isInteger(globalStep) || (globalStep as number) < 0) throw new TrainerStateError(`${file}: "global_step" must be a whole number ≥ 0`);
  const points: ImportedPoint[] = [];
  let summary: Record<string, unknown> | null = null;
  let lastEval: { step: number; loss: number } | null = null;
  state.log_history.forEach((item, i) => {
    const where = `${file}: log_history[${i}]`;
    if (typeof item !== 'object' || item === null || Array.isArray(item)) throw new TrainerStateError(`${where}: must be an object`);
    const entry = item as Record<string, unknown>;
    const step = entry.step;
    if (!Number.isInteger(step) || (step as number) < 0) throw new TrainerStateError(`${where}: "step" must be a whole number ≥ 0 (got ${JSON.stringify(step)})`);
    const epoch = numberField(entry, 'epoch', where) ?? null;
    // The closing entry holds the run's totals, not a point of a curve.
    if ('train_loss' in entry) {
      summary = entry;
      return;
    }
    const values: Record<string, number> = {};
    if ('loss' in entry) {
      for (const [key, name] of Object.entries(STEP_KEYS)) {
        const v = numberField(entry, key, where);
        if (v !== undefined) values[name] = v;
      }
    }
    const evalLoss = numberField(entry, 'eval_loss', where);
    if (evalLoss !== undefined) {
      Object.assign(values, { eval_loss: evalLoss, perplexity: Math.exp(evalLoss) });
      lastEval = { step: step as number, loss: evalLoss };
    }
    if (Object.keys(values).length > 0) points.push({ step: step as number, epoch, values });
  });

  const finalMetrics: Record<string, number> = { steps: globalStep as number };
  const s = summary as Record<string, unknown> | null;
  if (s) {
    const trainLoss = numberField(s, 'train_loss', `${file}: log_history (summary)`);
    const seconds = numberField(s, 'train_runtime', `${file}: log_history (summary)`);
    if (trainLoss !== undefined) finalMetrics.train_loss = trainLoss;
    if (seconds !== undefined) finalMetrics.seconds = seconds;
  }
  const bestModelCheckpoint = typeof state.best_model_checkpoint === 'string' ? state.best_model_checkpoint : null;
  const bestStep = typeof state.best_global_step === 'number' ? state.best_global_step : null;
  // With load_best_model_at_end the saved model is the best one, and its eval loss is the run's.
  const best = bestModelCheckpoint !== null && typeof state.best_metric === 'number' ? state.best_metric : null;
  const evalLoss = best ?? (lastEval as { step: number; loss: number } | null)?.loss ?? null;
  if (evalLoss !== null) Object.assign(finalMetrics, { eval_loss: evalLoss, perplexity: Math.exp(evalLoss) });
  if (bestStep !== null) finalMetrics.best_step = bestStep;
  return {
    points,
    finalMetrics,
    globalStep: globalStep as number,
    bestModelCheckpoint,
    trainBatchSize: typeof state.train_batch_size === 'number' ? state.train_batch_size : null,
    maxSteps: typeof state.max_steps === 'number' ? state.max_steps : null,
  };
}
