// What to change when a run does not fit comfortably: LoRA instead of full fine-tuning,
// a smaller batch with more accumulation (the same effective batch), or a shorter max
// length. Each lever goes only as far as needed to fit; when none is enough alone, one
// suggestion pulls all of them together.
import { estimatePeak, type MemoryEstimate, type TrainingShape } from './estimate';

export interface Suggestion {
  /** What to change, in words. */
  change: string;
  /** The inputs with the change made. */
  shape: TrainingShape;
  estimate: MemoryEstimate;
}

export interface TrainingEstimate extends MemoryEstimate {
  /** Empty when the run fits. */
  suggestions: Suggestion[];
}

/** Shorter than this, most examples would be cut; suggesting it helps nobody. */
const SHORTEST_SEQ = 32;

interface Candidate {
  change: string;
  shape: TrainingShape;
}

/** The first candidate (mildest first) that fits, else the last: how far that lever goes. */
function mildestFitting(candidates: Candidate[]): Suggestion | null {
  let last: Suggestion | null = null;
  for (const c of candidates) {
    last = { ...c, estimate: estimatePeak(c.shape) };
    if (last.estimate.band === 'fits') return last;
  }
  return last;
}

/**
 * bench:train's LoRA rate in bf16 over fp32's (GPT-2 124M, b8, seq 128, no dropout), measured
 * on the 2-core AMD Zen 4 (AVX512-BF16) this feature was built on, while other work loaded it:
 * 90.2 vs 66.6, 78.7 vs 61.4 (load average 10) and 161.4 vs 100.0 tokens/s (load 6), i.e.
 * 1.35×, 1.28× and 1.61×; the median is quoted. Other CPUs differ.
 */
const MEASURED_BF16_LORA_SPEEDUP = { ratio: 1.35, on: '2-core AMD Zen 4' };

/** bf16 halves a LoRA run's frozen base where the CPU has a bf16 kernel; it costs the loss nothing. */
function toBf16(s: TrainingShape): Candidate[] {
  if (s.bf16 || !s.bf16Kernel || s.method !== 'lora') return [];
  const { ratio, on } = MEASURED_BF16_LORA_SPEEDUP;
  return [{ change: `bf16 mixed precision: the frozen base in bf16, half its memory (LoRA ran ${ratio.toFixed(2)}× fp32's speed on a ${on})`, shape: { ...s, bf16: true } }];
}

function toLora(s: TrainingShape): Candidate[] {
  return s.method === 'full' ? [{ change: 'LoRA instead of full fine-tuning', shape: { ...s, method: 'lora' } }] : [];
}

/** Divisors of the batch below it, largest first, each with the accumulation that keeps batch × accumulation. */
function smallerBatches(s: TrainingShape): Candidate[] {
  const accumulation = s.gradientAccumulation ?? 1;
  const found: Candidate[] = [];
  for (let b = s.batch - 1; b >= 1; b--) {
    if (s.batch % b !== 0) continue;
    const acc = (accumulation * s.batch) / b;
    found.push({ change: `batch ${b} × accumulation ${acc} (same effective batch ${s.batch * accumulation})`, shape: { ...s, batch: b, gradientAccumulation: acc } });
  }
  return found;
}

function shorterSequences(s: TrainingShape): Candidate[] {
  const found: Candidate[] = [];
  for (let seq = Math.floor(s.seq / 2); seq >= SHORTEST_SEQ; seq = Math.floor(seq / 2)) {
    found.push({ change: `max length ${seq} instead of ${s.seq}`, shape: { ...s, seq } });
  }
  return found;
}

export function suggestChanges(s: TrainingShape): Suggestion[] {
  const single = [toBf16(s), toLora(s), smallerBatches(s), shorterSequences(s)].map(mildestFitting).filter((x): x is Suggestion => x !== null);
  if (single.some((x) => x.estimate.band === 'fits')) return single;
  // Every lever at once: LoRA, batch 1, then as long a sequence as fits.
  const lora = toLora(s)[0]?.shape ?? s;
  const batch = smallerBatches(lora).pop()?.shape ?? lora;
  const together = mildestFitting([{ change: '', shape: batch }, ...shorterSequences(batch)]);
  if (!together) return single;
  const { shape } = together;
  const parts = [
    shape.method !== s.method ? 'LoRA instead of full fine-tuning' : null,
    shape.batch !== s.batch ? `batch ${shape.batch} × accumulation ${shape.gradientAccumulation}` : null,
    shape.seq !== s.seq ? `max length ${shape.seq}` : null,
  ].filter((p) => p !== null);
  // One lever alone is already among the single suggestions.
  return parts.length < 2 ? single : [...single, { ...together, change: parts.join(', ') }];
}

/** The estimate, and when it does not fit, what would. */
export function estimateTrainingMemory(s: TrainingShape): TrainingEstimate {
  const estimate = estimatePeak(s);
  return { ...estimate, suggestions: estimate.band === 'fits' ? [] : suggestChanges(s) };
}
