// Which of a repository's files a model needs: config, one weights layout, tokenizer and
// generation config. Hub repos also carry TensorFlow, Flax, ONNX and Core ML copies of the
// weights, often larger than the model itself; those are never fetched.

/** Preferred first, in the order checkpoint/model-folder opens them: safetensors cannot run code. */
export const WEIGHT_FILES = ['model.safetensors', 'model.safetensors.index.json', 'pytorch_model.bin'] as const;

export const CONFIG_FILE = 'config.json';

/** Fetched when the repository has them; none is required. */
export const OPTIONAL_FILES = [
  'tokenizer.json',
  'tokenizer_config.json',
  'vocab.json',
  'merges.txt',
  'special_tokens_map.json',
  'added_tokens.json',
  'chat_template.jinja',
  'generation_config.json',
] as const;

const INDEX_FILE = 'model.safetensors.index.json';

/** The weights file (or shard index) to fetch; throws naming what the repository has instead. */
export function chooseWeights(modelId: string, available: ReadonlySet<string>): string {
  const found = WEIGHT_FILES.find((f) => available.has(f));
  if (found) return found;
  const other = [...available].filter((f) => /\.(bin|safetensors|h5|msgpack|onnx|gguf)$/.test(f));
  const has = other.length ? `; it has ${other.slice(0, 4).join(', ')}` : '';
  throw new Error(`${modelId}: no weights Tunesmith can read (looked for ${WEIGHT_FILES.join(', ')})${has}`);
}

export function isShardIndex(file: string): boolean {
  return file === INDEX_FILE;
}

/** The shard files a safetensors index names, each once, in order; `source` names the index in errors. */
export function shardFiles(index: unknown, source: string): string[] {
  const map = (index as { weight_map?: unknown } | null)?.weight_map;
  if (typeof map !== 'object' || map === null || Array.isArray(map)) throw new Error(`${source}: field "weight_map" is missing`);
  const shards = new Set<string>();
  for (const [tensor, file] of Object.entries(map)) {
    if (typeof file !== 'string' || file.includes('..') || file.startsWith('/')) {
      throw new Error(`${source}: field "weight_map.${tensor}" must name a shard file in the same folder`);
    }
    shards.add(file);
  }
  if (shards.size === 0) throw new Error(`${source}: field "weight_map" is empty`);
  return [...shards];
}
