// TrainingManager's own guarantees, below the service: what shutdown does with a run that
// does not stop in time.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import type { ApiEvent } from '../core/api/contract';
import type { ProcessLauncher, WorkerProcess } from '../core/app/context';
import { nodeLauncher } from '../core/app/node-launcher';
import type { AppServiceContext } from '../core/app/service-context';
import { TrainingManager } from '../core/app/training-manager';
import { openStore } from '../core/store/index';
import { resolveTrainConfig } from '../core/train/config';
import { fixture, tempDir } from './helpers';

const ALPACA = path.resolve(import.meta.dirname, '../examples/data/alpaca-train.json');

test('shutdown ends a run that does not stop within its wait, and leaves it interrupted', async (t) => {
  const home = tempDir(t);
  const store = openStore(path.join(home, 'tunesmith.db'));
  t.after(() => store.close());
  const workers: WorkerProcess[] = [];
  const exits: Promise<number | null>[] = [];
  // Its worker never hears "stop", as one stuck in a long step would not act on it.
  const deaf: ProcessLauncher = (name, env) => {
    const worker = nodeLauncher(name, env);
    workers.push(worker);
    exits.push(new Promise((resolve) => worker.onExit(resolve)));
    return { ...worker, send: (message) => (message as { type: string }).type !== 'stop' && worker.send(message) };
  };
  const events: ApiEvent[] = [];
  let stepped: () => void;
  const firstStep = new Promise<void>((resolve) => (stepped = resolve));
  const ctx: AppServiceContext = {
    home,
    store,
    emit: (e) => {
      events.push(e);
      if (e.type === 'run-event' && e.event.event === 'step') stepped();
    },
    launcher: deaf,
    host: 'web',
    versions: { node: process.versions.node },
    modelDir: (source) => source,
    onShutdown: () => undefined,
  };
  const training = new TrainingManager(ctx);
  const config = resolveTrainConfig({
    model: fixture('gpt2-tiny'),
    data: { train: ALPACA, max_length: 64 },
    output_dir: path.join(home, 'runs', 'r1'),
    per_device_train_batch_size: 4,
    num_train_epochs: 100,
    logging_steps: 1,
    save_steps: 1000,
  });
  store.createRun({ id: 'r1', name: 'stuck', method: config.method, config, model: { source: config.model }, outputDir: config.output_dir, status: 'running' });
  training.start('r1', config, false);
  await firstStep;
  const began = Date.now();
  await training.shutdown(300);
  assert.ok(Date.now() - began < 10_000, 'shutdown ended the run instead of waiting for it');
  assert.equal(workers.length, 1);
  assert.notEqual(await exits[0], 0, 'the worker was killed, not finished');
  assert.equal(store.getRun('r1')!.status, 'interrupted');
  assert.deepEqual(events.at(-1), { type: 'run-status', runId: 'r1', status: 'interrupted', error: null });
  assert.equal(training.isTraining('r1'), false);
});
