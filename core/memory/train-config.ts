// The estimate for a training config, read the way the trainer reads it.
import type { BackendName } from '../engine/backend';
import type { GpuLimits } from './device';
import type { ModelConfig } from '../models/config';
import type { TrainConfig } from '../train/config';
import { estimateTrainingMemory, type TrainingEstimate } from './suggestions';

/**
 * Rows are padded to the longest in their batch, so data.max_length (capped by the
 * model's positions) is the worst case. An init_adapter brings its own rank and targets;
 * the config's lora settings stand in for them here.
 */
export function estimateForTrainConfig(config: TrainConfig, model: ModelConfig, options: { backend?: BackendName; ramBytes?: number; gpu?: GpuLimits; bf16Kernel?: boolean } = {}): TrainingEstimate {
  const rate = (own: number) => config.dropout ?? own;
  return estimateTrainingMemory({
    model,
    method: config.method,
    lora: { r: config.lora.r, targetModules: config.lora.target_modules, dropout: config.lora.dropout },
    batch: config.per_device_train_batch_size,
    seq: Math.min(config.data.max_length, model.maxPositions ?? Infinity),
    gradientAccumulation: config.gradient_accumulation_steps,
    dropout: { embedding: rate(model.embdDropout), residual: rate(model.residDropout), attention: rate(model.attnDropout) },
    weightDecay: config.weight_decay,
    bf16: config.bf16,
    ...options,
  });
}
