import { tf } from '../engine/backend';
import type { CausalLM } from '../models/causal-lm';
import type { ForwardOptions, LayerCache } from '../models/weights';
import { DEFAULT_SAMPLING, pickNextToken, seededRandom, validateSampling, type SamplingOptions } from './sampling';

export interface GenerateOptions extends Partial<SamplingOptions> {
  maxNewTokens: number;
  /** Stop after this token (the tokenizer's EOS) unless null. */
  eosId?: number | null;
  seed?: number;
  /** Recompute the whole sequence each step; only the benchmark wants this, to show the cache's gain. */
  noCache?: boolean;
  /** Called with each new token as soon as it is chosen, for streaming. */
  onToken?: (id: number) => void;
  /** Extra forward options, e.g. LoRA layers of a fine-tuned run. */
  forward?: ForwardOptions;
}

/**
 * Autoregressive decoding. With the KV cache the prompt is run once and each new token
 * costs one position; without it every step reruns the full sequence.
 */
export function generate(model: CausalLM, promptIds: readonly number[], opts: GenerateOptions): number[] {
  const fresh: number[] = [];
  for (const id of generateTokens(model, promptIds, opts)) {
    fresh.push(id);
    opts.onToken?.(id);
  }
  return fresh;
}

/**
 * The same decoding one token at a time, so a caller can stop it or let other work run
 * between tokens; leaving the loop early frees the KV cache.
 */
export function* generateTokens(model: CausalLM, promptIds: readonly number[], opts: Omit<GenerateOptions, 'onToken'>): Generator<number, void, undefined> {
  if (promptIds.length === 0) throw new Error('the prompt is empty; give at least one token');
  if (!Number.isInteger(opts.maxNewTokens) || opts.maxNewTokens < 0) throw new Error(`max new tokens must be a whole number ≥ 0, got ${opts.maxNewTokens}`);
  const sampling: SamplingOptions = {
    greedy: opts.greedy ?? DEFAULT_SAMPLING.greedy,
    temperature: opts.temperature ?? DEFAULT_SAMPLING.temperature,
    topK: opts.topK ?? DEFAULT_SAMPLING.topK,
    topP: opts.topP ?? DEFAULT_SAMPLING.topP,
    repetitionPenalty: opts.repetitionPenalty ?? DEFAULT_SAMPLING.repetitionPenalty,
  };
  validateSampling(sampling);
  const random = seededRandom(opts.seed ?? 0);
  const all = [...promptIds];
  let cache: LayerCache[] | undefined;
  try {
    for (let step = 0; step < opts.maxNewTokens; step++) {
      const input = opts.noCache || !cache ? all : all.slice(-1);
      const [last, ...next] = tf.tidy(() => {
        const { logits, cache: nextCache } = model.forward(tf.tensor2d([input], undefined, 'int32'), {
          ...opts.forward,
          cache: opts.noCache ? undefined : cache,
          useCache: !opts.noCache,
          logitsToKeep: 1,
        });
        // logitsToKeep: 1 leaves only the last position's row.
        return [tf.reshape(logits, [-1]), ...(nextCache ?? []).flatMap((layer) => [layer.k, layer.v])];
      });
      disposeCache(cache);
      cache = opts.noCache ? undefined : pairUp(next as tf.Tensor4D[]);
      const scores = last.dataSync() as Float32Array;
      last.dispose();
      const id = pickNextToken(scores, all, sampling, random);
      all.push(id);
      yield id;
      if (opts.eosId !== undefined && opts.eosId !== null && id === opts.eosId) break;
    }
  } finally {
    disposeCache(cache);
  }
}

/** tidy returns a flat list; the cache is [k0, v0, k1, v1, ...] in it. */
function pairUp(flat: tf.Tensor4D[]): LayerCache[] {
  const layers: LayerCache[] = [];
  for (let i = 0; i < flat.length; i += 2) layers.push({ k: flat[i], v: flat[i + 1] });
  return layers;
}

function disposeCache(cache: LayerCache[] | undefined): void {
  for (const layer of cache ?? []) {
    layer.k.dispose();
    layer.v.dispose();
  }
}
