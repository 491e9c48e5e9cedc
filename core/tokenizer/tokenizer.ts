// Text ↔ token ids. `tokenizer.json` goes straight to @huggingface/tokenizers; a folder
// with only the original GPT-2 `vocab.json` + `merges.txt` gets the equivalent byte-level
// BPE description built in memory, so both give the same ids.
import fs from 'node:fs';
import path from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { readJsonFile, requireModelFolder } from '../checkpoint/model-folder';

export interface SpecialTokens {
  bos: number | null;
  eos: number | null;
  pad: number | null;
}

export class TextTokenizer {
  constructor(
    private readonly inner: Tokenizer,
    readonly special: SpecialTokens,
    readonly source: string,
  ) {}

  /** Ids without special tokens added, as `add_special_tokens=False`. */
  encode(text: string): number[] {
    return this.inner.encode(text, { add_special_tokens: false }).ids;
  }

  decode(ids: readonly number[], skipSpecialTokens = false): string {
    if (ids.length === 0) return '';
    return this.inner.decode([...ids], { skip_special_tokens: skipSpecialTokens });
  }

  /** What the trainer pads with: the pad token, or EOS as GPT-2 recipes do. */
  get padId(): number | null {
    return this.special.pad ?? this.special.eos;
  }
}

type Json = Record<string, unknown>;

function readOptionalJson(file: string): Json {
  return fs.existsSync(file) ? (readJsonFile(file) as Json) : {};
}

/** A special token may be written as a string or as an AddedToken object {content: ...}. */
function tokenText(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && typeof (v as Json).content === 'string') return (v as Json).content as string;
  return null;
}

/** The folder's tokenizer.json, or the one `transformers` would build from vocab.json + merges.txt; `source` names the file read. */
export function tokenizerDescription(dir: string): { description: Json; source: string } {
  const jsonFile = path.join(dir, 'tokenizer.json');
  if (fs.existsSync(jsonFile)) return { description: readJsonFile(jsonFile) as Json, source: jsonFile };
  if (fs.existsSync(path.join(dir, 'vocab.json')) && fs.existsSync(path.join(dir, 'merges.txt'))) {
    const tokenizerConfig = readOptionalJson(path.join(dir, 'tokenizer_config.json'));
    const specialMap = readOptionalJson(path.join(dir, 'special_tokens_map.json'));
    const eos = tokenText(specialMap.eos_token ?? tokenizerConfig.eos_token) ?? '<|endoftext|>';
    return { description: byteLevelBpe(dir, eos), source: path.join(dir, 'vocab.json') };
  }
  throw new Error(`${dir}: no tokenizer found (needs tokenizer.json, or vocab.json with merges.txt)`);
}

export function loadTokenizer(dir: string): TextTokenizer {
  requireModelFolder(dir);
  const tokenizerConfig = readOptionalJson(path.join(dir, 'tokenizer_config.json'));
  const specialMap = readOptionalJson(path.join(dir, 'special_tokens_map.json'));
  const modelConfig = readOptionalJson(path.join(dir, 'config.json'));

  const { description, source } = tokenizerDescription(dir);

  let inner: Tokenizer;
  try {
    inner = new Tokenizer(description, tokenizerConfig);
  } catch (err) {
    throw new Error(`${source}: cannot build the tokenizer (${(err as Error).message})`);
  }

  const idOf = (key: string): number | null => {
    const text = tokenText(specialMap[key] ?? tokenizerConfig[key]);
    if (text !== null) {
      const id = inner.token_to_id(text);
      if (id !== undefined) return id;
    }
    const fromConfig = modelConfig[`${key}_id`];
    return typeof fromConfig === 'number' ? fromConfig : null;
  };
  return new TextTokenizer(inner, { bos: idOf('bos_token'), eos: idOf('eos_token'), pad: idOf('pad_token') }, source);
}

/** The tokenizer.json that `transformers` would make from GPT2Tokenizer's two files. */
function byteLevelBpe(dir: string, eos: string): Json {
  const vocab = readJsonFile(path.join(dir, 'vocab.json')) as Record<string, number>;
  const merges = fs
    .readFileSync(path.join(dir, 'merges.txt'), 'utf8')
    .split('\n')
    .filter((line) => line.length > 0 && !line.startsWith('#version'));
  const added = eos in vocab ? [{ id: vocab[eos], content: eos, single_word: false, lstrip: false, rstrip: false, normalized: true, special: true }] : [];
  return {
    version: '1.0',
    added_tokens: added,
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '', fuse_unk: false, byte_fallback: false, vocab, merges },
  };
}
