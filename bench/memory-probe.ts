// Derives the tensor counts in core/memory/coefficients.ts for the backend in use, by
// watching the engine's buffers through training steps of tiny models whose shape classes
// all differ in size: a buffer's size says what it is. Per-block counts are the difference
// between a 2-block and a 1-block model; the rest belongs outside the blocks.
import { tf } from '../core/engine/backend';
import type { ArchitectureCounts, BlockTensors, ProbedCounts } from '../core/memory/coefficients';
import { parameterShapes } from '../core/memory/parameters';
import { CausalLM } from '../core/models/causal-lm';
import { parseModelConfig, type ModelType } from '../core/models/config';
import { createLoraLayers } from '../core/models/lora';
import { isLayerNormWeight, type ForwardOptions, type Weights } from '../core/models/weights';
import { causalLmLossSum } from '../core/ops/cross-entropy';
import { AdamW } from '../core/train/adamw';
import { keepFrozenBaseInBf16, makeFullTrainable, makeLoraTrainable } from '../core/train/trainables';
import { SeededDropout } from '../core/train/trainer';
import { trackTensorBytes } from './tensor-bytes';

// Batch, positions, width, heads, LoRA rank: small, and every shape class a distinct size.
const [B, T, E, H, R] = [2, 7, 20, 2, 11];
const SMALL_VOCAB = 310;

interface Probe {
  type: ModelType;
  layers: number;
  method: 'full' | 'lora';
  vocab?: number;
  dropout?: { attention?: number; residual?: number; embedding?: number; lora?: number };
  weightDecay?: number;
  /** bf16 autocast, and a LoRA run's frozen base in bf16 where the kernel reads it, as the trainer runs it. */
  bf16?: boolean;
}

type Counts = Record<string, number>;

interface Observed {
  saved: Counts;
  backward: Counts;
  /** The AdamW update's peak beyond what was alive before it (replaced weights and moments are freed). */
  optimizerBytes: number;
  savedBytes: number;
  backwardPeakBytes: number;
}

/** Names a buffer by its size; anything else (row statistics, biases, indices) is ignored. */
function classes(vocab: number): Map<number, string> {
  const sizes: [string, number][] = [
    ['hidden', B * T * E],
    ['qkv', B * T * 3 * E],
    ['mlp', B * T * 4 * E],
    ['scores', B * H * T * T],
    ['mask', B * T * T],
    ['causal', T * T],
    ['logits', B * T * vocab],
    ['rank', B * T * R],
    ['projection', E * 3 * E],
    ['head', vocab * E],
  ];
  const byBytes = new Map(sizes.map(([name, n]) => [4 * n, name]));
  if (byBytes.size !== sizes.length) throw new Error('probe shape classes collide; change the probe dimensions');
  return byBytes;
}

function count(buffers: Iterable<number>, names: Map<number, string>): Counts {
  const counts: Counts = {};
  for (const bytes of buffers) {
    const name = names.get(bytes);
    if (name) counts[name] = (counts[name] ?? 0) + 1;
  }
  // The [T, T] causal constant is part of each block's mask.
  counts.mask = (counts.mask ?? 0) + (counts.causal ?? 0);
  return counts;
}

function observe(p: Probe): Observed {
  const vocab = p.vocab ?? SMALL_VOCAB;
  const raw =
    p.type === 'gpt2'
      ? { model_type: 'gpt2', n_layer: p.layers, n_embd: E, n_head: H, n_positions: 17, vocab_size: vocab }
      : { model_type: 'bloom', n_layer: p.layers, hidden_size: E, n_head: H, vocab_size: vocab };
  const config = parseModelConfig(raw, 'probe');
  const d = p.dropout ?? {};
  Object.assign(config, { attnDropout: d.attention ?? 0, residDropout: d.residual ?? 0, embdDropout: d.embedding ?? 0 });
  const weights: Weights = new Map();
  for (const [name, shape] of parameterShapes(config)) weights.set(name, isLayerNormWeight(name) ? tf.ones(shape) : tf.randomNormal(shape, 0, 0.02, 'float32', weights.size));
  const model = new CausalLM(config, weights);
  const forward: ForwardOptions = { dropout: new SeededDropout(0, 0), loraDropout: d.lora ?? 0, bf16: p.bf16 };
  if (p.method === 'lora') forward.lora = createLoraLayers(model, [model.arch.loraTargets[0]], R, 2 * R, 0);
  const params = forward.lora ? makeLoraTrainable(forward.lora) : makeFullTrainable(model);
  if (forward.lora && p.bf16) keepFrozenBaseInBf16(model);
  const optimizer = new AdamW(params, { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: p.weightDecay ?? 0 });
  const names = classes(vocab);
  const ids = Array.from({ length: B }, (_, b) => Array.from({ length: T }, (_, t) => (b * 7 + t * 13) % vocab));

  const tracker = trackTensorBytes();
  let atPeak: Counts = {};
  tracker.onPeak = () => {
    atPeak = count(tracker.buffers(), names);
  };
  let saved: Counts = {};
  let savedBytes = 0;
  let forwardReturned = false;
  // The forward pass's own tidy frees what nothing saved only after it returns; the first
  // buffer backward allocates (the loss's unit gradient) marks that moment.
  tracker.onAllocate = () => {
    if (!forwardReturned) return;
    forwardReturned = false;
    saved = count(tracker.buffers(), names);
    savedBytes = tracker.live();
  };
  const { value, grads } = tf.variableGrads(() => {
    const { logits } = model.forward(tf.tensor2d(ids, undefined, 'int32'), { ...forward, attentionMask: tf.ones([B, T], 'int32') });
    const loss = causalLmLossSum(logits, ids).sum;
    forwardReturned = true;
    return loss;
  }, params.map((q) => q.variable));
  // On the small vocabulary the peak is the end of backward, when every activation gradient is alive.
  const backward = atPeak;
  const backwardPeakBytes = tracker.peak();
  const beforeUpdate = tracker.live();
  tracker.resetPeak();
  optimizer.apply(new Map(params.map((q) => [q.name, grads[q.variable.name]])), 1e-3);
  const optimizerBytes = tracker.peak() - beforeUpdate;
  tracker.stop();
  tf.dispose([value, ...Object.values(grads)]);
  optimizer.dispose();
  if (forward.lora) tf.dispose(params.map((q) => q.variable));
  model.dispose();
  return { saved, backward, optimizerBytes, savedBytes, backwardPeakBytes };
}

const BLOCK_KEYS: (keyof BlockTensors)[] = ['hidden', 'qkv', 'mlp', 'scores', 'mask'];
const n = (c: Counts, key: string) => c[key] ?? 0;

/** What one more block adds, and what a 1-block model holds outside its block. */
function perBlock(p: Probe, phase: 'saved' | 'backward'): Counts {
  const one = observe({ ...p, layers: 1 })[phase];
  const two = observe({ ...p, layers: 2 })[phase];
  return Object.fromEntries([...new Set([...Object.keys(one), ...Object.keys(two)])].map((k) => [k, n(two, k) - n(one, k)]));
}

function architectureCounts(type: ModelType, bf16: boolean): ArchitectureCounts {
  const base: Probe = { type, layers: 1, method: 'full', bf16 };
  const one = observe(base);
  const alive = (phase: 'saved' | 'backward') => {
    const block = perBlock(base, phase);
    return {
      block: Object.fromEntries(BLOCK_KEYS.map((k) => [k, n(block, k)])) as unknown as BlockTensors,
      outer: { hidden: n(one[phase], 'hidden') - n(block, 'hidden'), logits: n(one[phase], 'logits') },
    };
  };
  const added = (dropout: Probe['dropout'], key: string, phase: 'saved' | 'backward') => n(perBlock({ ...base, dropout }, phase), key) - n(perBlock(base, phase), key);
  const embedding = (phase: 'saved' | 'backward') => n(observe({ ...base, dropout: { embedding: 0.1 } })[phase], 'hidden') - n(one[phase], 'hidden');
  return {
    saved: alive('saved'),
    backward: alive('backward'),
    attentionDropout: { saved: added({ attention: 0.1 }, 'scores', 'saved'), backward: added({ attention: 0.1 }, 'scores', 'backward') },
    residualDropout: { saved: added({ residual: 0.1 }, 'hidden', 'saved'), backward: added({ residual: 0.1 }, 'hidden', 'backward') },
    embeddingDropout: { saved: embedding('saved'), backward: embedding('backward') },
  };
}

/** Every count the probe can see, for the backend in use, in fp32 or under bf16. Takes a few seconds. */
export function probeCoefficients(bf16 = false): ProbedCounts {
  // LoRA on GPT-2's fused q/k/v projection: its input is [B, T, E] and its output [B, T, 3E].
  const full: Probe = { type: 'gpt2', layers: 1, method: 'full', bf16 };
  const lora: Probe = { ...full, method: 'lora' };
  const loraPhase = (phase: 'saved' | 'backward') => {
    const adapted = perBlock(lora, phase);
    const plain = perBlock(full, phase);
    return { input: n(adapted, 'hidden') - n(plain, 'hidden'), output: n(adapted, 'qkv') - n(plain, 'qkv'), rank: n(adapted, 'rank') };
  };
  const loraDropout = (phase: 'saved' | 'backward') => n(perBlock({ ...lora, dropout: { lora: 0.1 } }, phase), 'hidden') - n(perBlock(lora, phase), 'hidden');
  const weightCopies = n(perBlock(lora, 'backward'), 'projection');

  // The loss's temporaries dominate a LoRA step on a large vocabulary; two vocabularies
  // separate them from everything that does not grow with it.
  const [small, large] = [3000, 6000].map((vocab) => observe({ ...lora, vocab }));
  const logitsBytes = 4 * B * T * (6000 - 3000);
  const lossWorkspace = Math.round((large.backwardPeakBytes - small.backwardPeakBytes - (large.savedBytes - small.savedBytes)) / logitsBytes);

  // The embedding is by far the largest tensor at this vocabulary.
  const adam = (weightDecay: number) => Math.round(observe({ ...full, vocab: 3000, weightDecay }).optimizerBytes / (4 * 3000 * E));
  const fullBackward = observe(full).backward;
  return {
    architectures: { gpt2: architectureCounts('gpt2', bf16), bloom: architectureCounts('bloom', bf16) },
    lora: { saved: loraPhase('saved'), backward: loraPhase('backward'), dropout: { saved: loraDropout('saved'), backward: loraDropout('backward') } },
    lossWorkspace,
    optimizerWorkspace: adam(0),
    weightDecayWorkspace: adam(0.01) - adam(0),
    weightCopies,
    tiedEmbeddingGradients: n(fullBackward, 'head') - 1 - weightCopies,
  };
}
