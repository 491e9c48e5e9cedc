// Choosing the next token from one position's logits, in the order `transformers`
// applies its processors: repetition penalty, temperature, top-k, top-p.

export interface SamplingOptions {
  /** Argmax, ignoring every other option. */
  greedy: boolean;
  temperature: number;
  topK: number;
  topP: number;
  repetitionPenalty: number;
}

export const DEFAULT_SAMPLING: SamplingOptions = { greedy: false, temperature: 1, topK: 50, topP: 1, repetitionPenalty: 1 };

export function validateSampling(o: SamplingOptions): void {
  if (!(o.temperature > 0)) throw new Error(`temperature must be > 0, got ${o.temperature}`);
  if (!Number.isInteger(o.topK) || o.topK < 0) throw new Error(`top-k must be a whole number ≥ 0 (0 = off), got ${o.topK}`);
  if (!(o.topP > 0 && o.topP <= 1)) throw new Error(`top-p must be in (0, 1], got ${o.topP}`);
  if (!(o.repetitionPenalty > 0)) throw new Error(`repetition penalty must be > 0, got ${o.repetitionPenalty}`);
}

/** mulberry32: a tiny seeded generator, so a seed reproduces a sample across runs and machines. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

/** CTRL's penalty as HF applies it: divide positive scores, multiply negative ones. */
export function applyRepetitionPenalty(logits: Float32Array, seen: Iterable<number>, penalty: number): void {
  if (penalty === 1) return;
  for (const id of new Set(seen)) {
    const s = logits[id];
    logits[id] = s < 0 ? s * penalty : s / penalty;
  }
}

export function pickNextToken(logitsIn: Float32Array, seen: readonly number[], o: SamplingOptions, random: () => number): number {
  const logits = Float32Array.from(logitsIn);
  applyRepetitionPenalty(logits, seen, o.repetitionPenalty);
  if (o.greedy) return argmax(logits);

  let order = Array.from(logits.keys()).sort((x, y) => logits[y] - logits[x]);
  if (o.topK > 0 && o.topK < order.length) {
    const kth = logits[order[o.topK - 1]];
    order = order.filter((i) => logits[i] >= kth);
  }
  const max = logits[order[0]];
  let probs = order.map((i) => Math.exp((logits[i] - max) / o.temperature));
  let total = probs.reduce((a, b) => a + b, 0);
  if (o.topP < 1) {
    let cumulative = 0;
    let keep = 0;
    while (keep < probs.length && cumulative < o.topP * total) cumulative += probs[keep++];
    order = order.slice(0, Math.max(1, keep));
    probs = probs.slice(0, order.length);
    total = probs.reduce((a, b) => a + b, 0);
  }
  let u = random() * total;
  for (let j = 0; j < order.length; j++) {
    u -= probs[j];
    if (u <= 0) return order[j];
  }
  return order[order.length - 1];
}
