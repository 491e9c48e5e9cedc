// The training loop: Hugging Face Trainer semantics (steps, accumulation, schedule,
// clipping, AdamW with decay groups) over Tunesmith's models, datasets and exports.
import path from 'node:path';
import { readChatTemplate } from '../data/chat-template';
import { batches, epochOrder, padBatch, splitValidation, type Batch } from '../data/batching';
import { loadDataset, type Dataset, type DatasetStats } from '../data/dataset';
import { labelTokens } from '../data/tokenize';
import { initBackend, tf } from '../engine/backend';
import type { CausalLM } from '../models/causal-lm';
import { createLoraLayers, loadAdapter } from '../models/lora';
import { loadModel } from '../models/load';
import type { ForwardOptions } from '../models/weights';
import { causalLmLossSum } from '../ops/cross-entropy';
import { loadTokenizer } from '../tokenizer/tokenizer';
import { AdamW, clipGradNorm, type TrainableParam } from './adamw';
import { ConfigFieldError, totalOptimizerSteps, warmupSteps, type TrainConfig } from './config';
import type { TrainEvent } from './events';
import { exportAdapterFolder, exportModelFolder, type AdapterSpec } from './export';
import { learningRateAt } from './schedules';
import { accumulateGradients, countLabelTokens } from './step';
import { makeFullTrainable, makeLoraTrainable } from './trainables';

export type EventSink = (event: TrainEvent) => void;

/** config.dropout replaces every dropout probability of the model's config. */
function applyDropoutOverride(model: CausalLM, dropout: number | null): void {
  if (dropout === null) return;
  Object.assign(model.config, { embdDropout: dropout, residDropout: dropout, attnDropout: dropout });
}

/** tf.dropout with a fresh, reproducible seed per call, derived from the run's seed. */
function seededDropout(seed: number): (x: tf.Tensor, rate: number) => tf.Tensor {
  let calls = 0;
  return (x, rate) => tf.dropout(x, rate, undefined, seed * 1_000_003 + calls++);
}

interface Data {
  train: Dataset['examples'];
  validation: Dataset['examples'];
  trainStats: DatasetStats;
  validationStats: DatasetStats | null;
}

function loadData(config: TrainConfig, model: string): Data {
  const tokenizer = loadTokenizer(model);
  const options = {
    format: config.data.format,
    template: config.data.template,
    max_length: config.data.max_length,
    packing: config.data.packing,
    train_on_prompt: config.data.train_on_prompt,
    chat_template: readChatTemplate(model),
  };
  const train = loadDataset({ ...options, path: config.data.train }, tokenizer);
  if (config.data.validation) {
    const validation = loadDataset({ ...options, path: config.data.validation }, tokenizer);
    return { train: train.examples, validation: validation.examples, trainStats: train.stats, validationStats: validation.stats };
  }
  const split = splitValidation(train.examples, config.data.validation_split, config.seed);
  if (split.validation.length === 0) return { train: split.train, validation: [], trainStats: train.stats, validationStats: null };
  // Truncation and skips happened before the split; they stay with the file's training part.
  return { train: split.train, validation: split.validation, trainStats: { ...train.stats, ...countTokens(split.train) }, validationStats: { truncated: 0, skipped: 0, ...countTokens(split.validation) } };
}

function countTokens(examples: Data['train']): Pick<DatasetStats, 'examples' | 'tokens' | 'label_tokens'> {
  return {
    examples: examples.length,
    tokens: examples.reduce((n, e) => n + e.input_ids.length, 0),
    label_tokens: examples.reduce((n, e) => n + labelTokens(e), 0),
  };
}

/** Token-weighted mean loss over a whole set, without dropout. */
function evaluate(model: CausalLM, examples: Data['validation'], batchSize: number, padId: number, forward: ForwardOptions): number {
  let sum = 0;
  let tokens = 0;
  for (const idx of batches(examples.map((_, i) => i), batchSize)) {
    const batch = padBatch(idx.map((i) => examples[i]), padId);
    sum += tf.tidy(() => {
      const { logits } = model.forward(tf.tensor2d(batch.input_ids, undefined, 'int32'), {
        ...forward,
        dropout: undefined,
        attentionMask: tf.tensor2d(batch.attention_mask, undefined, 'int32'),
      });
      return causalLmLossSum(logits, batch.labels).sum.dataSync()[0];
    });
    tokens += countLabelTokens(batch);
  }
  return sum / tokens;
}

export async function runTraining(config: TrainConfig, emit: EventSink): Promise<void> {
  const started = performance.now();
  const { name: backend } = await initBackend();
  const { model } = loadModel(config.model);
  applyDropoutOverride(model, config.dropout);
  const tokenizer = loadTokenizer(config.model);
  const padId = tokenizer.padId ?? model.config.eosTokenId ?? 0;
  const data = loadData(config, config.model);
  // Found now, not at the first long batch minutes into the run.
  const positions = model.config.maxPositions;
  const longest = [...data.train, ...data.validation].reduce((n, e) => Math.max(n, e.input_ids.length), 0);
  if (positions !== null && longest > positions) {
    throw new ConfigFieldError(`"data.max_length" is ${config.data.max_length}, and examples up to ${longest} tokens result, but this model has only ${positions} positions; use ${positions} or less`);
  }

  let params: TrainableParam[];
  const forward: ForwardOptions = { dropout: seededDropout(config.seed) };
  let adapterSpec: AdapterSpec | undefined;
  if (config.method === 'full') {
    params = makeFullTrainable(model);
  } else {
    // An init_adapter brings its own rank, alpha and targets; otherwise the config's apply.
    const init = config.lora.init_adapter ? loadAdapter(config.lora.init_adapter, model) : undefined;
    const targets = config.lora.target_modules ?? [model.arch.loraTargets[0]];
    const lora = init?.layers ?? createLoraLayers(model, targets, config.lora.r, config.lora.alpha, config.seed);
    adapterSpec = {
      r: init?.r ?? config.lora.r,
      alpha: init?.alpha ?? config.lora.alpha,
      dropout: config.lora.dropout,
      targetModules: init ? [init.targetModules].flat() : targets,
      fanInFanOut: model.arch.fanInFanOut,
      baseModel: config.model,
    };
    params = makeLoraTrainable(lora);
    Object.assign(forward, { lora, loraDropout: config.lora.dropout });
  }

  const totalSteps = totalOptimizerSteps(config, data.train.length);
  const schedule = { name: config.lr_scheduler_type, peakLr: config.learning_rate, warmupSteps: warmupSteps(config, totalSteps), totalSteps };
  const optimizer = new AdamW(params, { beta1: config.adam_beta1, beta2: config.adam_beta2, eps: config.adam_epsilon, weightDecay: config.weight_decay });
  emit({
    event: 'start',
    backend,
    method: config.method,
    total_steps: totalSteps,
    trainable_parameters: params.reduce((n, p) => n + p.variable.size, 0),
    train: data.trainStats,
    validation: data.validationStats,
  });

  const stepsPerEpoch = Math.max(1, Math.ceil(Math.ceil(data.train.length / config.per_device_train_batch_size) / config.gradient_accumulation_steps));
  const window: { loss: number; norm: number; tokens: number; seconds: number }[] = [];
  let step = 0;
  let lossSum = 0;
  for (let epoch = 0; step < totalSteps; epoch++) {
    const micro = batches(epochOrder(data.train.length, epoch, config.seed, config.shuffle), config.per_device_train_batch_size);
    for (let i = 0; i < micro.length && step < totalSteps; i += config.gradient_accumulation_steps) {
      const t0 = performance.now();
      const group: Batch[] = micro.slice(i, i + config.gradient_accumulation_steps).map((idx) => padBatch(idx.map((k) => data.train[k]), padId));
      const lr = learningRateAt(schedule, step);
      const { loss, grads } = accumulateGradients(model, params, group, forward);
      const norm = clipGradNorm(grads, config.max_grad_norm);
      optimizer.apply(grads, lr);
      tf.dispose([...grads.values()]);
      step++;
      lossSum += loss;
      const tokens = group.reduce((n, b) => n + b.attention_mask.flat().reduce((a, m) => a + m, 0), 0);
      window.push({ loss, norm, tokens, seconds: (performance.now() - t0) / 1000 });
      const fractionalEpoch = epoch + Math.min(1, (i / config.gradient_accumulation_steps + 1) / stepsPerEpoch);
      if (step % config.logging_steps === 0 || step === totalSteps) {
        const n = window.length;
        emit({
          event: 'step',
          step,
          epoch: fractionalEpoch,
          loss: window.reduce((s, w) => s + w.loss, 0) / n,
          grad_norm: window.reduce((s, w) => s + w.norm, 0) / n,
          learning_rate: lr,
          tokens_per_second: window.reduce((s, w) => s + w.tokens, 0) / window.reduce((s, w) => s + w.seconds, 0),
        });
        window.length = 0;
      }
      const evalNow = data.validation.length > 0 && ((config.eval_steps > 0 && step % config.eval_steps === 0) || step === totalSteps);
      if (evalNow) {
        const evalLoss = evaluate(model, data.validation, config.per_device_eval_batch_size, padId, forward);
        emit({ event: 'eval', step, epoch: fractionalEpoch, eval_loss: evalLoss, perplexity: Math.exp(evalLoss) });
      }
    }
  }

  const finalDir = path.join(config.output_dir, 'final');
  if (adapterSpec) exportAdapterFolder(forward.lora!, adapterSpec, finalDir);
  else exportModelFolder(model, config.model, finalDir);
  optimizer.dispose();
  if (adapterSpec) tf.dispose(params.map((p) => p.variable));
  model.dispose();
  emit({ event: 'done', step, output_dir: finalDir, train_loss: lossSum / Math.max(1, step), seconds: (performance.now() - started) / 1000 });
}
