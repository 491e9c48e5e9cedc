import { tf } from '../engine/backend';
import { causalLmLossSum } from '../ops/cross-entropy';
import { bloomForward, bloomWeightShapes, BLOOM_LORA_TARGETS } from './bloom';
import type { ModelConfig, ModelType } from './config';
import { gpt2Forward, gpt2WeightShapes, GPT2_LORA_TARGETS } from './gpt2';
import { withBf16Autocast } from '../ops/bf16';
import type { ForwardOptions, ForwardResult, Weights } from './weights';

interface Architecture {
  weightShapes(c: ModelConfig): Map<string, number[]>;
  forward(w: Weights, c: ModelConfig, ids: tf.Tensor2D, opts?: ForwardOptions): ForwardResult;
  /** Projections LoRA may target; the first is PEFT's default for the architecture. */
  loraTargets: string[];
  /** Conv1D ([in, out]) or nn.Linear ([out, in]) projections, PEFT's fan_in_fan_out. */
  fanInFanOut: boolean;
  embeddingName: string;
}

export const ARCHITECTURES: Record<ModelType, Architecture> = {
  gpt2: { weightShapes: gpt2WeightShapes, forward: gpt2Forward, loraTargets: GPT2_LORA_TARGETS, fanInFanOut: true, embeddingName: 'transformer.wte.weight' },
  bloom: { weightShapes: bloomWeightShapes, forward: bloomForward, loraTargets: BLOOM_LORA_TARGETS, fanInFanOut: false, embeddingName: 'transformer.word_embeddings.weight' },
};

/** A decoder-only language model: its config, its weights by HF name, and a forward pass. */
export class CausalLM {
  readonly arch: Architecture;

  constructor(
    readonly config: ModelConfig,
    readonly weights: Weights,
  ) {
    this.arch = ARCHITECTURES[config.modelType];
  }

  forward(ids: tf.Tensor2D, opts: ForwardOptions = {}): ForwardResult {
    return withBf16Autocast(opts.bf16 ?? false, () => this.arch.forward(this.weights, this.config, ids, opts));
  }

  /** Mean causal-LM loss with labels = the ids themselves (no padding), as HF computes it. */
  meanLoss(ids: number[][], opts: ForwardOptions = {}): number {
    return tf.tidy(() => {
      const { logits } = this.forward(tf.tensor2d(ids, undefined, 'int32'), opts);
      const { sum, tokens } = causalLmLossSum(logits, ids);
      return sum.dataSync()[0] / tokens;
    });
  }

  /** The loaded tensors' sizes: a tied head is the embedding, so it counts once. */
  parameterCount(): number {
    let n = 0;
    for (const t of this.weights.values()) n += t.size;
    return n;
  }

  dispose(): void {
    for (const t of this.weights.values()) t.dispose();
    this.weights.clear();
  }
}
