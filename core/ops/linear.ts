import { activeKernels, bindableRowBlocks, tf } from '../engine/backend';
import { bf16Autocast, bf16KernelPresent, Bf16Weight, matMulAutocast } from './bf16';
import type { LoraBuffers } from '../engine/native-kernels';
import type { TiedGradient } from './embedding';
import { dropoutParams, dropoutReference, type DropoutCall } from './dropout';
import { f32, fused, isTrained, tensorOf } from './native-tensors';

/**
 * How a checkpoint stores a projection: GPT-2's Conv1D keeps [in, out], torch's
 * nn.Linear (BLOOM) keeps [out, in]. Weights stay in their checkpoint layout so
 * export writes them back untouched.
 */
export type WeightLayout = 'in_out' | 'out_in';

/** A projection's weight: fp32, or a frozen base kept in bf16 (whose products are always bf16 ones). */
export type ProjectionWeight = tf.Tensor | Bf16Weight;

/** A LoRA pair on one projection, in PEFT's layout: A is [r, in], B is [out, r]. */
export interface LoraPair {
  a: tf.Tensor;
  b: tf.Tensor;
  scale: number;
}

/**
 * The dropout on the LoRA input: called once per forward pass that has a LoRA path, it draws
 * that call from the run's dropout stream (core/ops/dropout.ts), whose mask the kernel makes.
 */
export type LoraDropout = () => DropoutCall;

/**
 * y = x·W + b, plus the LoRA path (dropout(x)·Aᵀ)·Bᵀ·scale without ever forming A·B,
 * so a frozen base weight is read, never copied.
 */
export function linear(x: tf.Tensor, weight: ProjectionWeight, bias: tf.Tensor | undefined, layout: WeightLayout, lora?: LoraPair, loraDropout?: LoraDropout, tied?: TiedGradient): tf.Tensor {
  const bf16 = bf16Autocast() || weight instanceof Bf16Weight;
  // Under bf16 autocast without a bf16 kernel (other backends) the twin emulates it.
  const kernels = activeKernels();
  return kernels && (!bf16 || bf16KernelPresent())
    ? linearNative(x, weight, bias, layout, lora, loraDropout, bf16, tied)
    : linearReference(x, weight, bias, layout, lora, loraDropout, bf16);
}

/**
 * The plain-tfjs twin: runs on every backend and is the native kernel's test oracle; with
 * `bf16` it emulates the bf16 kernels (every product's inputs rounded, fp32 accumulation).
 */
export function linearReference(x: tf.Tensor, stored: ProjectionWeight, bias: tf.Tensor | undefined, layout: WeightLayout, lora?: LoraPair, loraDropout?: LoraDropout, bf16 = false): tf.Tensor {
  return tf.tidy(() => {
    // Widening bf16 bits is exact, so the emulation multiplies the same numbers.
    const weight = stored instanceof Bf16Weight ? stored.toTensor() : stored;
    bf16 ||= stored instanceof Bf16Weight;
    const inDim = x.shape[x.shape.length - 1]!;
    const lead = x.shape.slice(0, -1);
    const x2 = tf.reshape(x, [-1, inDim]);
    let y = bf16 ? matMulAutocast(x2, weight, false, layout === 'out_in', true) : matMulWeight(x2, weight, layout);
    if (bias) y = tf.add(y, bias);
    if (lora) {
      const drop = loraDropout?.();
      const input = drop ? dropoutReference(x2, drop.rate, drop.seed, drop.call) : x2;
      const down = matMulAutocast(input, lora.a, false, true, bf16);
      y = tf.add(y, matMulAutocast(down, lora.b, false, true, bf16, lora.scale));
    }
    return tf.reshape(y, [...lead, -1]);
  });
}

/**
 * x2 · W (or Wᵀ). A frozen [out, in] weight too big for the GPU to bind (the tied GPT-2 head)
 * is multiplied block by block of output rows, [N, out_block] each, joined along the outputs.
 */
function matMulWeight(x2: tf.Tensor, weight: tf.Tensor, layout: WeightLayout): tf.Tensor {
  const blocks = layout === 'out_in' && !isTrained(weight) ? bindableRowBlocks(weight) : null;
  if (!blocks) return tf.matMul(x2, weight, false, layout === 'out_in');
  return tf.concat(blocks.map((block) => tf.matMul(x2, block, false, true)), 1);
}

/** With `tied`, a trained weight's gradient is left there for the embedding lookup instead of returned (see TiedGradient). */
export function linearNative(x: tf.Tensor, weight: ProjectionWeight, bias: tf.Tensor | undefined, layout: WeightLayout, lora?: LoraPair, loraDropout?: LoraDropout, bf16 = false, tied?: TiedGradient): tf.Tensor {
  const k = activeKernels()!;
  const inDim = x.shape[x.shape.length - 1]!;
  const outDim = layout === 'in_out' ? weight.shape[1]! : weight.shape[0]!;
  const n = x.size / inDim;
  const wInOut = layout === 'in_out';
  const bits = weight instanceof Bf16Weight ? weight.bits : null;
  const inBf16 = bf16 || bits !== null;
  const needsDw = !bits && isTrained(weight as tf.Tensor);
  const trained = { w: needsDw && !tied, b: isTrained(bias), a: isTrained(lora?.a), loraB: isTrained(lora?.b) };
  const inputs = [x, ...(trained.w ? [weight as tf.Tensor] : []), ...(trained.b ? [bias!] : []), ...(trained.a ? [lora!.a] : []), ...(trained.loraB ? [lora!.b] : [])];
  const outShape = [...x.shape.slice(0, -1), outDim];
  return fused(inputs, () => {
    const xs = f32(x);
    const ws = bits ?? f32(weight as tf.Tensor);
    let loraBuffers: LoraBuffers | null = null;
    let down: Float32Array | null = null;
    if (lora) {
      const r = lora.a.shape[0]!;
      const drop = loraDropout?.();
      loraBuffers = { a: f32(lora.a), b: f32(lora.b), dropout: drop ? dropoutParams(drop.rate, drop.seed, drop.call) : null, scale: lora.scale, r };
      down = new Float32Array(n * r);
    }
    // Backward reads x only for the weight's or the adapter's gradient. A frozen projection
    // without LoRA lets it go (often nothing else holds it: a LayerNorm's or GELU's output).
    const savedX = needsDw || lora ? xs : null;
    const y = new Float32Array(n * outDim);
    k.linearForward(xs, ws, bias ? f32(bias) : null, wInOut, n, inDim, outDim, loraBuffers, down, y, inBf16);
    return {
      value: tensorOf(y, outShape),
      gradFunc: (dy) => {
        const r = loraBuffers?.r ?? 0;
        const dx = new Float32Array(n * inDim);
        const dw = needsDw ? new Float32Array(weight.size) : null;
        const db = trained.b ? new Float32Array(outDim) : null;
        const da = trained.a ? new Float32Array(r * inDim) : null;
        const dbLora = trained.loraB ? new Float32Array(outDim * r) : null;
        k.linearBackward(savedX, ws, wInOut, n, inDim, outDim, f32(dy), loraBuffers, down, dx, dw, db, da, dbLora, inBf16);
        const grads = [tensorOf(dx, x.shape)];
        if (dw && tied) tied.give(dw);
        else if (dw) grads.push(tensorOf(dw, weight.shape));
        if (db) grads.push(tensorOf(db, [outDim]));
        if (da) grads.push(tensorOf(da, lora!.a.shape));
        if (dbLora) grads.push(tensorOf(dbLora, lora!.b.shape));
        return grads;
      },
    };
  });
}
