// Tunesmith's weights under llama.cpp's names and layouts, with the element type each
// gets: what convert_hf_to_gguf.py writes for f16 and q8_0, and what llama-quantize then
// picks for Q4_K_M (llama-quant.cpp), so a file reads as if llama.cpp's tools made it.
import type { tf } from '../../engine/backend';
import type { CausalLM } from '../../models/causal-lm';
import { getWeight } from '../../models/weights';
import type { ModelConfig } from '../../models/config';
import type { GgufQuant } from '../../api/contract';
import { BLOCK, type GgmlType } from './blocks';

export { GGUF_QUANTS, type GgufQuant } from '../../api/contract';

/** general.file_type (llama_ftype) for each choice. */
export const FILE_TYPE: Record<GgufQuant, number> = { f16: 1, q8_0: 7, q4_k_m: 15 };

export interface MappedTensor {
  name: string;
  /** Row-major [rows, cols] (or [n] for vectors) after any re-layout. */
  shape: number[];
  values(): Float32Array;
}

const data = (t: tf.Tensor) => t.dataSync() as Float32Array;

/** GPT-2's Conv1D stores [in, out]; llama.cpp wants nn.Linear's [out, in]. */
function transposed(t: tf.Tensor): () => Float32Array {
  return () => {
    const [rows, cols] = t.shape;
    const x = data(t);
    const out = new Float32Array(x.length);
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = x[r * cols + c];
    return out;
  };
}

/**
 * BLOOM's fused query_key_value rows are interleaved per head, [n_head, 3, head_dim, …];
 * llama.cpp splits them as GPT-2 does, all of q, then k, then v: [3, n_head, head_dim, …].
 */
function deinterleavedQkv(t: tf.Tensor, nHead: number): () => Float32Array {
  return () => {
    const x = data(t);
    const headDim = t.shape[0] / (3 * nHead);
    const rowLen = t.shape.length === 2 ? t.shape[1] : 1;
    const out = new Float32Array(x.length);
    for (let h = 0; h < nHead; h++) {
      for (let part = 0; part < 3; part++) {
        const from = (h * 3 + part) * headDim * rowLen;
        const to = (part * nHead + h) * headDim * rowLen;
        out.set(x.subarray(from, from + headDim * rowLen), to);
      }
    }
    return out;
  };
}

/** Every tensor llama.cpp's gpt2 or bloom graph reads, in the converter's order. */
export function llamaCppTensors(model: CausalLM): MappedTensor[] {
  const c = model.config;
  const w = (name: string) => getWeight(model.weights, name);
  const out: MappedTensor[] = [];
  const add = (name: string, hf: string, relayout?: (t: tf.Tensor) => () => Float32Array, shape?: number[]) => {
    const t = w(hf);
    out.push({ name, shape: shape ?? [...t.shape], values: relayout ? relayout(t) : () => data(t) });
  };
  const norm = (gguf: string, hf: string) => {
    add(`${gguf}.weight`, `${hf}.weight`);
    add(`${gguf}.bias`, `${hf}.bias`);
  };
  const E = c.nEmbd;
  if (c.modelType === 'gpt2') {
    add('token_embd.weight', 'transformer.wte.weight');
    add('position_embd.weight', 'transformer.wpe.weight');
    for (let i = 0; i < c.nLayer; i++) {
      const p = `transformer.h.${i}`;
      const b = `blk.${i}`;
      norm(`${b}.attn_norm`, `${p}.ln_1`);
      add(`${b}.attn_qkv.weight`, `${p}.attn.c_attn.weight`, transposed, [3 * E, E]);
      add(`${b}.attn_qkv.bias`, `${p}.attn.c_attn.bias`);
      add(`${b}.attn_output.weight`, `${p}.attn.c_proj.weight`, transposed, [E, E]);
      add(`${b}.attn_output.bias`, `${p}.attn.c_proj.bias`);
      norm(`${b}.ffn_norm`, `${p}.ln_2`);
      add(`${b}.ffn_up.weight`, `${p}.mlp.c_fc.weight`, transposed, [c.nInner, E]);
      add(`${b}.ffn_up.bias`, `${p}.mlp.c_fc.bias`);
      add(`${b}.ffn_down.weight`, `${p}.mlp.c_proj.weight`, transposed, [E, c.nInner]);
      add(`${b}.ffn_down.bias`, `${p}.mlp.c_proj.bias`);
    }
  } else {
    add('token_embd.weight', 'transformer.word_embeddings.weight');
    norm('token_embd_norm', 'transformer.word_embeddings_layernorm');
    for (let i = 0; i < c.nLayer; i++) {
      const p = `transformer.h.${i}`;
      const b = `blk.${i}`;
      norm(`${b}.attn_norm`, `${p}.input_layernorm`);
      add(`${b}.attn_qkv.weight`, `${p}.self_attention.query_key_value.weight`, (t) => deinterleavedQkv(t, c.nHead));
      add(`${b}.attn_qkv.bias`, `${p}.self_attention.query_key_value.bias`, (t) => deinterleavedQkv(t, c.nHead));
      add(`${b}.attn_output.weight`, `${p}.self_attention.dense.weight`);
      add(`${b}.attn_output.bias`, `${p}.self_attention.dense.bias`);
      norm(`${b}.ffn_norm`, `${p}.post_attention_layernorm`);
      add(`${b}.ffn_up.weight`, `${p}.mlp.dense_h_to_4h.weight`);
      add(`${b}.ffn_up.bias`, `${p}.mlp.dense_h_to_4h.bias`);
      add(`${b}.ffn_down.weight`, `${p}.mlp.dense_4h_to_h.weight`);
      add(`${b}.ffn_down.bias`, `${p}.mlp.dense_4h_to_h.bias`);
    }
  }
  norm('output_norm', 'transformer.ln_f');
  if (!c.tieWordEmbeddings) add('output.weight', 'lm_head.weight');
  return out;
}

/** Tensors that stay float32 in every file: vectors, norms, GPT-2's position table (the converter's and llama-quantize's rule). */
function staysF32(t: MappedTensor): boolean {
  return t.shape.length < 2 || t.name.endsWith('_norm.weight') || t.name === 'position_embd.weight' || !t.name.endsWith('.weight');
}

/** llama-quantize's use_more_bits: the first and last eighth of layers, and every third between. */
const useMoreBits = (i: number, n: number) => i < Math.floor(n / 8) || i >= Math.floor((7 * n) / 8) || (i - Math.floor(n / 8)) % 3 === 2;

/** A 256-block type on rows it does not divide falls back to a 32-block one, then to f16 (tensor_type_fallback). */
function fallback(type: GgmlType, cols: number): GgmlType {
  let t = type;
  if (cols % BLOCK[t].values !== 0) t = t === 'Q4_K' ? 'Q5_0' : t === 'Q6_K' ? 'Q8_0' : t;
  return cols % BLOCK[t].values === 0 ? t : 'F16';
}

/** The element type of every tensor for `quant`, in the order given. */
export function chooseTypes(tensors: readonly MappedTensor[], config: ModelConfig, quant: GgufQuant): GgmlType[] {
  const qkvCount = tensors.filter((t) => t.name.endsWith('attn_qkv.weight')).length;
  let qkvSeen = 0;
  const hasOutput = tensors.some((t) => t.name === 'output.weight');
  return tensors.map((t) => {
    if (staysF32(t)) return 'F32';
    const cols = t.shape[t.shape.length - 1];
    if (quant === 'f16') return 'F16';
    if (quant === 'q8_0') return fallback('Q8_0', cols);
    // Q4_K_M. The head (or the embedding a tied head shares) gets q6_K, or q8_0 on rows q6_K cannot split.
    if (t.name === 'output.weight' || (!hasOutput && t.name === 'token_embd.weight')) return cols % 256 === 0 ? 'Q6_K' : fallback('Q8_0', cols);
    let type: GgmlType = 'Q4_K';
    // Fused qkv counts as attn_v for the "more bits" rule, layer by layer.
    if (t.name.endsWith('attn_qkv.weight') && useMoreBits(qkvSeen++, qkvCount)) type = 'Q6_K';
    const layer = Number(/^blk\.(\d+)\./.exec(t.name)?.[1]);
    if (t.name.endsWith('ffn_down.weight') && useMoreBits(layer, config.nLayer)) type = 'Q6_K';
    return fallback(type, cols);
  });
}
