// What the engine keeps alive during a training step, as counts of tensors of each shape,
// per backend. The estimate multiplies these counts by a run's shapes, so nothing here
// depends on a model's size. Most counts come from `npm run bench:memory -- --probe`, which
// watches the engine's buffers on a tiny model; rerun it (under TUNESMITH_BACKEND=...) when
// the engine changes what it saves for backward, and paste its output here.
import fs from 'node:fs';
import { BACKEND_ORDER, type BackendName } from '../engine/backend';
import { nativeAddonPath } from '../engine/native-kernels';
import type { ModelType } from '../models/config';

/**
 * Tensors of one transformer block by shape (B batch, T positions, E width, I MLP width,
 * H heads).
 */
export interface BlockTensors {
  /** [B, T, E]: block input, LayerNorm intermediates, q/k/v heads, attention output, residuals. */
  hidden: number;
  /** [B, T, 3E]: the fused q/k/v projection. */
  qkv: number;
  /** [B, T, I]: the MLP expansion and its activation's intermediates. */
  mlp: number;
  /** [B, H, T, T]: attention scores and probabilities. */
  scores: number;
  /** [B, 1, T, T]: the additive causal and padding mask. */
  mask: number;
}

/** Tensors outside the blocks: embeddings, the final LayerNorm, the LM head and the loss. */
export interface OuterTensors {
  /** [B, T, E]. */
  hidden: number;
  /** [B, T, V] (V vocabulary). */
  logits: number;
}

export interface Alive {
  block: BlockTensors;
  outer: OuterTensors;
}

/** Saved when the forward pass ends, and alive when the backward pass ends. */
export interface ByPhase {
  saved: number;
  backward: number;
}

export interface ArchitectureCounts {
  /** When the forward pass ends: what backward will read. */
  saved: Alive;
  /** When the backward pass ends: the saved tensors and every activation gradient (tfjs frees neither earlier). */
  backward: Alive;
  /** Added per block by attention dropout, in [B, H, T, T] units. */
  attentionDropout: ByPhase;
  /** Added per block by the two residual dropouts, in [B, T, E] units. */
  residualDropout: ByPhase;
  /** Added by dropout after the embeddings, in [B, T, E] units. */
  embeddingDropout: ByPhase;
}

/** Per adapted projection: [B, T, in], [B, T, out] and [B, T, r] tensors. */
export interface LoraTensors {
  input: number;
  output: number;
  rank: number;
}

export interface EngineCoefficients {
  architectures: Record<ModelType, ArchitectureCounts>;
  lora: { saved: LoraTensors; backward: LoraTensors; /** [B, T, in] units added by LoRA dropout. */ dropout: ByPhase };
  /** [B, T, V] temporaries while the loss gradient is formed, beyond the saved logits. */
  lossWorkspace: number;
  /** Temporaries of one AdamW update beyond the weights, moments and gradients it replaces, in units of the largest trainable tensor. */
  optimizerWorkspace: number;
  /** One more such temporary when weight decay is on. */
  weightDecayWorkspace: number;
  /** Copies the tape keeps of each matmul weight (wasm's clone copies what it saves; cpu's shares). */
  weightCopies: number;
  /** [V, E] buffers beside a trained tied embedding's gradient when backward ends: the lookup's dense gradient and the sum. */
  tiedEmbeddingGradients: number;
  /**
   * Inputs of frozen projections without LoRA (the head's too) that are not kept for backward,
   * as a share of one per projection: 1 where the kernel drops what only a weight gradient
   * would read (the probe's counts are a full run's, where every input is kept), 0 where
   * tfjs's matMul gradient keeps both operands.
   */
  frozenInputsReleased: number;

  // Not seen by the probe: memory outside tfjs's tensors, calibrated against peak RSS.
  /**
   * XNNPACK's packed copy of each weight it multiplies untransposed (wasm): GPT-2's Conv1D
   * weights from the first forward on, every projection's and the head's saved copies
   * while backward runs.
   */
  packedWeights: number;
  /** The JS array the embedding gradient is built in before it is copied into the heap. */
  embeddingGradientJsCopies: number;
  /** The backend's own heap cap, or null when tensors live in the process's memory. */
  heapLimitBytes: number | null;
  /** The allocator's high-water mark beyond the live peak, as a fraction of the step's dynamic bytes. */
  heapSlack: number;
  /**
   * Share of the bytes gradient clipping frees (the squared and the unclipped gradients)
   * still resident when the AdamW update peaks: cpu's arrays wait for V8's garbage
   * collector; wasm's allocator reuses them at once.
   */
  lateCollected: number;
  /** Node, tfjs and the backend before a model is loaded (RSS at start). */
  runtimeBytes: number;
  /** The tokenizer's vocabulary and merges in the JS heap. */
  tokenizerBytesPerToken: number;
  /**
   * What a real training process holds beyond the benchmark's bare child: the store, the
   * data and its examples, the trainer's other modules. Small beside big shapes, it is
   * most of a small run: gpt2-tiny runs on the sample data (`tunesmith train`, 5 steps,
   * native) peaked 141, 165, 143 and 191 MiB (LoRA) and 134 MiB (full, batch 1) above
   * the estimate without it at batch 1, 2, 4 and 8; with it every row is within 12%.
   */
  trainingProcessBytes: number;
  /** What changes under `"bf16": true`. */
  bf16: Bf16Coefficients;
}

/** The counts the probe sees. */
export type ProbedCounts = Pick<EngineCoefficients, 'architectures' | 'lora' | 'lossWorkspace' | 'optimizerWorkspace' | 'weightDecayWorkspace' | 'weightCopies' | 'tiedEmbeddingGradients'>;

export interface Bf16Coefficients {
  /**
   * Bytes per parameter of a LoRA run's frozen projections (and an untied head): 2 where the
   * bf16 kernel reads them as stored, 4 where the emulation multiplies the fp32 weights.
   */
  frozenProjectionBytes: number;
  /** The probe's counts under bf16 (`bench:memory -- --probe --bf16`) where they differ from fp32's. */
  counts: Partial<ProbedCounts>;
}

const MiB = 2 ** 20;

const WASM: EngineCoefficients = {
  architectures: {
    gpt2: {
      saved: { block: { hidden: 37, qkv: 2, mlp: 15, scores: 4, mask: 2 }, outer: { hidden: 11, logits: 2 } },
      backward: { block: { hidden: 61, qkv: 3, mlp: 23, scores: 8, mask: 2 }, outer: { hidden: 19, logits: 3 } },
      attentionDropout: { saved: 2, backward: 3 },
      residualDropout: { saved: 4, backward: 6 },
      embeddingDropout: { saved: 2, backward: 3 },
    },
    bloom: {
      saved: { block: { hidden: 37, qkv: 3, mlp: 15, scores: 5, mask: 2 }, outer: { hidden: 18, logits: 2 } },
      backward: { block: { hidden: 61, qkv: 4, mlp: 25, scores: 9, mask: 2 }, outer: { hidden: 33, logits: 3 } },
      attentionDropout: { saved: 2, backward: 3 },
      residualDropout: { saved: 4, backward: 6 },
      embeddingDropout: { saved: 0, backward: 0 },
    },
  },
  lora: { saved: { input: 1, output: 3, rank: 1 }, backward: { input: 2, output: 4, rank: 2 }, dropout: { saved: 2, backward: 3 } },
  lossWorkspace: 4,
  optimizerWorkspace: 11,
  weightDecayWorkspace: 1,
  weightCopies: 1,
  tiedEmbeddingGradients: 2,
  frozenInputsReleased: 0,
  packedWeights: 1,
  embeddingGradientJsCopies: 1,
  heapLimitBytes: 4294901760,
  heapSlack: 0.04,
  lateCollected: 0,
  runtimeBytes: 150 * MiB,
  tokenizerBytesPerToken: 500,
  trainingProcessBytes: 140 * MiB,
  // The emulation keeps the fp32 weights and makes each product's rounded inputs as new tensors
  // (`TUNESMITH_BACKEND=wasm npm run bench:memory -- --probe --bf16`).
  bf16: {
    frozenProjectionBytes: 4,
    counts: {
      architectures: {
        gpt2: {
          saved: { block: { hidden: 37, qkv: 2, mlp: 15, scores: 4, mask: 2 }, outer: { hidden: 11, logits: 2 } },
          backward: { block: { hidden: 64, qkv: 4, mlp: 24, scores: 9, mask: 2 }, outer: { hidden: 19, logits: 4 } },
          attentionDropout: { saved: 2, backward: 3 },
          residualDropout: { saved: 4, backward: 6 },
          embeddingDropout: { saved: 2, backward: 3 },
        },
        bloom: {
          saved: { block: { hidden: 37, qkv: 3, mlp: 15, scores: 5, mask: 2 }, outer: { hidden: 18, logits: 2 } },
          backward: { block: { hidden: 64, qkv: 5, mlp: 26, scores: 10, mask: 2 }, outer: { hidden: 33, logits: 4 } },
          attentionDropout: { saved: 2, backward: 3 },
          residualDropout: { saved: 4, backward: 6 },
          embeddingDropout: { saved: 0, backward: 0 },
        },
      },
      lora: { saved: { input: 1, output: 3, rank: 1 }, backward: { input: 2, output: 5, rank: 3 }, dropout: { saved: 2, backward: 3 } },
    },
  },
};

const CPU: EngineCoefficients = {
  architectures: {
    gpt2: {
      saved: { block: { hidden: 25, qkv: 2, mlp: 9, scores: 3, mask: 2 }, outer: { hidden: 8, logits: 1 } },
      backward: { block: { hidden: 47, qkv: 3, mlp: 17, scores: 7, mask: 2 }, outer: { hidden: 15, logits: 2 } },
      attentionDropout: { saved: 2, backward: 3 },
      residualDropout: { saved: 4, backward: 6 },
      embeddingDropout: { saved: 2, backward: 3 },
    },
    bloom: {
      saved: { block: { hidden: 25, qkv: 2, mlp: 10, scores: 4, mask: 2 }, outer: { hidden: 13, logits: 1 } },
      backward: { block: { hidden: 47, qkv: 3, mlp: 20, scores: 8, mask: 2 }, outer: { hidden: 26, logits: 2 } },
      attentionDropout: { saved: 2, backward: 3 },
      residualDropout: { saved: 4, backward: 6 },
      embeddingDropout: { saved: 0, backward: 0 },
    },
  },
  lora: { saved: { input: 0, output: 3, rank: 1 }, backward: { input: 1, output: 4, rank: 2 }, dropout: { saved: 2, backward: 3 } },
  lossWorkspace: 4,
  optimizerWorkspace: 11,
  weightDecayWorkspace: 1,
  weightCopies: 0,
  tiedEmbeddingGradients: 2,
  frozenInputsReleased: 0,
  packedWeights: 0,
  embeddingGradientJsCopies: 0,
  heapLimitBytes: null,
  heapSlack: 0.02,
  lateCollected: 0.85,
  runtimeBytes: 155 * MiB,
  tokenizerBytesPerToken: 500,
  trainingProcessBytes: 140 * MiB,
  // The emulation keeps the fp32 weights and makes each product's rounded inputs as new tensors
  // (`TUNESMITH_BACKEND=cpu npm run bench:memory -- --probe --bf16`).
  bf16: {
    frozenProjectionBytes: 4,
    counts: {
      architectures: {
        gpt2: {
          saved: { block: { hidden: 28, qkv: 2, mlp: 10, scores: 4, mask: 2 }, outer: { hidden: 9, logits: 1 } },
          backward: { block: { hidden: 53, qkv: 4, mlp: 19, scores: 9, mask: 2 }, outer: { hidden: 16, logits: 3 } },
          attentionDropout: { saved: 1, backward: 2 },
          residualDropout: { saved: 4, backward: 6 },
          embeddingDropout: { saved: 2, backward: 3 },
        },
        bloom: {
          saved: { block: { hidden: 28, qkv: 2, mlp: 11, scores: 5, mask: 2 }, outer: { hidden: 14, logits: 1 } },
          backward: { block: { hidden: 53, qkv: 4, mlp: 22, scores: 10, mask: 2 }, outer: { hidden: 27, logits: 3 } },
          attentionDropout: { saved: 1, backward: 2 },
          residualDropout: { saved: 4, backward: 6 },
          embeddingDropout: { saved: 0, backward: 0 },
        },
      },
      lora: { saved: { input: 1, output: 3, rank: 1 }, backward: { input: 2, output: 5, rank: 3 }, dropout: { saved: 1, backward: 2 } },
      weightCopies: 1,
    },
  },
};

/**
 * The native kernels keep their inputs' buffers in the backward closures rather than as
 * saved tensors, which the probe cannot see, so the saved counts are the kernels' own
 * (core/ops/*.ts): per block the LayerNorm inputs and outputs, the attention output and
 * the residual (5 [B,T,E]), qkv, and the MLP's pre- and post-GELU buffers (attention keeps
 * no [B,H,T,T] tensor: backward recomputes its probabilities and dropout mask from qkv and
 * [B,H,T,2] row statistics); outside, the final LayerNorm's input/output and embedding sum,
 * and the logits.
 * The backward counts add the gradients the probe sees tfjs hold until backprop ends.
 */
const NATIVE: EngineCoefficients = {
  ...CPU,
  architectures: {
    gpt2: {
      saved: { block: { hidden: 5, qkv: 1, mlp: 2, scores: 0, mask: 0 }, outer: { hidden: 3, logits: 1 } },
      backward: { block: { hidden: 12, qkv: 2, mlp: 4, scores: 0, mask: 0 }, outer: { hidden: 5, logits: 1 } },
      attentionDropout: { saved: 0, backward: 0 },
      residualDropout: { saved: 8, backward: 10 },
      embeddingDropout: { saved: 4, backward: 5 },
    },
    bloom: {
      saved: { block: { hidden: 5, qkv: 1, mlp: 2, scores: 0, mask: 0 }, outer: { hidden: 4, logits: 1 } },
      backward: { block: { hidden: 12, qkv: 2, mlp: 4, scores: 0, mask: 0 }, outer: { hidden: 6, logits: 1 } },
      attentionDropout: { saved: 0, backward: 0 },
      residualDropout: { saved: 8, backward: 10 },
      embeddingDropout: { saved: 0, backward: 0 },
    },
  },
  lora: { saved: { input: 0, output: 0, rank: 1 }, backward: { input: 1, output: 0, rank: 2 }, dropout: { saved: 1, backward: 1 } },
  // The loss gradient overwrites the logits (core/ops/cross-entropy.ts), so it costs no
  // [B, T, V] buffer of its own, and backward ends holding one such buffer, not two.
  lossWorkspace: 0,
  optimizerWorkspace: 0,
  weightDecayWorkspace: 0,
  // The head's weight gradient and the lookup's rows are summed in one buffer (TiedGradient in
  // core/ops/embedding.ts), which is the embedding's gradient itself: nothing beside it.
  tiedEmbeddingGradients: 0,
  // core/ops/linear.ts keeps x only for dW or a LoRA pair; a LayerNorm's, attention's or GELU's
  // output feeding a frozen projection then has no other holder.
  frozenInputsReleased: 1,
  // Clipping scales inside the AdamW kernel, so no scaled gradient copies are left to collect.
  lateCollected: 0,
  // The bf16 GEMM rounds while it packs, into panels of a few MiB reused by every call, so the
  // probe sees the same tensors as in fp32 (`--probe --bf16` printed fp32's counts).
  bf16: { frozenProjectionBytes: 2, counts: {} },
};

/**
 * The webgpu backend: every tensor is a GPU buffer, so these counts are device memory. Probed
 * (`TUNESMITH_BACKEND=webgpu npm run bench:memory -- --probe`) on Mesa's llvmpipe, from
 * tfjs's own tensor bytes, not RSS: the WGSL kernels (core/engine/wgsl) save one [B,H,T,T]
 * probability tensor per block and no mask, one [B,T,V]-sized loss gradient, and update
 * AdamW in place (no workspace). The fixed costs (Node, tokenizer) stay in host RAM.
 */
const WEBGPU: EngineCoefficients = {
  ...CPU,
  architectures: {
    gpt2: {
      saved: { block: { hidden: 15, qkv: 2, mlp: 9, scores: 1, mask: 0 }, outer: { hidden: 3, logits: 1 } },
      backward: { block: { hidden: 29, qkv: 3, mlp: 17, scores: 3, mask: 0 }, outer: { hidden: 5, logits: 2 } },
      attentionDropout: { saved: 4, backward: 5 },
      residualDropout: { saved: 8, backward: 10 },
      embeddingDropout: { saved: 4, backward: 5 },
    },
    bloom: {
      saved: { block: { hidden: 15, qkv: 2, mlp: 10, scores: 1, mask: 0 }, outer: { hidden: 3, logits: 1 } },
      backward: { block: { hidden: 29, qkv: 3, mlp: 20, scores: 3, mask: 0 }, outer: { hidden: 6, logits: 2 } },
      attentionDropout: { saved: 4, backward: 5 },
      residualDropout: { saved: 8, backward: 10 },
      embeddingDropout: { saved: 0, backward: 0 },
    },
  },
  lossWorkspace: 1,
  optimizerWorkspace: 0,
  weightDecayWorkspace: 0,
  // GPU buffers are freed (returned to tfjs's pool) at dispose, not by V8's collector.
  lateCollected: 0,
  // tfjs's buffer pool keeps every freed buffer for reuse by exact size, so the GPU holds more
  // than the live peak: numBytesAllocatedInGPU after 3 steps on the fixtures (llvmpipe) was
  // 1–8.6% of the step's bytes beyond the weights above the tensor peak.
  heapSlack: 0.09,
};

export const ENGINE_COEFFICIENTS: Record<BackendName, EngineCoefficients> = {
  native: NATIVE,
  wasm: WASM,
  cpu: CPU,
  // Not measured: tfjs-node keeps tensors in native buffers that clones share, as cpu does.
  tensorflow: CPU,
  webgpu: WEBGPU,
};

/**
 * The backend the estimate assumes: the forced one, else native where its kernels are built,
 * else wasm (tfjs-node is rarely installed).
 */
export function defaultBackend(env = process.env.TUNESMITH_BACKEND): BackendName {
  const forced = env?.trim();
  if (forced && (BACKEND_ORDER as readonly string[]).includes(forced)) return forced as BackendName;
  return fs.existsSync(nativeAddonPath()) ? 'native' : 'wasm';
}
