// The wizard's memory check: the estimate for the draft at the length its data needs, and
// each suggestion as the config fields to change.
import fs from 'node:fs';
import type { EstimateSuggestion, MemoryEstimateView, RunCheck } from '../api/contract';
import { defaultBackend } from '../memory/coefficients';
import { deviceVerdict, type GpuLimits } from '../memory/device';
import type { TrainingShape } from '../memory/estimate';
import { modelConfigForEstimate } from '../memory/model-config';
import { preflight, type DataFacts } from '../memory/preflight';
import { estimateForTrainConfig } from '../memory/train-config';
import { loadTokenizer } from '../tokenizer/tokenizer';
import type { TrainConfig } from '../train/config';
import { loadTrainingData } from '../train/trainer';
import { withField } from './request-checks';
import { bf16KernelPresent } from '../ops/bf16';

/** Up to this much data is tokenized to find its longest example; beyond, it would keep the wizard waiting. */
export const QUICK_DATA_BYTES = 4 * 2 ** 20;

/** The data's counts as the trainer will see them, or null when the data is too big to read now. */
export function quickDataFacts(config: TrainConfig): DataFacts | null {
  const files = [config.data.train, config.data.validation].filter((f): f is string => f !== null);
  if (files.reduce((n, f) => n + fs.statSync(f).size, 0) > QUICK_DATA_BYTES) return null;
  const data = withField('config.data.train', () => loadTrainingData(config, loadTokenizer(config.model)));
  const longestTokens = [...data.train, ...data.validation].reduce((n, e) => Math.max(n, e.input_ids.length), 0);
  // No examples leaves nothing to measure; the run itself will say why.
  return longestTokens > 0 ? { trainExamples: data.train.length, longestTokens } : null;
}

type ShapeKnobs = Pick<TrainingShape, 'method' | 'batch' | 'seq' | 'gradientAccumulation' | 'bf16'>;

/** The config fields (dotted) that turn `from` into `to`. */
export function suggestionPatch(from: ShapeKnobs, to: ShapeKnobs): EstimateSuggestion['patch'] {
  const patch: EstimateSuggestion['patch'] = {};
  if ((to.bf16 ?? false) !== (from.bf16 ?? false)) patch.bf16 = to.bf16 ?? false;
  if (to.method !== from.method) patch.method = to.method;
  if (to.batch !== from.batch) patch.per_device_train_batch_size = to.batch;
  if ((to.gradientAccumulation ?? 1) !== (from.gradientAccumulation ?? 1)) patch.gradient_accumulation_steps = to.gradientAccumulation ?? 1;
  if (to.seq !== from.seq) patch['data.max_length'] = to.seq;
  return patch;
}

/**
 * The estimate for what the run will really hold: rows padded to the longest example, not
 * max_length, and a batch no larger than the training examples (a batch of 4096 over 54
 * examples holds 54). `gpu`: the adapter the run will train on, where it will (the webgpu
 * backend's coefficients, compared with the GPU's memory and binding limit); else this
 * process's CPU engine.
 */
export function estimateConfigMemory(config: TrainConfig, { facts = quickDataFacts(config), gpu }: { facts?: DataFacts | null; gpu?: GpuLimits } = {}): MemoryEstimateView {
  const model = withField('config.model', () => modelConfigForEstimate(config.model));
  const seq = Math.min(config.data.max_length, facts?.longestTokens ?? Infinity, model.maxPositions ?? Infinity);
  const batch = Math.min(config.per_device_train_batch_size, facts?.trainExamples ?? Infinity);
  const held = { ...config, per_device_train_batch_size: batch, data: { ...config.data, max_length: seq } };
  // On the GPU no CPU bf16 kernel applies.
  const engine = gpu ? { backend: 'webgpu' as const, gpu, bf16Kernel: false } : { backend: defaultBackend(), bf16Kernel: bf16KernelPresent() };
  const e = estimateForTrainConfig(held, model, engine);
  const asked: ShapeKnobs = { method: config.method, batch, seq, gradientAccumulation: config.gradient_accumulation_steps, bf16: config.bf16 };
  const suggestions: EstimateSuggestion[] = e.suggestions.map((s) => ({
    change: s.change,
    patch: suggestionPatch(asked, s.shape),
    totalBytes: s.estimate.totalBytes,
    band: s.estimate.band,
  }));
  return {
    backend: e.backend,
    band: e.band,
    totalBytes: e.totalBytes,
    ramBytes: e.ramBytes,
    gpu: e.device && deviceVerdict(e.device, e.band),
    components: e.components,
    trainableParameters: e.trainableParameters,
    seq,
    batch,
    suggestions,
  };
}

/** The pre-flight check (core/memory/preflight.ts) on the model's config.json and the data's real counts. */
export function checkConfig(config: TrainConfig, facts = quickDataFacts(config)): RunCheck {
  const model = withField('config.model', () => modelConfigForEstimate(config.model));
  return { ...preflight(config, model, facts), examples: facts?.trainExamples ?? null };
}
