import { tf } from '../engine/backend';

export const IGNORE_INDEX = -100;

export interface LmLoss {
  /** Sum of next-token negative log-likelihoods over the label tokens. */
  sum: tf.Scalar;
  /** How many label tokens (≠ −100) the sum covers; gradient accumulation weights by it. */
  tokens: number;
}

/**
 * Hugging Face's causal-LM loss before its mean: logits at position t predict labels[t + 1];
 * labels of −100 are skipped. The label logit is picked by a flat gather, never a one-hot
 * [tokens, vocab] tensor.
 */
export function causalLmLossSum(logits: tf.Tensor3D, labels: ArrayLike<number>[]): LmLoss {
  const [b, t, v] = logits.shape;
  const rows: number[] = [];
  const picks: number[] = [];
  for (let i = 0; i < b; i++) {
    if (labels[i].length !== t) throw new Error(`labels row ${i} has ${labels[i].length} entries, logits have ${t} positions`);
    for (let j = 0; j < t - 1; j++) {
      const label = labels[i][j + 1];
      if (label === IGNORE_INDEX) continue;
      if (!Number.isInteger(label) || label < 0 || label >= v) throw new Error(`label ${label} at row ${i}, position ${j + 1} is outside the vocabulary (0…${v - 1})`);
      rows.push(i * t + j);
      picks.push((i * t + j) * v + label);
    }
  }
  const sum = tf.tidy(() => {
    if (rows.length === 0) return tf.scalar(0);
    const flat = tf.reshape(logits, [b * t, v]);
    const used = tf.gather(flat, tf.tensor1d(rows, 'int32'));
    const lse = tf.logSumExp(used, 1);
    const picked = tf.gather(tf.reshape(logits, [-1]), tf.tensor1d(picks, 'int32'));
    return tf.sum(tf.sub(lse, picked));
  }) as tf.Scalar;
  return { sum, tokens: rows.length };
}
