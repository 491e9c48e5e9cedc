// BLOOM: token embeddings followed by a LayerNorm, no position table (ALiBi biases the
// attention scores by key position instead), pre-LayerNorm blocks, a final LayerNorm and
// a tied LM head. Linear weights are torch's [out, in]; the fused query_key_value output
// is interleaved per head as [n_head, 3, head_dim].
import { tf } from '../engine/backend';
import { activate } from '../ops/activations';
import { selfAttention } from '../ops/attention';
import { embeddingLookup, TiedGradient } from '../ops/embedding';
import { layerNorm } from '../ops/layer-norm';
import { linear } from '../ops/linear';
import type { ModelConfig } from './config';
import { activeDropoutDraw, attentionDropout, dropoutFn, getProjectionWeight, getWeight, lmHead, type ForwardOptions, type ForwardResult, type LayerCache, type Weights } from './weights';

export function bloomWeightShapes(c: ModelConfig): Map<string, number[]> {
  const E = c.nEmbd;
  const shapes = new Map<string, number[]>([
    ['transformer.word_embeddings.weight', [c.vocabSize, E]],
    ['transformer.word_embeddings_layernorm.weight', [E]],
    ['transformer.word_embeddings_layernorm.bias', [E]],
    ['transformer.ln_f.weight', [E]],
    ['transformer.ln_f.bias', [E]],
  ]);
  for (let i = 0; i < c.nLayer; i++) {
    const p = `transformer.h.${i}`;
    shapes.set(`${p}.input_layernorm.weight`, [E]).set(`${p}.input_layernorm.bias`, [E]);
    shapes.set(`${p}.self_attention.query_key_value.weight`, [3 * E, E]).set(`${p}.self_attention.query_key_value.bias`, [3 * E]);
    shapes.set(`${p}.self_attention.dense.weight`, [E, E]).set(`${p}.self_attention.dense.bias`, [E]);
    shapes.set(`${p}.post_attention_layernorm.weight`, [E]).set(`${p}.post_attention_layernorm.bias`, [E]);
    shapes.set(`${p}.mlp.dense_h_to_4h.weight`, [c.nInner, E]).set(`${p}.mlp.dense_h_to_4h.bias`, [c.nInner]);
    shapes.set(`${p}.mlp.dense_4h_to_h.weight`, [E, c.nInner]).set(`${p}.mlp.dense_4h_to_h.bias`, [E]);
  }
  return shapes;
}

export const BLOOM_LORA_TARGETS = ['query_key_value', 'dense', 'dense_h_to_4h', 'dense_4h_to_h'];

/**
 * ALiBi slopes exactly as transformers' build_alibi_tensor: a geometric series for the
 * largest power of two ≤ n_head, then every other slope of the next power's series for
 * the remaining heads.
 */
export function alibiSlopes(nHead: number): number[] {
  const closest = 2 ** Math.floor(Math.log2(nHead));
  const base = 2 ** -(2 ** -(Math.log2(closest) - 3));
  const slopes = Array.from({ length: closest }, (_, i) => base ** (i + 1));
  if (closest !== nHead) {
    const extraBase = 2 ** -(2 ** -(Math.log2(2 * closest) - 3));
    const remaining = Math.min(closest, nHead - closest);
    for (let i = 0; i < remaining; i++) slopes.push(extraBase ** (2 * i + 1));
  }
  return slopes;
}

/** [B, H, 1, Tk]: slope × key position, positions counted over real tokens only. */
function alibiBias(nHead: number, batch: number, tk: number, mask?: tf.Tensor2D): tf.Tensor {
  return tf.tidy(() => {
    const positions = mask
      ? tf.mul(tf.sub(tf.cumsum(tf.cast(mask, 'float32'), 1), 1), tf.cast(mask, 'float32'))
      : tf.tile(tf.reshape(tf.range(0, tk, 1, 'float32'), [1, tk]), [batch, 1]);
    const slopes = tf.tensor4d(alibiSlopes(nHead), [1, nHead, 1, 1]);
    return tf.mul(slopes, tf.reshape(positions, [batch, 1, 1, tk]));
  });
}

export function bloomForward(w: Weights, c: ModelConfig, ids: tf.Tensor2D, opts: ForwardOptions = {}): ForwardResult {
  const drop = dropoutFn(opts);
  const loraDrop = activeDropoutDraw(opts, opts.loraDropout ?? 0);
  const [batch, t] = ids.shape;
  const past = opts.cache?.[0]?.k.shape[2] ?? 0;
  const proj = (x: tf.Tensor, module: string) =>
    linear(x, getProjectionWeight(w, `${module}.weight`), getWeight(w, `${module}.bias`), 'out_in', opts.lora?.get(module), loraDrop);
  const norm = (x: tf.Tensor, name: string) =>
    layerNorm(x, getWeight(w, `${name}.weight`), getWeight(w, `${name}.bias`), c.layerNormEps);

  const headDim = c.nEmbd / c.nHead;
  const alibi = alibiBias(c.nHead, batch, past + t, opts.attentionMask);
  const newCache: LayerCache[] = [];

  // The head reuses word_embeddings; both its gradients go into one buffer.
  const tied = new TiedGradient();
  let x = norm(embeddingLookup(getWeight(w, 'transformer.word_embeddings.weight'), ids, tied), 'transformer.word_embeddings_layernorm');

  for (let i = 0; i < c.nLayer; i++) {
    const p = `transformer.h.${i}`;

    // Self-attention with ALiBi. The fused projection is laid out per head as (q, k, v).
    const qkv = proj(norm(x, `${p}.input_layernorm`), `${p}.self_attention.query_key_value`) as tf.Tensor3D;
    const { y: attended, cache } = selfAttention(qkv, {
      nHead: c.nHead,
      layout: 'bloom',
      scale: 1 / Math.sqrt(headDim),
      alibi,
      keyMask: opts.attentionMask,
      dropout: attentionDropout(opts, c.attnDropout),
      past: opts.cache?.[i],
      keepCache: opts.useCache,
    });
    if (cache) newCache.push(cache);
    x = tf.add(x, drop(proj(attended, `${p}.self_attention.dense`), c.residDropout));

    // MLP with BLOOM's GELU.
    const hidden = activate(c.activation, proj(norm(x, `${p}.post_attention_layernorm`), `${p}.mlp.dense_h_to_4h`));
    x = tf.add(x, drop(proj(hidden, `${p}.mlp.dense_4h_to_h`), c.residDropout));
  }

  x = norm(x, 'transformer.ln_f');
  const logits = lmHead(w, x, 'transformer.word_embeddings.weight', opts.logitsToKeep, tied);
  return { logits, cache: opts.useCache ? newCache : undefined };
}
