import { activeKernels, tensorsOnGpu, tf } from '../engine/backend';
import { crossEntropySumWebgpu } from '../engine/wgsl/cross-entropy';
import { f32, fused, tensorOf } from './native-tensors';

export const IGNORE_INDEX = -100;

export interface LmLoss {
  /** Sum of next-token negative log-likelihoods over the label tokens. */
  sum: tf.Scalar;
  /** How many label tokens (≠ −100) the sum covers; gradient accumulation weights by it. */
  tokens: number;
}

/**
 * Hugging Face's causal-LM loss before its mean: logits at position t predict labels[t + 1];
 * labels of −100 are skipped.
 */
export function causalLmLossSum(logits: tf.Tensor3D, labels: ArrayLike<number>[]): LmLoss {
  if (activeKernels()) return causalLmLossSumNative(logits, labels);
  return tensorsOnGpu() ? causalLmLossSumWebgpu(logits, labels) : causalLmLossSumReference(logits, labels);
}

/** Which positions count and what each predicts: weight 1 and the next label, or weight 0. */
function labelTargets(logits: tf.Tensor3D, labels: ArrayLike<number>[]) {
  const [b, t, v] = logits.shape;
  const weights = new Float32Array(b * t);
  const targets = new Int32Array(b * t);
  let tokens = 0;
  for (let i = 0; i < b; i++) {
    if (labels[i].length !== t) throw new Error(`labels row ${i} has ${labels[i].length} entries, logits have ${t} positions`);
    for (let j = 0; j < t - 1; j++) {
      const label = labels[i][j + 1];
      if (label === IGNORE_INDEX) continue;
      if (!Number.isInteger(label) || label < 0 || label >= v) throw new Error(`label ${label} at row ${i}, position ${j + 1} is outside the vocabulary (0…${v - 1})`);
      weights[i * t + j] = 1;
      targets[i * t + j] = label;
      tokens++;
    }
  }
  return { weights, targets, tokens };
}

/**
 * The plain-tfjs twin, the native kernel's test oracle. Its gradient is written out
 * (softmax − one-hot, on counted positions only) rather than left to autodiff, whose
 * gather gradient the wasm backend cannot run.
 */
export function causalLmLossSumReference(logits: tf.Tensor3D, labels: ArrayLike<number>[]): LmLoss {
  const [b, t, v] = logits.shape;
  const { weights, targets, tokens } = labelTargets(logits, labels);
  if (tokens === 0) return { sum: tf.scalar(0), tokens };
  const at: number[] = [];
  for (let r = 0; r < b * t; r++) if (weights[r]) at.push(Math.floor(r / t), r % t, targets[r]);
  const flat = Int32Array.from({ length: tokens }, (_, k) => (at[3 * k] * t + at[3 * k + 1]) * v + at[3 * k + 2]);
  const lossSum = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x, save] = args as [tf.Tensor, tf.GradSaveFunc];
    const weight = tf.tensor3d(weights, [b, t, 1]);
    const where = tf.tensor2d(at, [tokens, 3], 'int32');
    save([x, weight, where]);
    const value = tf.tidy(() => {
      const picked = tf.gather(tf.reshape(x, [-1]), tf.tensor1d(flat, 'int32'));
      return tf.sub(tf.sum(tf.mul(tf.logSumExp(x, -1, true), weight)), tf.sum(picked)) as tf.Scalar;
    });
    return {
      value,
      // d(sum)/dlogits = softmax − 1 at each label, on counted positions only. The label part is
      // scattered rather than built as a one-hot [B, T, V] tensor. Saved tensors outlive the
      // forward pass; closures over the originals would not.
      gradFunc: (dy: tf.Tensor, [savedX, savedWeight, savedWhere]: tf.Tensor[]) =>
        tf.tidy(() => {
          const spread = tf.mul(tf.softmax(savedX), tf.mul(savedWeight, dy));
          const atLabels = tf.scatterND(savedWhere, tf.mul(tf.ones([tokens]), dy), [b, t, v]);
          return tf.sub(spread, atLabels);
        }),
    };
  });
  return { sum: lossSum(logits) as tf.Scalar, tokens };
}

export function causalLmLossSumNative(logits: tf.Tensor3D, labels: ArrayLike<number>[]): LmLoss {
  const k = activeKernels()!;
  const [b, t, v] = logits.shape;
  const { weights, targets, tokens } = labelTargets(logits, labels);
  if (tokens === 0) return { sum: tf.scalar(0), tokens };
  const rows = b * t;
  const sum = fused([logits], (save) => {
    const z = f32(logits);
    const lse = new Float32Array(rows);
    const value = tf.scalar(k.crossEntropyForward(z, targets, weights, rows, v, lse));
    save([tensorOf(lse, [rows])]);
    return {
      value,
      gradFunc: (dy, [savedLse]) => {
        const dlogits = logitsAreDead(logits) ? z : new Float32Array(logits.size);
        k.crossEntropyBackward(z, targets, weights, f32(savedLse), rows, v, dy.dataSync()[0], dlogits);
        return [tensorOf(dlogits, logits.shape)];
      },
    };
  });
  return { sum, tokens };
}

/**
 * Whether no tensor holds the logits' buffer any more (training: the forward's tidy disposed
 * them, and only this loss read them), so their gradient, [B, T, V] like them, can overwrite
 * them instead of being a second such buffer. Logits the caller kept, or that another op
 * saved, are left alone.
 */
function logitsAreDead(logits: tf.Tensor): boolean {
  return logits.isDisposed && tf.backend().refCount(logits.dataId) === 0;
}

export function causalLmLossSumWebgpu(logits: tf.Tensor3D, labels: ArrayLike<number>[]): LmLoss {
  const { weights, targets, tokens } = labelTargets(logits, labels);
  return { sum: tokens === 0 ? tf.scalar(0) : crossEntropySumWebgpu(logits, targets, weights), tokens };
}
