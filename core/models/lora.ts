// PEFT LoRA adapters: read an adapter folder onto a model, or fold it into the weights.
// PEFT stores A as [r, in] and B as [out, r] whatever the base layer's layout; for GPT-2's
// Conv1D (fan_in_fan_out) the merged delta is therefore transposed.
import path from 'node:path';
import { tf } from '../engine/backend';
import { readJsonFile } from '../checkpoint/model-folder';
import { SafetensorsFile } from '../checkpoint/safetensors';
import { ARCHITECTURES, type CausalLM } from './causal-lm';
import { getWeight, type LoraLayers, type Weights } from './weights';

export interface LoraAdapter {
  r: number;
  alpha: number;
  dropout: number;
  targetModules: string[] | string;
  fanInFanOut: boolean;
  layers: LoraLayers;
}

/** PEFT's rule: a string is a regex over the full module name, a list matches name suffixes. */
export function isTargeted(module: string, targets: string[] | string): boolean {
  if (typeof targets === 'string') return new RegExp(`^(?:${targets})$`).test(module);
  return targets.some((t) => module === t || module.endsWith(`.${t}`));
}

const KEY_PATTERN = /^base_model\.model\.(.+)\.lora_([AB])(?:\.[^.]+)?\.weight$/;

/** An adapter made for another architecture targets projections this model does not have: say so, not which PEFT flag differs. */
function refuseOtherArchitecture(configFile: string, targets: string[] | string, model: CausalLM): void {
  const names = [targets].flat();
  const hits = (projections: string[]) => projections.some((p) => names.includes(p) || (typeof targets === 'string' && new RegExp(`(?:^|\\.)${p}$`).test(targets)));
  if (hits(model.arch.loraTargets)) return;
  const other = Object.entries(ARCHITECTURES).find(([type, arch]) => type !== model.config.modelType && hits(arch.loraTargets));
  if (!other) return;
  throw new Error(
    `${configFile}: this adapter was trained on a ${other[0]} model (it targets ${names.join(', ')}), but the base model is ${model.config.modelType} (${model.arch.loraTargets.join(', ')})`,
  );
}

export function loadAdapter(dir: string, model: CausalLM): LoraAdapter {
  const configFile = path.join(dir, 'adapter_config.json');
  const cfg = readJsonFile(configFile) as Record<string, unknown>;
  const field = (key: string) => {
    if (cfg[key] === undefined) throw new Error(`${configFile}: field "${key}" is missing`);
    return cfg[key];
  };
  if (cfg.peft_type !== undefined && cfg.peft_type !== 'LORA') throw new Error(`${configFile}: peft_type "${cfg.peft_type}" is not supported (only LORA)`);
  for (const flag of ['use_dora', 'use_rslora'] as const) {
    if (cfg[flag] === true) throw new Error(`${configFile}: "${flag}": true is not supported yet`);
  }
  const r = Number(field('r'));
  const alpha = Number(field('lora_alpha'));
  if (!(r > 0) || !(alpha > 0)) throw new Error(`${configFile}: "r" and "lora_alpha" must be positive`);
  const targetModules = field('target_modules') as string[] | string;
  refuseOtherArchitecture(configFile, targetModules, model);
  const fanInFanOut = cfg.fan_in_fan_out === true;
  if (fanInFanOut !== model.arch.fanInFanOut) {
    throw new Error(`${configFile}: "fan_in_fan_out": ${fanInFanOut} does not match a ${model.config.modelType} model`);
  }

  const weightsFile = path.join(dir, 'adapter_model.safetensors');
  const file = new SafetensorsFile(weightsFile);
  const halves = new Map<string, { a?: tf.Tensor; b?: tf.Tensor }>();
  try {
    for (const stored of file.list()) {
      const m = KEY_PATTERN.exec(stored.name);
      if (!m) throw new Error(`${weightsFile}: tensor "${stored.name}" is not a PEFT LoRA weight`);
      const module = m[1];
      if (!isTargeted(module, targetModules)) throw new Error(`${weightsFile}: "${stored.name}" adapts ${module}, which target_modules ${JSON.stringify(targetModules)} does not name`);
      const base = model.weights.get(`${module}.weight`);
      if (!base) throw new Error(`${weightsFile}: "${stored.name}" adapts ${module}, which this ${model.config.modelType} model does not have`);
      const [rows, cols] = base.shape;
      const [inDim, outDim] = fanInFanOut ? [rows, cols] : [cols, rows];
      const want = m[2] === 'A' ? [r, inDim] : [outDim, r];
      if (stored.shape.join(',') !== want.join(',')) {
        throw new Error(`${weightsFile}: "${stored.name}" has shape [${stored.shape}] but the model's ${module} needs [${want}] (r=${r})`);
      }
      const entry = halves.get(module) ?? {};
      entry[m[2] === 'A' ? 'a' : 'b'] = tf.tensor(file.read(stored.name), want, 'float32');
      halves.set(module, entry);
    }
  } catch (err) {
    for (const h of halves.values()) [h.a, h.b].forEach((t) => t?.dispose());
    throw err;
  } finally {
    file.close();
  }
  const layers: LoraLayers = new Map();
  for (const [module, { a, b }] of halves) {
    if (!a || !b) throw new Error(`${weightsFile}: ${module} has lora_${a ? 'A' : 'B'} but not lora_${a ? 'B' : 'A'}`);
    layers.set(module, { a, b, scale: alpha / r });
  }
  if (layers.size === 0) throw new Error(`${weightsFile}: holds no LoRA weights`);
  return { r, alpha, dropout: Number(cfg.lora_dropout ?? 0), targetModules, fanInFanOut, layers };
}

/** W + scale·B·A (transposed for Conv1D), as PEFT's merge_and_unload. Returns new weights. */
export function mergeAdapter(weights: Weights, adapter: LoraAdapter): Weights {
  const merged: Weights = new Map(weights);
  for (const [module, pair] of adapter.layers) {
    const name = `${module}.weight`;
    const base = getWeight(weights, name);
    merged.set(name, tf.tidy(() => {
      const delta = tf.mul(tf.matMul(pair.b, pair.a), pair.scale);
      return tf.add(base, adapter.fanInFanOut ? tf.transpose(delta) : delta);
    }));
  }
  return merged;
}

/**
 * Fresh LoRA pairs as PEFT creates them: A from kaiming_uniform(a=√5), i.e. uniform in
 * ±1/√fan_in, and B = 0, so the adapted model starts identical to the base.
 */
export function createLoraLayers(model: CausalLM, targets: string[], r: number, alpha: number, seed: number): LoraLayers {
  const layers: LoraLayers = new Map();
  for (const [name, w] of model.weights) {
    if (!name.endsWith('.weight')) continue;
    const module = name.slice(0, -'.weight'.length);
    if (!isTargeted(module, targets) || !model.arch.loraTargets.some((t) => module.endsWith(`.${t}`))) continue;
    const [rows, cols] = w.shape;
    const [inDim, outDim] = model.arch.fanInFanOut ? [rows, cols] : [cols, rows];
    const bound = 1 / Math.sqrt(inDim);
    layers.set(module, {
      a: tf.randomUniform([r, inDim], -bound, bound, 'float32', seed + layers.size),
      b: tf.zeros([outDim, r]),
      scale: alpha / r,
    });
  }
  if (layers.size === 0) throw new Error(`lora.target_modules ${JSON.stringify(targets)} match no projection of this ${model.config.modelType} model (choose from ${model.arch.loraTargets.join(', ')})`);
  return layers;
}
