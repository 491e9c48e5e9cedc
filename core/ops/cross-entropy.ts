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
 * labels of −100 are skipped. Its gradient is written out (softmax − one-hot, on counted
 * positions only) rather than left to autodiff, whose gather gradient the wasm backend
 * cannot run.
 */
export function causalLmLossSum(logits: tf.Tensor3D, labels: ArrayLike<number>[]): LmLoss {
  const [b, t, v] = logits.shape;
  const targets = new Int32Array(b * t);
  const weights = new Float32Array(b * t);
  let tokens = 0;
  for (let i = 0; i < b; i++) {
    if (labels[i].length !== t) throw new Error(`labels row ${i} has ${labels[i].length} entries, logits have ${t} positions`);
    for (let j = 0; j < t - 1; j++) {
      const label = labels[i][j + 1];
      if (label === IGNORE_INDEX) continue;
      if (!Number.isInteger(label) || label < 0 || label >= v) throw new Error(`label ${label} at row ${i}, position ${j + 1} is outside the vocabulary (0…${v - 1})`);
      targets[i * t + j] = label;
      weights[i * t + j] = 1;
      tokens++;
    }
  }
  // Cast afterwards: the wasm backend's float32 oneHot writes integer bit patterns.
  const oneHot = (target: tf.Tensor) => tf.cast(tf.oneHot(target as tf.Tensor2D, v), 'float32');
  const lossSum = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x, save] = args as [tf.Tensor, tf.GradSaveFunc];
    const target = tf.tensor2d(targets, [b, t], 'int32');
    const weight = tf.tensor2d(weights, [b, t]);
    save([x, target, weight]);
    const picked = tf.sum(tf.mul(x, oneHot(target)), -1);
    return {
      value: tf.sum(tf.mul(tf.sub(tf.logSumExp(x, -1), picked), weight)) as tf.Scalar,
      // Saved tensors are kept past the forward pass; closures over the originals are not.
      gradFunc: (dy: tf.Tensor, [savedX, savedTarget, savedWeight]: tf.Tensor[]) =>
        tf.mul(tf.mul(tf.sub(tf.softmax(savedX), oneHot(savedTarget)), tf.expandDims(savedWeight, -1)), dy),
    };
  });
  return { sum: lossSum(logits) as tf.Scalar, tokens };
}
