// Training from weights that hold NaN or infinity only spreads them: every loss and every
// update after the first step is NaN. Found while loading, naming the tensor.
import type { CausalLM } from './causal-lm';
import { fp32Weight } from './weights';

export function refuseNonFiniteWeights(model: CausalLM, modelDir: string): void {
  for (const [name, t] of model.weights) {
    const values = fp32Weight(name, t).dataSync();
    for (let i = 0; i < values.length; i++) {
      if (!Number.isFinite(values[i])) {
        throw new Error(`${modelDir}: weight "${name}" holds a non-finite value (${values[i]} at element ${i}); these weights cannot be trained`);
      }
    }
  }
}
