// AdamW as torch.optim.AdamW: decoupled weight decay applied to the weight first, then the
// bias-corrected Adam step. Parameters in the no-decay group (biases, LayerNorm weights)
// skip the decay, as the Hugging Face Trainer groups them.
import { tf } from '../engine/backend';

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

  apply(grads: Map<string, tf.Tensor>, lr: number): void {
    this.step++;
    const { beta1, beta2, eps, weightDecay } = this.settings;
    const stepSize = lr / (1 - beta1 ** this.step);
    const sqrtBias2 = Math.sqrt(1 - beta2 ** this.step);
    for (const p of this.params) {
      const g = grads.get(p.name);
      if (!g) throw new Error(`no gradient for trainable parameter ${p.name}`);
      const m = this.m.get(p.name)!;
      const v = this.v.get(p.name)!;
      tf.tidy(() => {
        const decayed = p.decay && weightDecay > 0 ? tf.mul(p.variable, 1 - lr * weightDecay) : p.variable;
        m.assign(tf.add(tf.mul(m, beta1), tf.mul(g, 1 - beta1)));
        v.assign(tf.add(tf.mul(v, beta2), tf.mul(tf.square(g), 1 - beta2)));
        const denom = tf.add(tf.div(tf.sqrt(v), sqrtBias2), eps);
        p.variable.assign(tf.sub(decayed, tf.mul(tf.div(m, denom), stepSize)));
      });
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

/** torch.nn.utils.clip_grad_norm_: returns the pre-clip global norm and scales grads in place. */
export function clipGradNorm(grads: Map<string, tf.Tensor>, maxNorm: number): number {
  const total = Math.sqrt(
    tf.tidy(() => tf.addN([...grads.values()].map((g) => tf.sum(tf.square(g)))).dataSync()[0]),
  );
  const coef = maxNorm / (total + 1e-6);
  if (maxNorm > 0 && coef < 1) {
    for (const [name, g] of grads) {
      grads.set(name, tf.mul(g, coef));
      g.dispose();
    }
  }
  return total;
}
