// Reads a Hugging Face `config.json` into one normalised shape both architectures
// share. GPT-2 and BLOOM name the same things differently (n_embd vs hidden_size,
// n_layer vs num_hidden_layers...); everything after this file uses these names.

export const SUPPORTED_MODEL_TYPES = ['gpt2', 'bloom'] as const;
export type ModelType = (typeof SUPPORTED_MODEL_TYPES)[number];

export type Activation = 'gelu_new' | 'gelu' | 'gelu_bloom' | 'relu';

export interface ModelConfig {
  modelType: ModelType;
  nLayer: number;
  nEmbd: number;
  nHead: number;
  nInner: number;
  vocabSize: number;
  /** Learned position table size (GPT-2); BLOOM's ALiBi has no limit, so null. */
  maxPositions: number | null;
  layerNormEps: number;
  activation: Activation;
  /** Dropout probabilities; all off at inference. */
  embdDropout: number;
  residDropout: number;
  attnDropout: number;
  /** GPT-2 only: divide scores by sqrt(head_dim) / by (layer index + 1). */
  scaleAttnWeights: boolean;
  scaleAttnByInverseLayerIdx: boolean;
  tieWordEmbeddings: boolean;
  bosTokenId: number | null;
  eosTokenId: number | null;
  padTokenId: number | null;
  /** The untouched config.json, written back on export so `transformers` sees its own fields. */
  raw: Record<string, unknown>;
}

export class ConfigError extends Error {}

export function parseModelConfig(raw: unknown, source = 'config.json'): ModelConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ConfigError(`${source}: must be a JSON object`);
  }
  const cfg = raw as Record<string, unknown>;
  const modelType = cfg.model_type as ModelType;
  if (typeof modelType !== 'string') throw new ConfigError(`${source}: field "model_type" is missing`);
  if (!(SUPPORTED_MODEL_TYPES as readonly string[]).includes(modelType)) {
    throw new ConfigError(`${source}: not supported yet: ${modelType} (Tunesmith runs ${SUPPORTED_MODEL_TYPES.join(' and ')})`);
  }

  const int = (keys: string[], fallback?: number): number => {
    for (const k of keys) {
      const v = cfg[k];
      if (v === undefined || v === null) continue;
      if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) {
        throw new ConfigError(`${source}: field "${k}" must be a positive integer, got ${JSON.stringify(v)}`);
      }
      return v;
    }
    if (fallback !== undefined) return fallback;
    throw new ConfigError(`${source}: field "${keys[0]}" is missing`);
  };
  const num = (key: string, fallback: number): number => {
    const v = cfg[key];
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new ConfigError(`${source}: field "${key}" must be a non-negative number`);
    return v;
  };
  const tokenId = (key: string): number | null => {
    const v = cfg[key];
    if (Array.isArray(v)) return typeof v[0] === 'number' ? v[0] : null;
    return typeof v === 'number' ? v : null;
  };

  const common = {
    vocabSize: int(['vocab_size']),
    tieWordEmbeddings: cfg.tie_word_embeddings !== false,
    bosTokenId: tokenId('bos_token_id'),
    eosTokenId: tokenId('eos_token_id'),
    padTokenId: tokenId('pad_token_id'),
    raw: cfg,
  };

  if (modelType === 'gpt2') {
    const nEmbd = int(['n_embd']);
    const nHead = int(['n_head']);
    if (nEmbd % nHead !== 0) throw new ConfigError(`${source}: "n_embd" (${nEmbd}) must be divisible by "n_head" (${nHead})`);
    const act = (cfg.activation_function ?? 'gelu_new') as string;
    const activations: Record<string, Activation> = { gelu_new: 'gelu_new', gelu_pytorch_tanh: 'gelu_new', gelu: 'gelu', relu: 'relu' };
    if (!(act in activations)) throw new ConfigError(`${source}: field "activation_function" = "${act}" is not supported yet`);
    return {
      ...common,
      modelType,
      nLayer: int(['n_layer']),
      nEmbd,
      nHead,
      nInner: int(['n_inner'], 4 * nEmbd),
      maxPositions: int(['n_positions', 'n_ctx']),
      layerNormEps: num('layer_norm_epsilon', 1e-5),
      activation: activations[act],
      embdDropout: num('embd_pdrop', 0.1),
      residDropout: num('resid_pdrop', 0.1),
      attnDropout: num('attn_pdrop', 0.1),
      scaleAttnWeights: cfg.scale_attn_weights !== false,
      scaleAttnByInverseLayerIdx: cfg.scale_attn_by_inverse_layer_idx === true,
    };
  }

  const nEmbd = int(['hidden_size', 'n_embed']);
  const nHead = int(['n_head', 'num_attention_heads']);
  if (nEmbd % nHead !== 0) throw new ConfigError(`${source}: "hidden_size" (${nEmbd}) must be divisible by "n_head" (${nHead})`);
  if (cfg.apply_residual_connection_post_layernorm === true) {
    throw new ConfigError(`${source}: "apply_residual_connection_post_layernorm": true is not supported yet`);
  }
  if (typeof cfg.pretraining_tp === 'number' && cfg.pretraining_tp > 1 && cfg.slow_but_exact === true) {
    throw new ConfigError(`${source}: "slow_but_exact" tensor-parallel emulation is not supported`);
  }
  return {
    ...common,
    modelType,
    nLayer: int(['n_layer', 'num_hidden_layers']),
    nEmbd,
    nHead,
    nInner: 4 * nEmbd,
    maxPositions: null,
    layerNormEps: num('layer_norm_epsilon', 1e-5),
    activation: 'gelu_bloom',
    embdDropout: 0,
    residDropout: num('hidden_dropout', 0),
    attnDropout: num('attention_dropout', 0),
    scaleAttnWeights: true,
    scaleAttnByInverseLayerIdx: false,
  };
}
