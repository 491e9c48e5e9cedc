// AdamW as torch.optim.AdamW: decoupled weight decay applied to the weight first, then the
// bias-corrected Adam step. Parameters in the no-decay group (biases, LayerNorm weights)
// skip the decay, as the Hugging Face Trainer groups them.
import { activeKernels, tensorsOnGpu, tf } from '../engine/backend';
import { adamwUpdateWebgpu } from '../engine/wgsl/adamw';
import { gradSumSquaresWebgpu } from '../engine/wgsl/sum-squares';
import type { AdamWScalars } from '../engine/native-kernels';
import { f32 } from '../ops/native-tensors';

export interface AdamWSettings {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

export interface TrainableParam {
  name: string;
  variable: tf.Variable;
  decay: boolean;
}

export class AdamW {
  /** Optimizer steps taken; Adam's bias correction depends on it. */
  step = 0;
  private readonly m = new Map<string, tf.Variable>();
  private readonly v = new Map<string, tf.Variable>();

  constructor(
    readonly params: TrainableParam[],
    readonly settings: AdamWSettings,
  ) {
    // In a tidy, so the zeros the variables start from are freed at their first assign.
    const zeros = (p: TrainableParam) => tf.tidy(() => tf.variable(tf.zerosLike(p.variable), false));
    for (const p of params) {
      this.m.set(p.name, zeros(p));
      this.v.set(p.name, zeros(p));
    }
  }

  /** One update; `gradScale` is the clipping factor, applied to each gradient as it is read. */
  apply(grads: Map<string, tf.Tensor>, lr: number, gradScale = 1): void {
    this.step++;
    const { beta1, beta2, eps, weightDecay } = this.settings;
    const kernels = activeKernels();
    for (const p of this.params) {
      const g = grads.get(p.name);
      if (!g) throw new Error(`no gradient for trainable parameter ${p.name}`);
      const scalars: AdamWScalars = {
        beta1,
        beta2,
        eps,
        decayFactor: p.decay && weightDecay > 0 ? 1 - lr * weightDecay : 1,
        stepSize: lr / (1 - beta1 ** this.step),
        sqrtBias2: Math.sqrt(1 - beta2 ** this.step),
        gradScale,
      };
      const update = kernels ? adamwUpdateNative : tensorsOnGpu() ? adamwUpdateWebgpu : adamwUpdateReference;
      update(p.variable, g, this.m.get(p.name)!, this.v.get(p.name)!, scalars);
    }
  }

  /** Moments by parameter name, for checkpoints. */
  moments(): { m: Map<string, tf.Variable>; v: Map<string, tf.Variable> } {
    return { m: this.m, v: this.v };
  }

  dispose(): void {
    for (const t of [...this.m.values(), ...this.v.values()]) t.dispose();
  }
}

/** The plain-tfjs twin of the native update: every backend, and the test oracle. */
export function adamwUpdateReference(param: tf.Variable, g: tf.Tensor, m: tf.Variable, v: tf.Variable, s: AdamWScalars): void {
  tf.tidy(() => {
    const scaled = s.gradScale === 1 ? g : tf.mul(g, s.gradScale);
    const decayed = s.decayFactor === 1 ? param : tf.mul(param, s.decayFactor);
    m.assign(tf.add(tf.mul(m, s.beta1), tf.mul(scaled, 1 - s.beta1)));
    v.assign(tf.add(tf.mul(v, s.beta2), tf.mul(tf.square(scaled), 1 - s.beta2)));
    const denom = tf.add(tf.div(tf.sqrt(v), s.sqrtBias2), s.eps);
    param.assign(tf.sub(decayed, tf.mul(tf.div(m, denom), s.stepSize)));
  });
}

/**
 * In place: the optimizer owns these variables' buffers, and a 124M-parameter model cannot
 * afford a second copy of weights and moments per step.
 */
export function adamwUpdateNative(param: tf.Variable, g: tf.Tensor, m: tf.Variable, v: tf.Variable, s: AdamWScalars): void {
  activeKernels()!.adamwUpdate(f32(param), f32(g), f32(m), f32(v), s);
}

/** Σ g² over every gradient, the square of the global norm. */
export function gradSumSquares(grads: Iterable<tf.Tensor>): number {
  const kernels = activeKernels();
  const all = [...grads];
  if (kernels) return all.reduce((sum, g) => sum + kernels.sumSquares(f32(g)), 0);
  return tensorsOnGpu() ? gradSumSquaresWebgpu(all) : gradSumSquaresReference(all);
}

export function gradSumSquaresReference(grads: tf.Tensor[]): number {
  return tf.tidy(() => tf.addN(grads.map((g) => tf.sum(tf.square(g)))).dataSync()[0]);
}

/**
 * torch.nn.utils.clip_grad_norm_: the pre-clip global norm, and the factor the gradients are
 * to be scaled by (1 when within `maxNorm`), which AdamW.apply folds into its update.
 */
export function clipGradNorm(grads: Map<string, tf.Tensor>, maxNorm: number): { norm: number; scale: number } {
  const norm = Math.sqrt(gradSumSquares(grads.values()));
  const coef = maxNorm / (norm + 1e-6);
  return { norm, scale: maxNorm > 0 && coef < 1 ? coef : 1 };
}
