// One optimizer step's gradients. The step's loss is the token-weighted mean over every
// label token of all its micro-batches, so each micro-batch contributes sum / N_total
// and accumulation gives exactly the gradient of one big batch.
import { activeKernels, tf } from '../engine/backend';
import { f32 } from '../ops/native-tensors';
import type { CausalLM } from '../models/causal-lm';
import type { ForwardOptions } from '../models/weights';
import { causalLmLossSum, IGNORE_INDEX } from '../ops/cross-entropy';
import type { Batch } from '../data/batching';
import type { TrainableParam } from './adamw';


/** Label tokens the loss counts: labels[t + 1] ≠ −100 for t < T − 1. */
export function countLabelTokens(batch: Batch): number {
  let n = 0;
  for (const row of batch.labels) for (let j = 1; j < row.length; j++) if (row[j] !== IGNORE_INDEX) n++;
  return n;
}

export interface StepGradients {
  /** The step's mean loss (before its update). */
  loss: number;
  tokens: number;
  grads: Map<string, tf.Tensor>;
}

export function accumulateGradients(
  model: CausalLM,
  params: TrainableParam[],
  microBatches: Batch[],
  forward: ForwardOptions,
): StepGradients {
  const tokens = microBatches.reduce((n, b) => n + countLabelTokens(b), 0);
  if (tokens === 0) throw new Error('this step has no label tokens to learn from');
  const grads = new Map<string, tf.Tensor>();
  let loss = 0;
  const vars = params.map((p) => p.variable);
  for (const batch of microBatches) {
    const { value, grads: g } = tf.variableGrads(() => {
      const { logits } = model.forward(tf.tensor2d(batch.input_ids, undefined, 'int32'), {
        ...forward,
        attentionMask: tf.tensor2d(batch.attention_mask, undefined, 'int32'),
      });
      return tf.div(causalLmLossSum(logits, batch.labels).sum, tokens) as tf.Scalar;
    }, vars);
    loss += value.dataSync()[0];
    value.dispose();
    const kernels = activeKernels();
    for (const p of params) {
      const gi = g[p.variable.name];
      const prev = grads.get(p.name);
      if (!prev) {
        grads.set(p.name, gi);
        continue;
      }
      // The native path sums into the first micro-batch's gradient, which this step owns.
      if (kernels) kernels.add(f32(prev), f32(gi), f32(prev));
      else {
        grads.set(p.name, tf.add(prev, gi));
        prev.dispose();
      }
      gi.dispose();
    }
  }
  return { loss, tokens, grads };
}
