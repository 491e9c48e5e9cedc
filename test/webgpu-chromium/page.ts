// The engine as the desktop app's GPU window runs it (core/engine on Chromium's navigator.gpu,
// no Dawn), bundled for a plain page by test/webgpu-chromium.test.ts. First the window's own
// start (core/app/gpu-window-worker.ts, as its preload runs it) over a MessageChannel; then, as a
// page has no file system for the trainer, the fixture's weights are fetched from the test's
// server and the trainer's own step (gradients, clipping, AdamW) runs the reference's full
// fine-tune, and generation runs greedy.
import type { GpuWindowReport } from '../../core/app/gpu-window-protocol';
import { runGpuWindow } from '../../core/app/gpu-window-worker';
import { describeGpu, initWebgpuOnly, tf } from '../../core/engine/backend';
import { startWebgpu } from '../../core/engine/webgpu';
import type { StoredTensor, TensorSource } from '../../core/checkpoint/tensor-source';
import { generate } from '../../core/generate/generate';
import { parseModelConfig } from '../../core/models/config';
import { modelFromWeights } from '../../core/models/from-weights';
import { AdamW, clipGradNorm } from '../../core/train/adamw';
import { accumulateGradients } from '../../core/train/step';
import { makeFullTrainable } from '../../core/train/trainables';
import type { Batch } from '../../core/data/batching';

export interface PageRequest {
  model: string;
  batch: Batch;
  steps: number;
  hyperparameters: { lr: number; weight_decay: number; betas: [number, number]; eps: number; max_grad_norm: number };
  greedy: { prompt_ids: number[]; max_new_tokens: number };
}

export interface PageAnswer {
  /** Why Automatic (hardware only) refuses this adapter, or null if it took it. */
  automatic: string | null;
  /** The adapter as Settings and run records show it. */
  adapter: string;
  software: boolean;
  losses: number[];
  gradNorms: number[];
  greedyIds: number[];
}

/** The model folder's tensors as the test's server lists and serves them, read in full before the model is built. */
async function fetchedWeights(model: string): Promise<TensorSource> {
  const list = (await (await fetch(`/weights/${model}/index.json`)).json()) as StoredTensor[];
  const data = new Map<string, Float32Array>();
  for (const t of list) data.set(t.name, new Float32Array(await (await fetch(`/weights/${model}/${encodeURIComponent(t.name)}`)).arrayBuffer()));
  return { path: `/weights/${model}`, list: () => list, read: (name) => data.get(name)!, close: () => data.clear() };
}

async function run(request: PageRequest): Promise<PageAnswer> {
  // Fails before a device is opened, so the window's start (probe) stays the only one.
  const automatic = await startWebgpu(false).then(
    () => null,
    (err: Error) => err.message,
  );
  // Software allowed: SwiftShader is the only adapter a headless test machine has.
  const choice = await initWebgpuOnly(true);
  const config = parseModelConfig(await (await fetch(`/weights/${request.model}/config.json`)).json(), `${request.model}/config.json`);
  const { model } = modelFromWeights(config, await fetchedWeights(request.model));
  const greedyIds = generate(model, request.greedy.prompt_ids, { maxNewTokens: request.greedy.max_new_tokens, greedy: true, eosId: null });
  const hp = request.hyperparameters;
  const params = makeFullTrainable(model);
  const optimizer = new AdamW(params, { beta1: hp.betas[0], beta2: hp.betas[1], eps: hp.eps, weightDecay: hp.weight_decay });
  const losses: number[] = [];
  const gradNorms: number[] = [];
  for (let step = 0; step < request.steps; step++) {
    // As core/train/trainer.ts takes a step (constant learning rate, no dropout).
    const { loss, grads } = accumulateGradients(model, params, [request.batch], {});
    const { norm, scale } = clipGradNorm(grads, hp.max_grad_norm);
    optimizer.apply(grads, hp.lr, scale);
    tf.dispose([...grads.values()]);
    losses.push(loss);
    gradNorms.push(norm);
  }
  optimizer.dispose();
  model.dispose();
  return { automatic, adapter: describeGpu(choice), software: choice.adapter!.software, losses, gradNorms, greedyIds };
}

/** The GPU window's first report when started as Settings' probe (a GPU chosen, so a software adapter is taken). */
async function probe(): Promise<GpuWindowReport> {
  const { port1, port2 } = new MessageChannel();
  const first = new Promise<GpuWindowReport>((resolve) => (port1.onmessage = (event) => resolve(event.data as GpuWindowReport)));
  await runGpuWindow(port2, { worker: 'training', env: {}, allowSoftware: true, probeOnly: true });
  return first;
}

// The engine's few reads of `process` (TUNESMITH_BACKEND, the Electron check, the listeners the
// wasm runtime adds): a page has none. Without `versions.node`, tfjs still knows it is in a browser.
(globalThis as { process?: object }).process ??= { env: {}, versions: {}, listeners: () => [], removeListener: () => undefined };
Object.assign(globalThis, { runOnGpu: run, probeGpuWindow: probe });
