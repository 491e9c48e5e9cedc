// GPT-2, read top to bottom as in nanoGPT's model.py: token + learned position
// embeddings, pre-LayerNorm blocks of causal self-attention and an MLP, a final
// LayerNorm and an LM head tied to the token embedding. Conv1D weights are [in, out].
import { tf } from '../engine/backend';
import { activate } from '../ops/activations';
import { selfAttention } from '../ops/attention';
import { embeddingLookup, TiedGradient } from '../ops/embedding';
import { layerNorm } from '../ops/layer-norm';
import { linear } from '../ops/linear';
import type { ModelConfig } from './config';
import { activeDropoutDraw, attentionDropout, dropoutFn, getProjectionWeight, getWeight, lmHead, type ForwardOptions, type ForwardResult, type LayerCache, type Weights } from './weights';

/** Every weight a GPT-2 checkpoint must provide, with its shape. */
export function gpt2WeightShapes(c: ModelConfig): Map<string, number[]> {
  const E = c.nEmbd;
  const shapes = new Map<string, number[]>([
    ['transformer.wte.weight', [c.vocabSize, E]],
    ['transformer.wpe.weight', [c.maxPositions ?? 0, E]],
    ['transformer.ln_f.weight', [E]],
    ['transformer.ln_f.bias', [E]],
  ]);
  for (let i = 0; i < c.nLayer; i++) {
    const p = `transformer.h.${i}`;
    shapes.set(`${p}.ln_1.weight`, [E]).set(`${p}.ln_1.bias`, [E]);
    shapes.set(`${p}.attn.c_attn.weight`, [E, 3 * E]).set(`${p}.attn.c_attn.bias`, [3 * E]);
    shapes.set(`${p}.attn.c_proj.weight`, [E, E]).set(`${p}.attn.c_proj.bias`, [E]);
    shapes.set(`${p}.ln_2.weight`, [E]).set(`${p}.ln_2.bias`, [E]);
    shapes.set(`${p}.mlp.c_fc.weight`, [E, c.nInner]).set(`${p}.mlp.c_fc.bias`, [c.nInner]);
    shapes.set(`${p}.mlp.c_proj.weight`, [c.nInner, E]).set(`${p}.mlp.c_proj.bias`, [E]);
  }
  return shapes;
}

/** The projections LoRA can target, all Conv1D ([in, out], PEFT's fan_in_fan_out). */
export const GPT2_LORA_TARGETS = ['c_attn', 'c_proj', 'c_fc'];

export function gpt2Forward(w: Weights, c: ModelConfig, ids: tf.Tensor2D, opts: ForwardOptions = {}): ForwardResult {
  const drop = dropoutFn(opts);
  const loraDrop = activeDropoutDraw(opts, opts.loraDropout ?? 0);
  const [, t] = ids.shape;
  const past = opts.cache?.[0]?.k.shape[2] ?? 0;
  if (c.maxPositions !== null && past + t > c.maxPositions) {
    throw new Error(`sequence of ${past + t} tokens is longer than this GPT-2's ${c.maxPositions} positions`);
  }
  // Conv1D projection by module name, with its LoRA pair when one is attached.
  const proj = (x: tf.Tensor, module: string) =>
    linear(x, getProjectionWeight(w, `${module}.weight`), getWeight(w, `${module}.bias`), 'in_out', opts.lora?.get(module), loraDrop);
  const norm = (x: tf.Tensor, name: string) =>
    layerNorm(x, getWeight(w, `${name}.weight`), getWeight(w, `${name}.bias`), c.layerNormEps);

  const headDim = c.nEmbd / c.nHead;
  const newCache: LayerCache[] = [];

  // The head reuses wte; both its gradients go into one buffer.
  const tied = new TiedGradient();
  const tokens = embeddingLookup(getWeight(w, 'transformer.wte.weight'), ids, tied);
  const positions = embeddingLookup(getWeight(w, 'transformer.wpe.weight'), tf.range(past, past + t, 1, 'int32'));
  let x = drop(tf.add(tokens, positions), c.embdDropout);

  for (let i = 0; i < c.nLayer; i++) {
    const p = `transformer.h.${i}`;

    // Causal self-attention from one fused projection to q, k, v (all q, then k, then v).
    const qkv = proj(norm(x, `${p}.ln_1`), `${p}.attn.c_attn`) as tf.Tensor3D;
    let scale = c.scaleAttnWeights ? 1 / Math.sqrt(headDim) : 1;
    if (c.scaleAttnByInverseLayerIdx) scale /= i + 1;
    const { y: attended, cache } = selfAttention(qkv, {
      nHead: c.nHead,
      layout: 'gpt2',
      scale,
      keyMask: opts.attentionMask,
      dropout: attentionDropout(opts, c.attnDropout),
      past: opts.cache?.[i],
      keepCache: opts.useCache,
    });
    if (cache) newCache.push(cache);
    x = tf.add(x, drop(proj(attended, `${p}.attn.c_proj`), c.residDropout));

    // MLP: expand, activate, project back.
    const hidden = activate(c.activation, proj(norm(x, `${p}.ln_2`), `${p}.mlp.c_fc`));
    x = tf.add(x, drop(proj(hidden, `${p}.mlp.c_proj`), c.residDropout));
  }

  x = norm(x, 'transformer.ln_f');
  const logits = lmHead(w, x, 'transformer.wte.weight', opts.logitsToKeep, tied);
  return { logits, cache: opts.useCache ? newCache : undefined };
}
