// The compiled kernels of core/native, loaded when they were built. Every buffer argument is
// the Float32Array (or Int32Array) behind a tfjs cpu-backend tensor, shared, not copied.
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

type F32 = Float32Array;

/** One dropout call for the kernels: element i is kept, times scale, when bits(key, i) >= threshold (core/ops/dropout.ts). */
export interface DropoutParams {
  key: number;
  threshold: number;
  scale: number;
}

export interface LoraBuffers {
  a: F32;
  b: F32;
  /** Dropout on the LoRA input, its mask made in the kernel (forward and again in backward); null for none. */
  dropout: DropoutParams | null;
  scale: number;
  r: number;
}

/** The GEMM micro-kernels (core/native/src/gemm.h); TUNESMITH_GEMM_ISA forces one. */
export type GemmIsa = 'avx512' | 'avx2' | 'neon' | 'portable';

/** Numbering shared with the C++ enums. */
export const ACTIVATION_KIND = { gelu_new: 0, gelu_bloom: 1, gelu: 2, relu: 3 } as const;
export const QKV_LAYOUT = { gpt2: 0, bloom: 1 } as const;

export interface AttentionShape {
  batch: number;
  heads: number;
  headDim: number;
  tq: number;
  tk: number;
  layout: number;
  scale: number;
  /** [B or 1, H, Tk] */
  alibi: F32 | null;
  alibiPerBatch: boolean;
  /** [B, Tk], 0 = padding */
  keyMask: F32 | null;
  /** Dropout on the probabilities, made in the kernel by core/ops/dropout.ts's generator: element ((b·H + h)·Tq + i)·Tk + j of the call keyed `key`. */
  dropout: DropoutParams | null;
  /** q·kᵀ and p·v (and their gradients) on bf16-rounded inputs, fp32 accumulation (throws where info().bf16 is null). */
  bf16: boolean;
}

export interface AdamWScalars {
  beta1: number;
  beta2: number;
  eps: number;
  decayFactor: number;
  stepSize: number;
  sqrtBias2: number;
  gradScale: number;
}

export interface NativeKernels {
  /**
   * `bf16`: products on bf16-rounded inputs with fp32 accumulation (throws where info().bf16 is
   * null). w as a Uint16Array is a frozen weight stored as bf16 bits: its products are bf16 ones.
   */
  linearForward(x: F32, w: F32 | Uint16Array, bias: F32 | null, wInOut: boolean, n: number, inDim: number, outDim: number, lora: LoraBuffers | null, down: F32 | null, y: F32, bf16?: boolean): void;
  /** x may be null when neither dw nor the LoRA pair's gradients are asked for. */
  linearBackward(x: F32 | null, w: F32 | Uint16Array, wInOut: boolean, n: number, inDim: number, outDim: number, dy: F32, lora: LoraBuffers | null, down: F32 | null, dx: F32 | null, dw: F32 | null, db: F32 | null, da: F32 | null, dbLora: F32 | null, bf16?: boolean): void;
  layerNormForward(x: F32, gamma: F32, beta: F32, rows: number, cols: number, eps: number, y: F32, mean: F32, rstd: F32): void;
  layerNormBackward(x: F32, gamma: F32, mean: F32, rstd: F32, dy: F32, rows: number, cols: number, dx: F32 | null, dgamma: F32 | null, dbeta: F32 | null): void;
  activationForward(kind: number, x: F32, y: F32): void;
  activationBackward(kind: number, x: F32, dy: F32, dx: F32): void;
  /** stats [B, H, T, 2]: each query row's softmax max and 1/sum, all that backward needs besides qkv. */
  attentionForward(shape: AttentionShape, qkv: F32, stats: F32, y: F32): void;
  attentionBackward(shape: AttentionShape, qkv: F32, stats: F32, dy: F32, dqkv: F32): void;
  attentionDecode(shape: AttentionShape, qkv: F32, pastK: F32 | null, pastV: F32 | null, presentK: F32, presentV: F32, y: F32): void;
  crossEntropyForward(logits: F32, target: Int32Array, weight: F32, rows: number, vocab: number, lse: F32): number;
  crossEntropyBackward(logits: F32, target: Int32Array, weight: F32, lse: F32, rows: number, vocab: number, dloss: number, dlogits: F32): void;
  embeddingGather(table: F32, rows: number, ids: Int32Array, n: number, width: number, out: F32): void;
  embeddingScatterAdd(dy: F32, ids: Int32Array, n: number, width: number, dtable: F32, rows: number): void;
  sumSquares(x: F32): number;
  adamwUpdate(param: F32, grad: F32, m: F32, v: F32, s: AdamWScalars): void;
  /** y = x · (bits(key, i) >= threshold ? scale : 0), core/ops/dropout.ts's generator. */
  dropout(x: F32, key: number, threshold: number, scale: number, y: F32): void;
  /** out = a + b; out may be a. */
  add(a: F32, b: F32, out: F32): void;
  /** C = alpha · bf16(op(A))·bf16(op(B)) + beta · C with fp32 accumulation, row-major (throws where info().bf16 is null). */
  gemmBf16(transA: boolean, transB: boolean, m: number, n: number, k: number, alpha: number, a: F32, lda: number, b: F32, ldb: number, beta: number, c: F32, ldc: number): void;
  /**
   * Tunesmith's own GEMM on a named micro-kernel (tests, benchmarks): C[m,n] = alpha·op(A)·op(B)
   * + beta·C with tight row-major layouts; threads 0 = the pool's size.
   */
  sgemm(isa: GemmIsa, transA: boolean, transB: boolean, m: number, n: number, k: number, alpha: number, a: F32, b: F32, beta: number, c: F32, threads: number): void;
  /**
   * blas: the sgemm every kernel uses ("accelerate" on macOS, else the GEMM micro-kernel in
   * use); gemmIsas: the micro-kernels this CPU can run, fastest first; vectorIsa: the build of
   * the element-wise kernels in use (the GEMM's ISA, or portable where it has none of its own);
   * bf16: the bf16 kernel this CPU runs, or null with bf16Refusal saying why not; gemmBlocks:
   * the cache blocks of our GEMM's kernel in use, kc as cut to fit the L2 (l2Bytes, 0 unknown).
   */
  info(): {
    blas: string;
    threads: number;
    gemmIsas: GemmIsa[];
    vectorIsa: 'avx512' | 'avx2' | 'portable';
    bf16: string | null;
    bf16Refusal: string | null;
    gemmBlocks: { mc: number; kc: number; nc: number; l2Bytes: number };
  };
}

const requireFromHere = createRequire(import.meta.url);

/** Where node-gyp puts the addon; `TUNESMITH_NATIVE_ADDON` points elsewhere (the packaged app). */
export function nativeAddonPath(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  return process.env.TUNESMITH_NATIVE_ADDON ?? path.resolve(here, '..', 'native', 'build', 'Release', 'tunesmith_kernels.node');
}

/** Loads the addon or throws why it cannot (not built, built for another Node ABI, ...). */
export function loadNativeKernels(): NativeKernels {
  const file = nativeAddonPath();
  try {
    return requireFromHere(file) as NativeKernels;
  } catch (err) {
    const reason = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw new Error(`native kernels unavailable (${file}): ${reason}. Rebuild them with "npm run build:native".`);
  }
}
