// The GPU window's own side (core/app/gpu-window-worker.ts, which the window's preload runs)
// serving a real training over a MessageChannel, in a process of its own as the window is: the
// start command sent before the GPU is up is kept, every step comes back as a report main
// relays, then how it ended, then the exit that closes the window. Under Node the engine takes
// Dawn's route (llvmpipe here), not Chromium's (test/webgpu-chromium.test.ts runs that one);
// skipped, with the reason, where no WebGPU adapter can be made.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { MessageChannel } from 'node:worker_threads';
import type { GpuWindowReport } from '../core/app/gpu-window-protocol';
import { runGpuWindow } from '../core/app/gpu-window-worker';
import type { TrainingCommand, TrainingReport } from '../core/app/training-protocol';
import { resolveTrainConfig } from '../core/train/config';
import { REFERENCE, referenceTrainConfig, tempDir, writeTokenized, type ReferenceBatch, type ReferenceHyperparameters } from './helpers';

test('the GPU window serves a training run over its port: steps as transformers, then ended and exit', { timeout: 600_000 }, async (t) => {
  const dir = tempDir(t);
  const run = (REFERENCE['bloom-tiny'] as unknown as { full_finetune: { batch: ReferenceBatch; hyperparameters: ReferenceHyperparameters; losses: number[] } }).full_finetune;
  writeTokenized(path.join(dir, 'train.jsonl'), run.batch);
  const config = resolveTrainConfig({ ...referenceTrainConfig('bloom-tiny', dir, run.hyperparameters), method: 'full' });

  const { port1: main, port2: window } = new MessageChannel();
  const reports: GpuWindowReport[] = [];
  const exited = new Promise<void>((resolve) =>
    main.on('message', (r: GpuWindowReport) => {
      reports.push(r);
      if (r.kind === 'exit' || r.kind === 'no-gpu') resolve();
    }),
  );
  t.after(() => main.close());
  // As main does: the command goes out at once, before the window has said it has a GPU.
  main.postMessage({ type: 'start', mode: 'warmup', config } satisfies TrainingCommand);
  await runGpuWindow(window as unknown as Parameters<typeof runGpuWindow>[0], { worker: 'training', env: {}, allowSoftware: true, probeOnly: false });
  await exited;

  const first = reports[0];
  if (first.kind === 'no-gpu') return t.skip(`no WebGPU adapter can be made here (${first.reason})`);
  assert.equal(first.kind, 'gpu');
  assert.match((first as { adapter: string }).adapter, /MiB/);
  // The limits main's memory estimate compares with are those of the adapter Settings names.
  const { adapter, limits } = first as Extract<GpuWindowReport, { kind: 'gpu' }>;
  assert.equal(limits.software, /, software;/.test(adapter), adapter);
  assert.ok(adapter.endsWith(`bindings up to ${Math.round(limits.maxStorageBufferBindingSize / 2 ** 20)} MiB`), adapter);
  assert.equal(limits.memoryBytes === null, !/\d+ MiB memory/.test(adapter), adapter);
  const messages = reports.flatMap((r) => (r.kind === 'message' ? [r.message as TrainingReport] : []));
  const losses = messages.flatMap((m) => (m.type === 'event' && m.event.event === 'step' ? [m.event.loss] : []));
  assert.equal(losses.length, run.losses.length);
  losses.forEach((loss, i) => assert.ok(Math.abs(loss - run.losses[i]) <= 1e-4, `loss[${i}]: ${loss} vs ${run.losses[i]}`));
  assert.deepEqual(messages.at(-1), { type: 'ended', status: 'completed' });
  assert.deepEqual(reports.at(-1), { kind: 'exit', code: 0 });
});
