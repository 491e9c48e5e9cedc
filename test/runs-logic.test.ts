// The runs screens' data shaping: folding streamed events into a run, the time-left estimate,
// the list's sorting and filtering, and the compare screen's lines, on runs from a real store.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RunSummary } from '../core/api/contract';
import { RUN_STATUSES } from '../core/store/types';
import { toPoints } from '../renderer/src/charts/series';
import { canExtend, canResume } from '../renderer/src/runs/actions';
import { comparisonSeries, formatConfigValue } from '../renderer/src/runs/compare-view';
import { orderMetrics } from '../renderer/src/runs/labels';
import { etaSeconds, recordPace, type PaceSample } from '../core/train/live-progress';
import { applyTrainEvent, applyTrainEventToSummary, stepDomain } from '../renderer/src/runs/live';
import { samplesByStep } from '../renderer/src/runs/samples';
import { evalLoss, filterRuns, shortModel, sortRuns, trainLoss, type SortKey } from '../renderer/src/runs/table';
import { tempDir } from './helpers';
import { detailOf, openTestStore, recordRun, stepEvent, summaryOf, type RunSpec } from './runs-fixtures';

const BASE: RunSpec = { name: 'base', model: 'gpt2', method: 'lora', learningRate: 2e-4, steps: 30, floor: 1.2, status: 'completed' };

test('step events append one point per new step to each curve and skip the steps a resume repeats', (t) => {
  const store = openTestStore(tempDir(t));
  const id = recordRun(store, { ...BASE, status: 'running', steps: 12 });
  const detail = detailOf(store, id, { live: { step: 12, totalSteps: 40, epoch: 0.3, tokensPerSecond: 0, etaSeconds: null } });
  const before = detail.curves.loss.steps.length;
  const pace: PaceSample[] = [];
  for (const step of [13, 14, 11, 15]) applyTrainEvent(detail, stepEvent(step, BASE.floor), pace, step * 1000);
  assert.deepEqual(detail.curves.loss.steps.slice(before), [13, 14, 15]);
  assert.deepEqual(detail.curves.loss.values.slice(before), [13, 14, 15].map((s) => stepEvent(s, BASE.floor).loss));
  for (const name of ['grad_norm', 'learning_rate', 'tokens_per_second']) assert.equal(detail.curves[name].steps.at(-1), 15, name);
  assert.equal(detail.live?.step, 15);
  store.close();
});

test('eval, sample and checkpoint events land in their own places; the newest best checkpoint is the only best', (t) => {
  const store = openTestStore(tempDir(t));
  const id = recordRun(store, { ...BASE, status: 'running', steps: 20, samplePrompts: ['Hi'] });
  const detail = detailOf(store, id);
  const pace: PaceSample[] = [];
  applyTrainEvent(detail, { event: 'eval', step: 30, epoch: 0.75, eval_loss: 1.5, perplexity: Math.exp(1.5) }, pace, 0);
  applyTrainEvent(detail, { event: 'sample', step: 30, prompt: 'Hi', output: 'Hello' }, pace, 0);
  applyTrainEvent(detail, { event: 'checkpoint', step: 30, path: '/x/checkpoint-30', eval_loss: 1.5, is_best: true }, pace, 0);
  assert.equal(detail.curves.eval_loss.values.at(-1), 1.5);
  assert.equal(detail.curves.perplexity.values.at(-1), Math.exp(1.5));
  assert.deepEqual(detail.samples.at(-1), { runId: id, step: 30, prompt: 'Hi', output: 'Hello', createdAt: 0 });
  assert.deepEqual(
    detail.checkpoints.filter((c) => c.isBest).map((c) => c.step),
    [30],
  );
  store.close();
});

test('the time left is the remaining steps at the pace of the recent steps', () => {
  const pace: PaceSample[] = [];
  assert.equal(etaSeconds(pace, 100), null);
  recordPace(pace, 10, 5_000);
  assert.equal(etaSeconds(pace, 100), null, 'one step gives no pace');
  recordPace(pace, 11, 5_000);
  assert.equal(etaSeconds(pace, 100), null, 'steps that arrive together give no pace');
  recordPace(pace, 12, 8_000);
  assert.equal(etaSeconds(pace, 100), (100 - 12) * ((8_000 - 5_000) / 1000 / (12 - 10)));
  // Only the last twenty steps count: an early slow patch stops weighing on the estimate.
  for (let step = 13; step <= 60; step++) recordPace(pace, step, 8_000 + (step - 12) * 500);
  assert.equal(pace.length, 20);
  assert.equal(etaSeconds(pace, 100), (100 - 60) * 0.5);
  // A resumed run starts over below the last step: the old pace is dropped.
  recordPace(pace, 41, 100_000);
  assert.deepEqual(pace, [{ step: 41, at: 100_000 }]);
});

test('a step event sets progress and, from the second one, the time left', (t) => {
  const store = openTestStore(tempDir(t));
  const id = recordRun(store, { ...BASE, status: 'running', steps: 5 });
  const detail = detailOf(store, id);
  const pace: PaceSample[] = [];
  applyTrainEvent(detail, { event: 'start', backend: 'cpu', resumed_from: null, method: 'lora', total_steps: 50, trainable_parameters: 1, data_format: 'alpaca', train: {} as never, validation: null, estimated_peak_bytes: 3 * 2 ** 30 }, pace, 0);
  applyTrainEvent(detail, stepEvent(6, BASE.floor, 900), pace, 1_000);
  assert.deepEqual(detail.live, { step: 6, totalSteps: 50, epoch: stepEvent(6, 0).epoch, tokensPerSecond: 900, etaSeconds: null });
  applyTrainEvent(detail, stepEvent(8, BASE.floor, 950), pace, 4_000);
  assert.equal(detail.live?.etaSeconds, (50 - 8) * (3 / 2));
  assert.equal(detail.live?.tokensPerSecond, 950);
  store.close();
});

test('all the charts of a run share one step range: the total while training, else the last step logged', (t) => {
  const store = openTestStore(tempDir(t));
  const id = recordRun(store, { ...BASE, steps: 27, evalEvery: 10 });
  const detail = detailOf(store, id);
  const lastLogged = Math.max(...Object.values(detail.curves).map((c) => Math.max(...c.steps)));
  assert.deepEqual(stepDomain(detail), { min: 0, max: lastLogged });
  assert.ok(lastLogged > Math.max(...detail.curves.eval_loss.steps), 'the eval curve ends earlier but is drawn on the same range');
  detail.live = { step: 27, totalSteps: 90, epoch: 1, tokensPerSecond: 1, etaSeconds: null };
  assert.deepEqual(stepDomain(detail), { min: 0, max: 90 });
  assert.equal(stepDomain(detailOf(store, recordRun(store, { ...BASE, steps: 0 }))), undefined);
  store.close();
});

test('the runs list follows progress and the latest losses from events', (t) => {
  const store = openTestStore(tempDir(t));
  const summary = summaryOf(store, recordRun(store, { ...BASE, status: 'running', steps: 5 }));
  applyTrainEventToSummary(summary, { event: 'start', backend: 'cpu', resumed_from: null, method: 'lora', total_steps: 80, trainable_parameters: 1, data_format: 'alpaca', train: {} as never, validation: null, estimated_peak_bytes: 3 * 2 ** 30 });
  applyTrainEventToSummary(summary, stepEvent(6, BASE.floor));
  applyTrainEventToSummary(summary, { event: 'eval', step: 6, epoch: 0.1, eval_loss: 2.5, perplexity: Math.exp(2.5) });
  assert.equal(summary.live?.step, 6);
  assert.equal(summary.live?.totalSteps, 80);
  assert.equal(trainLoss(summary), stepEvent(6, BASE.floor).loss);
  assert.equal(evalLoss(summary), 2.5);
  store.close();
});

function seededSummaries(t: { after: (fn: () => void) => void }): RunSummary[] {
  const store = openTestStore(tempDir(t));
  const specs: RunSpec[] = [
    { ...BASE, name: 'alpha lora', floor: 1.4, tags: ['baseline'] },
    { ...BASE, name: 'Beta full', method: 'full', model: 'bigscience/bloom-560m', floor: 0.9 },
    { ...BASE, name: 'gamma', model: '/home/me/models/my-gpt2', status: 'failed', steps: 8 },
    { ...BASE, name: 'delta 10', status: 'running', steps: 4 },
    { ...BASE, name: 'delta 9', status: 'stopped', steps: 6, tags: ['sweep'] },
  ];
  const runs = specs.map((s) => summaryOf(store, recordRun(store, s)));
  store.close();
  return runs;
}

test('sorting orders by the column in either direction, runs without a value last', (t) => {
  const runs = seededSummaries(t);
  const value: Record<SortKey, (r: RunSummary) => string | number | null> = {
    name: (r) => r.name.toLowerCase(),
    status: (r) => r.status,
    model: (r) => r.model,
    method: (r) => r.method,
    createdAt: (r) => r.createdAt,
    loss: (r) => r.finalMetrics?.train_loss ?? r.lastMetrics.loss ?? null,
    evalLoss: (r) => r.finalMetrics?.eval_loss ?? r.lastMetrics.eval_loss ?? null,
  };
  for (const key of Object.keys(value) as SortKey[]) {
    for (const direction of ['ascending', 'descending'] as const) {
      const got = sortRuns(runs, key, direction).map(value[key]);
      const present = got.filter((v) => v !== null);
      assert.deepEqual(got.slice(present.length), new Array(got.length - present.length).fill(null), `${key} ${direction}: nulls last`);
      for (let i = 1; i < present.length; i++) {
        const [a, b] = [present[i - 1]!, present[i]!];
        const order = typeof a === 'number' ? a - (b as number) : String(a).localeCompare(String(b), undefined, { numeric: true, sensitivity: 'base' });
        assert.ok(direction === 'ascending' ? order <= 0 : order >= 0, `${key} ${direction}: ${a} before ${b}`);
      }
    }
  }
  // Numbers inside names sort as numbers.
  assert.deepEqual(
    sortRuns(runs, 'name', 'ascending')
      .map((r) => r.name)
      .filter((n) => n.startsWith('delta')),
    ['delta 9', 'delta 10'],
  );
});

test('filtering matches name, model or tag in any case, and the status', (t) => {
  const runs = seededSummaries(t);
  const reference = (text: string, status: string) =>
    runs.filter((r) => (status === 'all' || r.status === status) && [r.name, r.model ?? '', ...r.tags].some((f) => f.toLowerCase().includes(text.toLowerCase()))).map((r) => r.id);
  for (const text of ['BLOOM', 'baseline', 'delta', 'my-gpt2', 'nothing like it', '']) {
    for (const status of ['all', ...RUN_STATUSES]) {
      assert.deepEqual(
        filterRuns(runs, text, status as 'all').map((r) => r.id),
        reference(text, status),
        `"${text}" ${status}`,
      );
    }
  }
  assert.ok(filterRuns(runs, 'sweep', 'all').length === 1, 'a tag alone finds its run');
});

test('a local model folder shows as its last part; Hub ids stay whole', () => {
  assert.equal(shortModel('/home/me/models/my-gpt2/'), 'my-gpt2');
  assert.equal(shortModel('C:\\models\\bloom'), 'bloom');
  assert.equal(shortModel('bigscience/bloom-560m'), 'bigscience/bloom-560m');
  assert.equal(shortModel(null), '—');
});

test('resume needs an early end and a checkpoint; extend needs a completed run with one', (t) => {
  const store = openTestStore(tempDir(t));
  const withCheckpoint = (status: RunSpec['status']) => detailOf(store, recordRun(store, { ...BASE, status, steps: 20 }));
  const without = (status: RunSpec['status']) => detailOf(store, recordRun(store, { ...BASE, status, steps: 5 }));
  for (const status of ['stopped', 'interrupted', 'failed'] as const) {
    assert.equal(canResume(withCheckpoint(status)), true, status);
    assert.equal(canResume(without(status)), false, `${status} without a checkpoint`);
  }
  assert.equal(canResume(withCheckpoint('completed')), false);
  assert.equal(canResume(withCheckpoint('running')), false);
  assert.equal(canExtend(withCheckpoint('completed')), true);
  assert.equal(canExtend(without('completed')), false);
  assert.equal(canExtend(withCheckpoint('stopped')), false);
  store.close();
});

test('compare lines: one per run, each with exactly the points that run logged', (t) => {
  const store = openTestStore(tempDir(t));
  const a = recordRun(store, { ...BASE, name: 'a', steps: 30, tokensPerStep: 512 });
  const b = recordRun(store, { ...BASE, name: 'b', steps: 18, evalEvery: 6, tokensPerStep: 1024 });
  const comparison = store.compareRuns([a, b]);
  for (const [name, aligned] of Object.entries(comparison.curves.byStep)) {
    const lines = comparisonSeries(aligned, ['a', 'b']);
    assert.deepEqual(
      lines.map((l) => l.label),
      ['a', 'b'],
    );
    [a, b].forEach((id, i) => {
      const stored = store.runCurves(id)[name];
      assert.deepEqual(lines[i].points, toPoints(stored.steps, stored.values), `${name} of run ${i}`);
    });
  }
  const byTokens = comparisonSeries(comparison.curves.byTokens.loss, ['a', 'b']);
  assert.deepEqual(
    byTokens[1].points.map((p) => p.x),
    store.runCurves(b).loss.steps.map((s) => s * 1024),
  );
  store.close();
});

test('config values read as typed; a key the run lacks reads as a dash', () => {
  for (const value of ['alpaca', 2e-4, true, null, ['c_attn'], { r: 8 }]) {
    const text = formatConfigValue(value);
    assert.deepEqual(typeof value === 'string' ? text : JSON.parse(text), value);
  }
  assert.equal(formatConfigValue(undefined), '—');
});

test('samples group by evaluation step, newest first, keeping prompt order within a step', (t) => {
  const store = openTestStore(tempDir(t));
  const id = recordRun(store, { ...BASE, steps: 30, samplePrompts: ['one', 'two'] });
  const samples = store.listSamples(id);
  const groups = samplesByStep(samples);
  const steps = [...new Set(samples.map((s) => s.step))].sort((x, y) => y - x);
  assert.deepEqual(
    groups.map((g) => g.step),
    steps,
  );
  for (const g of groups) assert.deepEqual(g.samples, samples.filter((s) => s.step === g.step));
  store.close();
});

test('known metrics come first in reading order, others alphabetically after them', () => {
  const names = ['zeta', 'grad_norm', 'eval_loss', 'alpha', 'loss', 'learning_rate'];
  const ordered = orderMetrics(names);
  assert.deepEqual(ordered.slice(0, 4), ['loss', 'eval_loss', 'learning_rate', 'grad_norm']);
  assert.deepEqual(ordered.slice(4), ['alpha', 'zeta']);
});
