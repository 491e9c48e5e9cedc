// The training loop: Hugging Face Trainer semantics (steps, accumulation, schedule,
// clipping, AdamW with decay groups) over Tunesmith's models, datasets and exports.
import path from 'node:path';
import { readChatTemplate } from '../data/chat-template';
import { batches, epochOrder, padBatch, splitValidation, type Batch } from '../data/batching';
import { loadDataset, type Dataset, type DatasetStats } from '../data/dataset';
import { labelTokens } from '../data/tokenize';
import { describeBackend, initBackend, tf } from '../engine/backend';
import { estimateForTrainConfig } from '../memory/train-config';
import type { CausalLM } from '../models/causal-lm';
import { createLoraLayers, loadAdapter } from '../models/lora';
import { loadModel, loadModelConfig } from '../models/load';
import type { ForwardOptions } from '../models/weights';
import { bf16Refusal } from '../ops/bf16';
import { causalLmLossSum } from '../ops/cross-entropy';
import type { DropoutCall, DropoutStream } from '../ops/dropout';
import { loadTokenizer, type TextTokenizer } from '../tokenizer/tokenizer';
import { AdamW, clipGradNorm, type TrainableParam } from './adamw';
import { ConfigFieldError, totalOptimizerSteps, warmupSteps, type TrainConfig } from './config';
import type { TrainEvent } from './events';
import { exportAdapterFolder, exportModelFolder, type AdapterSpec } from './export';
import { learningRateAt } from './schedules';
import { accumulateGradients, countLabelTokens } from './step';
import { finalDir, pruneCheckpoints, readTrainerState, resolveCheckpoint, restoreCheckpoint, saveCheckpoint, type TrainerState } from './checkpoint';
import { generate } from '../generate/generate';
import { partialName } from '../durable-write';
import { refuseNonFiniteWeights } from '../models/finite-weights';
import { prepareRunFolder, recordRunEntry } from './run-folder';
import { lockRunFolder } from './run-lock';
import { makeFullTrainable, makeLoraTrainable, keepFrozenBaseInBf16 } from './trainables';

export type EventSink = (event: TrainEvent) => void;

/** config.dropout replaces every dropout probability of the model's config. */
function applyDropoutOverride(model: CausalLM, dropout: number | null): void {
  if (dropout === null) return;
  Object.assign(model.config, { embdDropout: dropout, residDropout: dropout, attnDropout: dropout });
}

/** Dropout with the run's seed and a call counter (core/ops/dropout.ts); `calls` is checkpointed so a resume continues the stream. */
export class SeededDropout implements DropoutStream {
  constructor(
    private readonly seed: number,
    public calls: number,
  ) {}
  readonly draw = (rate: number): DropoutCall => ({ rate, seed: this.seed, call: this.calls++ });
}

export interface TrainingData {
  format: Dataset['format'];
  train: Dataset['examples'];
  validation: Dataset['examples'];
  trainStats: DatasetStats;
  validationStats: DatasetStats | null;
}

/** The config's data as the trainer reads it: templated, tokenized and split (the memory estimate measures it too). */
export function loadTrainingData(config: TrainConfig, tokenizer: TextTokenizer): TrainingData {
  const options = {
    format: config.data.format,
    template: config.data.template,
    max_length: config.data.max_length,
    packing: config.data.packing,
    train_on_prompt: config.data.train_on_prompt,
    prompt_column: config.data.prompt_column,
    response_column: config.data.response_column,
    chat_template: readChatTemplate(config.model),
    vocab_size: loadModelConfig(config.model).vocabSize,
  };
  const train = loadDataset({ ...options, path: config.data.train }, tokenizer);
  if (config.data.validation) {
    const validation = loadDataset({ ...options, path: config.data.validation }, tokenizer);
    return { format: train.format, train: train.examples, validation: validation.examples, trainStats: train.stats, validationStats: validation.stats };
  }
  const split = splitValidation(train.examples, config.data.validation_split, config.seed);
  if (split.validation.length === 0) return { format: train.format, train: split.train, validation: [], trainStats: train.stats, validationStats: null };
  // Truncation and skips happened before the split; they stay with the file's training part.
  return {
    format: train.format,
    train: split.train,
    validation: split.validation,
    trainStats: { ...train.stats, ...countTokens(split.train) },
    validationStats: { truncated: 0, skipped: 0, ...countTokens(split.validation) },
  };
}

function countTokens(examples: TrainingData['train']): Pick<DatasetStats, 'examples' | 'tokens' | 'label_tokens'> {
  return {
    examples: examples.length,
    tokens: examples.reduce((n, e) => n + e.input_ids.length, 0),
    label_tokens: examples.reduce((n, e) => n + labelTokens(e), 0),
  };
}

/** Token-weighted mean loss over a whole set, without dropout. */
function evaluate(model: CausalLM, examples: TrainingData['validation'], batchSize: number, padId: number, forward: ForwardOptions): number {
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

export interface RunOptions {
  /** A checkpoint folder (or a run folder: its latest checkpoint) to continue from. */
  resumeFrom?: string;
  /** Stops the run between optimizer steps, saving a checkpoint there; the run then rejects with the signal's reason. */
  signal?: AbortSignal;
  /** The store's run, named in the run folder's lock so a second process is told whose it is. */
  runId?: string;
}

/**
 * Trains `config`, holding its output folder's lock throughout. The folder is checked (and
 * created) before anything is loaded, so a folder that cannot take the result fails now,
 * not after the training.
 */
export async function runTraining(config: TrainConfig, emit: EventSink, options: RunOptions = {}): Promise<void> {
  prepareRunFolder(config.output_dir);
  const lock = lockRunFolder(config.output_dir, 'training', options.runId ?? null);
  try {
    await trainInLockedFolder(config, emit, options);
  } finally {
    lock.release();
  }
}

async function trainInLockedFolder(config: TrainConfig, emit: EventSink, options: RunOptions): Promise<void> {
  const started = performance.now();
  // Sampled where tensors pile up (after backward, after the update): a tf.memory() read, no profiling.
  let tensorPeak = 0;
  const sampleTensorBytes = () => {
    tensorPeak = Math.max(tensorPeak, tf.memory().numBytes);
  };
  const choice = await initBackend();
  const backend = choice.name;
  const bf16Problem = config.bf16 ? bf16Refusal() : null;
  if (bf16Problem) throw new ConfigFieldError(`"bf16" cannot be used on this computer: ${bf16Problem}`);
  const { model } = loadModel(config.model);
  refuseNonFiniteWeights(model, config.model);
  applyDropoutOverride(model, config.dropout);
  const tokenizer = loadTokenizer(config.model);
  const padId = tokenizer.padId ?? model.config.eosTokenId ?? 0;
  const data = loadTrainingData(config, tokenizer);
  // Found now, not at the first long batch minutes into the run.
  const positions = model.config.maxPositions;
  const longest = [...data.train, ...data.validation].reduce((n, e) => Math.max(n, e.input_ids.length), 0);
  // Batches are padded to their longest row, so the longest example bounds the sequence;
  // and a batch holds at most the training examples there are.
  const held = { per_device_train_batch_size: Math.max(1, Math.min(config.per_device_train_batch_size, data.train.length)), data: { ...config.data, max_length: Math.min(config.data.max_length, longest) } };
  const estimate = estimateForTrainConfig({ ...config, ...held }, model.config, { backend, gpu: choice.adapter });
  if (positions !== null && longest > positions) {
    throw new ConfigFieldError(`"data.max_length" is ${config.data.max_length}, and examples up to ${longest} tokens result, but this model has only ${positions} positions; use ${positions} or less`);
  }

  let params: TrainableParam[];
  const checkpoint = options.resumeFrom ? resolveCheckpoint(options.resumeFrom) : null;
  const state: TrainerState = checkpoint
    ? { ...readTrainerState(checkpoint), config }
    : { step: 0, epoch: 0, microIndex: 0, dropoutCalls: 0, lossSum: 0, best: null, evalsWithoutImprovement: 0, tokensSeen: 0, config };
  const dropout = new SeededDropout(config.seed, state.dropoutCalls);
  const forward: ForwardOptions = { dropout, bf16: config.bf16 };
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
    if (config.bf16) keepFrozenBaseInBf16(model);
    Object.assign(forward, { lora, loraDropout: config.lora.dropout });
  }

  const totalSteps = totalOptimizerSteps(config, data.train.length);
  const schedule = { name: config.lr_scheduler_type, peakLr: config.learning_rate, warmupSteps: warmupSteps(config, totalSteps), totalSteps };
  const optimizer = new AdamW(params, { beta1: config.adam_beta1, beta2: config.adam_beta2, eps: config.adam_epsilon, weightDecay: config.weight_decay });
  if (checkpoint) restoreCheckpoint(checkpoint, params, optimizer);
  sampleTensorBytes();
  emit({
    event: 'start',
    // The run record names the GPU it trained on, not only the backend.
    backend: describeBackend(choice),
    resumed_from: checkpoint,
    method: config.method,
    total_steps: totalSteps,
    trainable_parameters: params.reduce((n, p) => n + p.variable.size, 0),
    data_format: data.format,
    train: data.trainStats,
    validation: data.validationStats,
    estimated_peak_bytes: estimate.totalBytes,
  });

  const stepsPerEpoch = Math.max(1, Math.ceil(Math.ceil(data.train.length / config.per_device_train_batch_size) / config.gradient_accumulation_steps));
  const window: { loss: number; norm: number; tokens: number; seconds: number }[] = [];
  let lastEval: { step: number; loss: number } | null = null;
  const save = () => {
    state.dropoutCalls = dropout.calls;
    const dir = saveCheckpoint(config.output_dir, state, params, optimizer);
    pruneCheckpoints(config.output_dir, config.save_total_limit, state.best?.step ?? null);
    const evalLoss = lastEval?.step === state.step ? lastEval.loss : null;
    emit({ event: 'checkpoint', step: state.step, path: dir, eval_loss: evalLoss, is_best: state.best?.step === state.step });
    return dir;
  };
  let stoppedEarly = false;
  // The best weights must be on disk to be restored at the end: early stopping and load_best_model_at_end both restore them.
  const keepBest = data.validation.length > 0 && (config.early_stopping_patience !== null || config.load_best_model_at_end);
  let lastLoss: number | null = null;
  let savedAt = checkpoint ? state.step : -1;
  const evalForward: ForwardOptions = { ...forward, dropout: undefined };
  const epochBatches = { epoch: -1, micro: [] as number[][] };
  while (state.step < totalSteps && !stoppedEarly) {
    // Lets signal handlers (and the app's stop button) run between steps.
    await new Promise(setImmediate);
    if (options.signal?.aborted) {
      // A stop is a pause: the steps done since the last checkpoint are kept for a resume.
      if (state.step > 0 && savedAt !== state.step) save();
      options.signal.throwIfAborted();
    }
    const epoch = state.epoch;
    if (epochBatches.epoch !== epoch) {
      Object.assign(epochBatches, { epoch, micro: batches(epochOrder(data.train.length, epoch, config.seed, config.shuffle), config.per_device_train_batch_size) });
    }
    const micro = epochBatches.micro;
    const i = state.microIndex;
    if (i >= micro.length) {
      Object.assign(state, { epoch: epoch + 1, microIndex: 0 });
      continue;
    }
    const t0 = performance.now();
    const group: Batch[] = micro.slice(i, i + config.gradient_accumulation_steps).map((idx) => padBatch(idx.map((k) => data.train[k]), padId));
    const lr = learningRateAt(schedule, state.step);
    const { loss, grads } = accumulateGradients(model, params, group, forward);
    sampleTensorBytes();
    const { norm, scale } = clipGradNorm(grads, config.max_grad_norm);
    optimizer.apply(grads, lr, scale);
    sampleTensorBytes();
    tf.dispose([...grads.values()]);
    state.step++;
    state.lossSum += loss;
    lastLoss = loss;
    state.microIndex = i + config.gradient_accumulation_steps;
    const step = state.step;
    const tokens = group.reduce((n, b) => n + b.attention_mask.flat().reduce((a, m) => a + m, 0), 0);
    state.tokensSeen = (state.tokensSeen ?? 0) + tokens;
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
        tokens_seen: state.tokensSeen,
      });
      window.length = 0;
    }
    const evalNow = (config.eval_steps > 0 && step % config.eval_steps === 0) || step === totalSteps;
    if (evalNow && data.validation.length > 0) {
      const evalLoss = evaluate(model, data.validation, config.per_device_eval_batch_size, padId, evalForward);
      lastEval = { step, loss: evalLoss };
      emit({ event: 'eval', step, epoch: fractionalEpoch, eval_loss: evalLoss, perplexity: Math.exp(evalLoss) });
      if (!state.best || evalLoss < state.best.evalLoss) {
        state.best = { step, evalLoss };
        state.evalsWithoutImprovement = 0;
        if (keepBest) {
          save();
          savedAt = step;
        }
      } else if (config.early_stopping_patience !== null && ++state.evalsWithoutImprovement >= config.early_stopping_patience) {
        stoppedEarly = true;
      }
    }
    if (evalNow) {
      for (const prompt of config.sample_prompts) {
        const ids = generate(model, tokenizer.encode(prompt), { maxNewTokens: 32, greedy: true, eosId: tokenizer.special.eos, forward: evalForward });
        emit({ event: 'sample', step, prompt, output: tokenizer.decode(ids, true) });
      }
    }
    if (config.save_steps > 0 && step % config.save_steps === 0 && savedAt !== step) {
      save();
      savedAt = step;
    }
  }

  // A checkpoint at the end lets `--resume` extend a finished run with more epochs.
  if (config.save_steps > 0 && savedAt !== state.step) save();
  const best = state.best;
  const restoreBest = keepBest && best !== null && best.step !== state.step;
  if (restoreBest) restoreCheckpoint(path.join(config.output_dir, `checkpoint-${best.step}`), params);
  const result = finalDir(config.output_dir);
  for (const name of [path.basename(result), path.basename(partialName(result))]) recordRunEntry(config.output_dir, name);
  if (adapterSpec) exportAdapterFolder(forward.lora!, adapterSpec, result);
  else exportModelFolder(model, config.model, result, config.save_dtype);
  optimizer.dispose();
  if (adapterSpec) tf.dispose(params.map((p) => p.variable));
  model.dispose();
  emit({
    event: 'done',
    step: state.step,
    output_dir: result,
    train_loss: state.lossSum / Math.max(1, state.step),
    last_loss: lastLoss,
    result_step: restoreBest ? best.step : state.step,
    eval_loss: restoreBest ? best.evalLoss : lastEval?.step === state.step ? lastEval.loss : null,
    seconds: (performance.now() - started) / 1000,
    stopped_early: stoppedEarly,
    best_step: best?.step ?? null,
    measured_peak_bytes: process.resourceUsage().maxRSS * 1024,
    measured_tensor_peak_bytes: tensorPeak,
    estimated_peak_bytes: estimate.totalBytes,
  });
}
