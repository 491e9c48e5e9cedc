// The metadata llama.cpp reads before any tensor: the architecture's hyperparameters
// under `<arch>.*` (as convert_hf_to_gguf.py's GPT2Model and BloomModel write them) and
// the tokenizer, embedded as a byte-level BPE ("gpt2" model) with the pre-tokenizer name
// llama-vocab.cpp maps to the family's split regex.
import type { ModelConfig } from '../../models/config';
import { tokenizerDescription, type TextTokenizer } from '../../tokenizer/tokenizer';
import { gguf, type GgufValue } from './container';
import { FILE_TYPE, type GgufQuant } from './tensors';

/** llama_token_type values. */
const NORMAL = 1;
const CONTROL = 3;
const USER_DEFINED = 4;
const UNUSED = 5;

/** tokenizer.ggml.pre per family: the names llama.cpp's converter gives GPT-2's and BLOOM's tokenizers. */
const PRE_TOKENIZER = { gpt2: 'gpt-2', bloom: 'bloom' } as const;

/**
 * BLOOM uses ALiBi and has no trained length; the converter falls back to the hidden
 * size, which would cap a small model at a few tokens. BLOOM was trained on 2048.
 */
const BLOOM_CONTEXT = 2048;

export function architectureMetadata(config: ModelConfig, name: string, quant: GgufQuant): [string, GgufValue][] {
  const arch = config.modelType;
  const context = arch === 'gpt2' ? (config.maxPositions ?? 1024) : typeof config.raw.seq_length === 'number' ? config.raw.seq_length : BLOOM_CONTEXT;
  const kv: [string, GgufValue][] = [
    ['general.architecture', gguf.string(arch)],
    ['general.name', gguf.string(name)],
    ['general.file_type', gguf.u32(FILE_TYPE[quant])],
    [`${arch}.context_length`, gguf.u32(context)],
    [`${arch}.embedding_length`, gguf.u32(config.nEmbd)],
    [`${arch}.feed_forward_length`, gguf.u32(config.nInner)],
    [`${arch}.block_count`, gguf.u32(config.nLayer)],
    [`${arch}.attention.head_count`, gguf.u32(config.nHead)],
  ];
  if (arch === 'bloom') kv.push([`${arch}.attention.head_count_kv`, gguf.u32(config.nHead)]);
  kv.push([`${arch}.attention.layer_norm_epsilon`, gguf.f32(config.layerNormEps)]);
  if (quant !== 'f16') kv.push(['general.quantization_version', gguf.u32(2)]);
  return kv;
}

interface AddedToken {
  id: number;
  content: string;
  special?: boolean;
}

/**
 * The vocabulary as llama.cpp's BPE reads it: one string per id up to the model's vocab
 * size (ids the tokenizer never uses become "[PADn]", unused), added tokens marked
 * control (special) or user-defined, and the merges as "left right".
 */
export function tokenizerMetadata(dir: string, tokenizer: TextTokenizer, config: ModelConfig, chatTemplate: string | null): [string, GgufValue][] {
  const { description, source } = tokenizerDescription(dir);
  const model = description.model as { type?: string; vocab?: Record<string, number>; merges?: (string | [string, string])[] } | undefined;
  if (model?.type !== 'BPE' || !model.vocab || !model.merges) throw new Error(`${source}: only byte-level BPE tokenizers can be embedded in GGUF (model.type is ${model?.type})`);
  const size = config.vocabSize;
  const tokens: string[] = Array.from({ length: size }, (_, i) => `[PAD${i}]`);
  const types: number[] = new Array(size).fill(UNUSED);
  const place = (text: string, id: number, type: number) => {
    if (id >= size) throw new Error(`${source}: token ${JSON.stringify(text)} has id ${id}, beyond the model's vocab_size ${size}`);
    tokens[id] = text;
    types[id] = type;
  };
  for (const [text, id] of Object.entries(model.vocab)) place(text, id, NORMAL);
  for (const t of (description.added_tokens ?? []) as AddedToken[]) place(t.content, t.id, t.special ? CONTROL : USER_DEFINED);
  const merges = model.merges.map((m) => (Array.isArray(m) ? m.join(' ') : m));

  const kv: [string, GgufValue][] = [
    ['tokenizer.ggml.model', gguf.string('gpt2')],
    ['tokenizer.ggml.pre', gguf.string(PRE_TOKENIZER[config.modelType])],
    ['tokenizer.ggml.tokens', gguf.strings(tokens)],
    ['tokenizer.ggml.token_type', gguf.i32s(types)],
    ['tokenizer.ggml.merges', gguf.strings(merges)],
  ];
  const { bos, eos, pad } = tokenizer.special;
  if (bos !== null) kv.push(['tokenizer.ggml.bos_token_id', gguf.u32(bos)]);
  if (eos !== null) kv.push(['tokenizer.ggml.eos_token_id', gguf.u32(eos)]);
  if (pad !== null) kv.push(['tokenizer.ggml.padding_token_id', gguf.u32(pad)]);
  // Neither family's tokenizer adds BOS/EOS to text (transformers' defaults); llama.cpp must not either.
  kv.push(['tokenizer.ggml.add_bos_token', gguf.bool(false)], ['tokenizer.ggml.add_eos_token', gguf.bool(false)]);
  if (chatTemplate) kv.push(['tokenizer.chat_template', gguf.string(chatTemplate)]);
  return kv;
}
