// Tunesmith's WGSL kernels (core/engine/wgsl) against their plain-tfjs twins on the webgpu
// backend, forward and backward on GPT-2-like shapes: wall time per call and the peak of
// tfjs's tensor bytes (all GPU buffers on this backend) per call, twin first as the anchor.
// On a software adapter (llvmpipe) the times are a rough sanity figure only.
//   npm run bench:webgpu-kernels -- [--batch 2] [--seq 64] [--vocab 50257] [--repeat 3]
import os from 'node:os';
import { parseArgs } from 'node:util';
import { describeBackend, initBackend, tf } from '../core/engine/backend';
import { trackTensorBytes } from './tensor-bytes';
import { adamwUpdateWebgpu } from '../core/engine/wgsl/adamw';
import { flashAttentionWebgpu } from '../core/engine/wgsl/flash-attention';
import { layerNormWebgpu } from '../core/engine/wgsl/layer-norm';
import { gradSumSquaresWebgpu } from '../core/engine/wgsl/sum-squares';
import { selfAttentionReference, selfAttentionWebgpu, type AttentionOptions } from '../core/ops/attention';
import { causalLmLossSumReference, causalLmLossSumWebgpu } from '../core/ops/cross-entropy';
import { layerNormReference } from '../core/ops/layer-norm';
import { adamwUpdateReference, gradSumSquaresReference } from '../core/train/adamw';

const { values } = parseArgs({
  options: { batch: { type: 'string', default: '2' }, seq: { type: 'string', default: '64' }, vocab: { type: 'string', default: '50257' }, repeat: { type: 'string', default: '3' } },
});
const [B, T, V, repeat] = [Number(values.batch), Number(values.seq), Number(values.vocab), Number(values.repeat)];
const [E, H] = [768, 12];

console.log(`machine load average (1, 5, 15 min): ${os.loadavg().map((l) => l.toFixed(2)).join(', ')} on ${os.cpus().length} cores`);
const choice = await initBackend('webgpu');
console.log(`backend ${describeBackend(choice)}; batch ${B}, seq ${T}, vocab ${V}, width ${E}, ${H} heads; ${repeat} timed calls after one warm-up${choice.adapter?.software ? ' (SOFTWARE adapter: times are a sanity figure, not GPU speed)' : ''}`);

/** Seconds per call (forward and backward, waited for) and the peak of new GPU buffers during one call (a reshape's shared buffer counted once). */
function measure(run: () => tf.Tensor[]): { seconds: number; peakBytes: number } {
  const finish = (ts: tf.Tensor[]) => {
    for (const t of ts) t.dataSync();
    tf.dispose(ts);
  };
  finish(run());
  const started = performance.now();
  for (let i = 0; i < repeat; i++) finish(run());
  const seconds = (performance.now() - started) / 1000 / repeat;
  const tracker = trackTensorBytes();
  finish(run());
  const peakBytes = tracker.peak();
  tracker.stop();
  return { seconds, peakBytes };
}

function row(name: string, twin: () => tf.Tensor[], kernel: () => tf.Tensor[]): void {
  const a = measure(twin);
  const b = measure(kernel);
  const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;
  console.log(`${name.padEnd(26)} twin ${a.seconds.toFixed(3)} s, peak ${mib(a.peakBytes)}   kernel ${b.seconds.toFixed(3)} s, peak ${mib(b.peakBytes)}   → ${(a.seconds / b.seconds).toFixed(2)}× the speed, ${b.peakBytes > 2 ** 10 ? `${(a.peakBytes / b.peakBytes).toFixed(2)}× less memory` : 'no temporaries'}`);
  console.log(JSON.stringify({ bench: 'webgpu-kernels', op: name, software: choice.adapter?.software ?? null, twin_s: a.seconds, kernel_s: b.seconds, twin_peak_bytes: a.peakBytes, kernel_peak_bytes: b.peakBytes }));
}

const wave = (shape: number[], range = 1) => tf.tidy(() => tf.mul(tf.sin(tf.reshape(tf.range(0, shape.reduce((x, y) => x * y, 1)), shape)), range));

const logits = wave([B, T, V], 3) as tf.Tensor3D;
const labels = Array.from({ length: B }, (_, b) => Array.from({ length: T }, (_, t) => (b * 7919 + t * 104729) % V));
const lossGrad = (f: typeof causalLmLossSumReference) => () => {
  const { value, grad } = tf.valueAndGrad((x: tf.Tensor) => f(x as tf.Tensor3D, labels).sum)(logits);
  return [value, grad];
};
row('cross-entropy fwd+bwd', lossGrad(causalLmLossSumReference), lossGrad(causalLmLossSumWebgpu));
logits.dispose();

const qkv = wave([B, T, 3 * E], 2) as tf.Tensor3D;
const o: AttentionOptions = { nHead: H, layout: 'gpt2', scale: 1 / Math.sqrt(E / H) };
const attentionGrad = (f: typeof selfAttentionReference) => () => {
  const { value, grad } = tf.valueAndGrad((x: tf.Tensor) => tf.sum(f(x as tf.Tensor3D, o).y) as tf.Scalar)(qkv);
  return [value, grad];
};
row('attention fwd+bwd', attentionGrad(selfAttentionReference), attentionGrad(selfAttentionWebgpu));
// Flash-style, which selfAttentionWebgpu takes only where [B, H, T, T] cannot be bound.
const flashGrad = () => {
  const { value, grad } = tf.valueAndGrad((x: tf.Tensor) => tf.sum(flashAttentionWebgpu(x as tf.Tensor3D, { ...o, heads: H })) as tf.Scalar)(qkv);
  return [value, grad];
};
row('attention, flash', attentionGrad(selfAttentionReference), flashGrad);
qkv.dispose();

const x = wave([B, T, E], 3);
const gamma = wave([E]);
const beta = wave([E], 0.1);
const lnGrad = (f: typeof layerNormReference) => () => tf.grads((a: tf.Tensor, g: tf.Tensor, bb: tf.Tensor) => tf.sum(f(a, g, bb, 1e-5)) as tf.Scalar)([x, gamma, beta]);
row('LayerNorm fwd+bwd', lnGrad(layerNormReference), lnGrad(layerNormWebgpu));

// GPT-2's largest trainable projection (c_fc, 768 × 3072).
const n = E * 4 * E;
const state = [wave([n]), wave([n], 0.1), tf.abs(wave([n], 0.01))].map((t) => tf.variable(t));
const g = wave([n], 0.5);
const scalars = { beta1: 0.9, beta2: 0.999, eps: 1e-8, decayFactor: 1, stepSize: 1e-4, sqrtBias2: 0.05, gradScale: 1 };
const adam = (f: typeof adamwUpdateReference) => () => {
  f(state[0], g, state[1], state[2], scalars);
  return [tf.slice(state[0], 0, 1)];
};
row(`AdamW on ${n} params`, adam(adamwUpdateReference), adam(adamwUpdateWebgpu));
tf.dispose([...state, g]);

// Clipping's global norm over a block's worth of MLP gradients.
const grads = [0, 1, 2, 3].map(() => wave([E, 4 * E], 0.01));
row('sum of squares, 4 grads', () => [tf.scalar(gradSumSquaresReference(grads))], () => [tf.scalar(gradSumSquaresWebgpu(grads))]);
process.exit(0);
