// bf16 mixed precision with PyTorch-autocast semantics: while autocast is on, every matmul
// in a projection takes bf16-rounded inputs and accumulates in fp32; everything else (LayerNorm,
// softmax, loss, gradients, master weights, AdamW) stays fp32. The compiled kernels round while
// they pack; this file holds the rounding itself and its plain-tfjs emulation, which other
// backends run and which the kernels are tested against.
import { toBf16Bits } from '../checkpoint/tensor-source';
import { activeKernels, tf } from '../engine/backend';

let autocast = false;

/** Runs fn with bf16 autocast on or off (restored afterwards), like `torch.autocast`. */
export function withBf16Autocast<T>(on: boolean, fn: () => T): T {
  const previous = autocast;
  autocast = on;
  try {
    return fn();
  } finally {
    autocast = previous;
  }
}

/**
 * Why bf16 cannot run here, or null: the native backend runs it only where the CPU has a bf16
 * kernel (emulating it there would be slower than fp32 for nothing); other backends emulate it.
 */
export function bf16Refusal(): string | null {
  const info = activeKernels()?.info();
  return info && !info.bf16 ? info.bf16Refusal : null;
}

let presentFor: ReturnType<typeof activeKernels>;
let present = false;

/**
 * Whether a compiled bf16 kernel runs here (the native backend on a CPU with one), so bf16-stored
 * weights cost no widening. Asked by every projection and attention call under bf16; the answer
 * is fixed when the addon loads, so it is read once per kernels in use.
 */
export function bf16KernelPresent(): boolean {
  const kernels = activeKernels();
  if (kernels !== presentFor) {
    presentFor = kernels;
    present = Boolean(kernels?.info().bf16);
  }
  return present;
}

/** How `"bf16": true` would run here, for `tunesmith info`: the kernel, emulated, or why not. */
export function bf16Status(): string {
  const info = activeKernels()?.info();
  if (!info) return 'emulated (no native kernels on this backend)';
  return info.bf16 ?? `unavailable: ${info.bf16Refusal}`;
}

/** Whether projections run in bf16 now. Ops read it when they run forward, and keep it for backward. */
export function bf16Autocast(): boolean {
  return autocast;
}

/**
 * A frozen weight kept as bf16 bits: a LoRA run's base under bf16, at half the memory of fp32
 * and holding exactly the numbers autocast multiplies by. Only projections read it; the bf16
 * kernel packs its bits directly, the plain-tfjs twin widens them back to fp32 (exactly).
 */
export class Bf16Weight {
  readonly dtype = 'bfloat16';
  constructor(
    readonly bits: Uint16Array,
    readonly shape: number[],
  ) {}

  static from(t: tf.Tensor): Bf16Weight {
    return new Bf16Weight(toBf16Bits(t.dataSync() as Float32Array), t.shape);
  }

  get size(): number {
    return this.bits.length;
  }

  /** The same values in fp32 (every bf16 is one), as a new tensor the caller disposes. */
  toTensor(): tf.Tensor {
    return tf.tensor(widen(this.bits), this.shape, 'float32');
  }

  /** Its bits are a plain array the garbage collector frees; present so model weights dispose alike. */
  dispose(): void {}
}

/** fp32 values rounded to the nearest bf16 (ties to even, subnormals to zero), as fp32. */
export function roundToBf16(values: Float32Array): Float32Array {
  return widen(toBf16Bits(values));
}

function widen(bits: Uint16Array): Float32Array {
  const out = new Uint32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = bits[i] << 16;
  return new Float32Array(out.buffer);
}

function rounded(t: tf.Tensor): tf.Tensor {
  return tf.tensor(roundToBf16(t.dataSync() as Float32Array), t.shape, 'float32');
}

/** A matmul input under autocast: rounded forward; its gradient passes through unchanged. */
const bf16Input = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({
  value: rounded(args[0] as tf.Tensor),
  gradFunc: (dy: tf.Tensor) => dy,
})) as (x: tf.Tensor) => tf.Tensor;

/** A matmul output under autocast: unchanged forward; the gradient flowing back into the matmul is rounded, as it is one of the backward matmuls' inputs. */
const bf16Output = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({
  value: tf.clone(args[0] as tf.Tensor),
  gradFunc: (dy: tf.Tensor) => rounded(dy),
})) as (y: tf.Tensor) => tf.Tensor;

/**
 * alpha · op(a)·op(b), in bf16 when `bf16` (the emulation: inputs of the forward and of both
 * backward products rounded, fp32 accumulation), else plain fp32. alpha is applied to the fp32
 * product, as the kernels do.
 */
export function matMulAutocast(a: tf.Tensor, b: tf.Tensor, transposeA: boolean, transposeB: boolean, bf16: boolean, alpha = 1): tf.Tensor {
  if (!bf16) {
    const y = tf.matMul(a, b, transposeA, transposeB);
    return alpha === 1 ? y : tf.mul(y, alpha);
  }
  const y = tf.matMul(bf16Input(a), bf16Input(b), transposeA, transposeB);
  return bf16Output(alpha === 1 ? y : tf.mul(y, alpha));
}
