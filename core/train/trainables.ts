// What an optimizer step updates. Full fine-tuning turns every weight into a variable in
// place (the tied LM head is the embedding, so it is one parameter with the summed
// gradient). LoRA trains only the A/B pairs; the base weights stay plain tensors that
// autodiff never differentiates and the optimizer never copies.
import { tf } from '../engine/backend';
import type { CausalLM } from '../models/causal-lm';
import { Bf16Weight, bf16KernelPresent } from '../ops/bf16';
import { fp32Weight, isLayerNormWeight, type LoraLayers } from '../models/weights';
import type { TrainableParam } from './adamw';

/** The Hugging Face Trainer's grouping: no weight decay on biases and LayerNorm weights. */
export function takesWeightDecay(name: string): boolean {
  return !name.endsWith('.bias') && !isLayerNormWeight(name);
}

export function makeFullTrainable(model: CausalLM): TrainableParam[] {
  const params: TrainableParam[] = [];
  for (const [name, tensor] of model.weights) {
    const variable = tf.variable(fp32Weight(name, tensor), true);
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

/**
 * A LoRA run in bf16 keeps its frozen projections as bf16 bits where a bf16 kernel reads them:
 * half their memory, and the very numbers autocast would round them to (elsewhere the emulation
 * multiplies the fp32 weights, and widening bf16 back every step would only cost time). The
 * fp32 tensors are freed one by one, so no more than one weight is ever held twice. The token
 * embedding stays fp32 even where it is the tied head: autocast looks embeddings up in fp32, and
 * a second, bf16 copy for the head would cost more than it saves. Returns the bytes freed.
 */
export function keepFrozenBaseInBf16(model: CausalLM): number {
  if (!bf16KernelPresent()) return 0;
  const projections = model.arch.loraTargets.map((t) => `.${t}.weight`);
  let freed = 0;
  for (const [name, t] of model.weights) {
    if (t instanceof Bf16Weight || !(name === 'lm_head.weight' || projections.some((p) => name.endsWith(p)))) continue;
    model.weights.set(name, Bf16Weight.from(t));
    t.dispose();
    freed += t.size * 2;
  }
  return freed;
}
