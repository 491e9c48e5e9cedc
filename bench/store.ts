// Experiment store speed: metric inserts as a training loop makes them (one transaction
// per logging step), and loading a long curve downsampled for a chart.
//   npm run bench:store -- [--steps 20000] [--metrics-per-step 10] [--curve-points 100000]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { openStore } from '../core/store/index';

const { values } = parseArgs({
  options: {
    steps: { type: 'string', default: '20000' },
    'metrics-per-step': { type: 'string', default: '10' },
    'curve-points': { type: 'string', default: '100000' },
  },
});
const steps = Number(values.steps);
const perStep = Number(values['metrics-per-step']);
const curvePoints = Number(values['curve-points']);

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tunesmith-bench-store-'));
try {
  const store = openStore(path.join(dir, 'tunesmith.db'));
  const run = store.createRun({ name: 'bench', method: 'lora', config: {} });
  const writer = store.metricsWriter(run.id);
  const names = Array.from({ length: perStep }, (_, i) => (i === 0 ? 'loss' : `metric_${i}`));

  let started = performance.now();
  for (let step = 0; step < steps; step++) {
    const row: Record<string, number> = {};
    for (const name of names) row[name] = Math.random();
    writer.log(step, row);
    writer.flush();
  }
  let ms = performance.now() - started;
  const rows = steps * perStep;
  console.log(`insert: ${rows} rows in ${steps} steps (${perStep} per step), ${ms.toFixed(0)} ms: ${Math.round(rows / (ms / 1000))} rows/s, ${Math.round(steps / (ms / 1000))} steps/s`);

  const curveRun = store.createRun({ name: 'curve', method: 'lora', config: {} });
  const curveWriter = store.metricsWriter(curveRun.id);
  store.db.transaction(() => {
    for (let step = 0; step < curvePoints; step++) curveWriter.log(step, { loss: 5 * Math.exp(-step / 20000) + Math.random() * 0.1 });
    curveWriter.flush();
  })();
  const times: number[] = [];
  let points = 0;
  for (let i = 0; i < 5; i++) {
    started = performance.now();
    points = store.runCurves(curveRun.id, { maxPoints: 2000 }).loss.steps.length;
    times.push(performance.now() - started);
  }
  ms = times.sort((a, b) => a - b)[2];
  console.log(`curve: ${curvePoints} points loaded and downsampled to ${points} in ${ms.toFixed(1)} ms (median of 5)`);
  store.close();
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
