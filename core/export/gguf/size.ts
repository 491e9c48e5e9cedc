// How big each GGUF choice will be, before writing it, for the export panel: the model's
// parameter count from its weights file headers (no tensor is read) times each choice's
// bits per weight. Q4_K_M mixes q4_K with q6_K (and q8_0 where rows are narrow): llama.cpp
// quotes about 4.85 bits per weight for it.
import { openWeights } from '../../checkpoint/model-folder';
import { elementCount } from '../../checkpoint/tensor-source';
import type { GgufQuant } from '../../api/contract';

const BITS_PER_WEIGHT: Record<GgufQuant, number> = { f16: 16, q8_0: 8.5, q4_k_m: 4.85 };

export function ggufSizeEstimates(modelDir: string): Record<GgufQuant, number> {
  const source = openWeights(modelDir);
  let params = 0;
  try {
    for (const t of source.list()) params += elementCount(t.shape);
  } finally {
    source.close();
  }
  const size = (q: GgufQuant) => Math.round((params * BITS_PER_WEIGHT[q]) / 8);
  return { f16: size('f16'), q8_0: size('q8_0'), q4_k_m: size('q4_k_m') };
}
