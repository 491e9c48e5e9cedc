// What an optimizer step updates. Full fine-tuning turns every weight into a variable in
// place (the tied LM head is the embedding, so it is one parameter with the summed
// gradient). LoRA trains only the A/B pairs; the base weights stay plain tensors that
// autodiff never differentiates and the optimizer never copies.
import { tf } from '../engine/backend';
import type { CausalLM } from '../models/causal-lm';
import { isLayerNormWeight, type LoraLayers } from '../models/weights';
import type { TrainableParam } from './adamw';

/** The Hugging Face Trainer's grouping: no weight decay on biases and LayerNorm weights. */
export function takesWeightDecay(name: string): boolean {
  return !name.endsWith('.bias') && !isLayerNormWeight(name);
}

export function makeFullTrainable(model: CausalLM): TrainableParam[] {
  const params: TrainableParam[] = [];
  for (const [name, tensor] of model.weights) {
    const variable = tf.variable(tensor, true);
    tensor.dispose();
    model.weights.set(name, variable);
    params.push({ name, variable, decay: takesWeightDecay(name) });
  }
  return params;
}

/** Names follow PEFT's saved keys without the `base_model.model.` prefix. */
export function makeLoraTrainable(layers: LoraLayers): TrainableParam[] {
  const params: TrainableParam[] = [];
  for (const [module, pair] of layers) {
    const a = tf.variable(pair.a, true);
    const b = tf.variable(pair.b, true);
    pair.a.dispose();
    pair.b.dispose();
    pair.a = a;
    pair.b = b;
    params.push({ name: `${module}.lora_A.weight`, variable: a, decay: true }, { name: `${module}.lora_B.weight`, variable: b, decay: true });
  }
  return params;
}
