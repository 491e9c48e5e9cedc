// What a training run reports while it runs: printed one JSON object per line by
// `tunesmith train --json-events`, and streamed to the app's run page.
import type { DatasetStats } from '../data/dataset';

export type TrainEvent =
  | { event: 'start'; backend: string; resumed_from: string | null; method: 'full' | 'lora'; total_steps: number; trainable_parameters: number; train: DatasetStats; validation: DatasetStats | null }
  | { event: 'step'; step: number; epoch: number; loss: number; grad_norm: number; learning_rate: number; tokens_per_second: number }
  | { event: 'eval'; step: number; epoch: number; eval_loss: number; perplexity: number }
  | { event: 'sample'; step: number; prompt: string; output: string }
  | { event: 'checkpoint'; step: number; path: string }
  | { event: 'done'; step: number; output_dir: string; train_loss: number; seconds: number; stopped_early: boolean; best_step: number | null };
