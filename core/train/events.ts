// What a training run reports while it runs: printed one JSON object per line by
// `tunesmith train --json-events`, streamed to the app's run page, and recorded in the store.
import type { DatasetStats } from '../data/dataset';

export type TrainEvent =
  /** estimated_peak_bytes: the memory estimate for this config at its longest example, known before the first step. */
  | { event: 'start'; backend: string; resumed_from: string | null; method: 'full' | 'lora'; total_steps: number; trainable_parameters: number; data_format: string; train: DatasetStats; validation: DatasetStats | null; estimated_peak_bytes: number }
  /** tokens_seen: non-padding tokens trained on since the run began, resumed parts included. */
  | { event: 'step'; step: number; epoch: number; loss: number; grad_norm: number; learning_rate: number; tokens_per_second: number; tokens_seen: number }
  | { event: 'eval'; step: number; epoch: number; eval_loss: number; perplexity: number }
  | { event: 'sample'; step: number; prompt: string; output: string }
  /** eval_loss when this step was evaluated; is_best when that is the run's best so far. */
  | { event: 'checkpoint'; step: number; path: string; eval_loss: number | null; is_best: boolean }
  | {
      event: 'done';
      step: number;
      output_dir: string;
      /** The mean of every step's loss, the whole run's (HF's train_loss). */
      train_loss: number;
      /** The last optimizer step's loss; null when this process ran no step (a resume of a finished run). */
      last_loss: number | null;
      /** The step whose weights the result holds: the best evaluation's when they were restored, else the last. */
      result_step: number;
      /** Of the exported weights, when they were evaluated. */
      eval_loss: number | null;
      seconds: number;
      stopped_early: boolean;
      best_step: number | null;
      /** This process's peak RSS. */
      measured_peak_bytes: number;
      /** Peak of the bytes held by tensors, sampled after each backward pass and optimizer update. */
      measured_tensor_peak_bytes: number;
      /** What the memory estimate predicted for this config; null until there is one. */
      estimated_peak_bytes: number;
    };
