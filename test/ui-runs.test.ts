// The runs screens in Chromium against a stub host whose answers come from a real store:
// the run page's live charts and controls, the runs list, and the compare screen.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import type { ApiMethod, ApiRequest, ApiResponse, AppInfo, RunSummary, Settings } from '../core/api/contract';
import type { ExperimentStore } from '../core/store';
import { formatDuration } from '../renderer/src/lib/format';
import { metricLabel } from '../renderer/src/runs/labels';
import { tempDir } from './helpers';
import { detailOf, openTestStore, recordRun, stepEvent, summaryOf, type RunSpec } from './runs-fixtures';
import { openStubbedUi, type StubHandler, type UiSession } from './ui/harness';

type Answers = { [M in ApiMethod]?: (request: ApiRequest<M>) => ApiResponse<M> | Promise<ApiResponse<M>> };

const APP_INFO: AppInfo = { name: 'Tunesmith', version: '0.1.0', backend: 'cpu', platform: 'linux', versions: { node: process.versions.node }, host: 'web' };

/** A stub host: the app shell's start-up calls, plus the answers a test gives; anything else is a test bug. */
function host(answers: Answers, settings: Partial<Settings> = {}): StubHandler {
  return (method, request) => {
    if (method === 'appInfo') return APP_INFO;
    if (method === 'getSettings') return { dataDir: '/data', backend: 'auto', theme: 'system', hasHubToken: false, ...settings };
    const answer = answers[method] as ((r: unknown) => unknown) | undefined;
    if (!answer) throw new Error(`the test did not expect a call to ${method}`);
    return answer(request);
  };
}

async function open(t: { after: (fn: () => Promise<void>) => void }, handler: StubHandler, hash: string): Promise<UiSession> {
  const ui = await openStubbedUi(handler, { hash, viewport: { width: 1280, height: 900 } });
  t.after(() => ui.close());
  return ui;
}

/** Polls until `check` holds, so a test waits for the page without fixed sleeps. */
async function eventually<T>(read: () => Promise<T>, check: (value: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + 10_000;
  let value = await read();
  while (!check(value)) {
    if (Date.now() > deadline) assert.fail(`${what}: last saw ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
    value = await read();
  }
  return value;
}

/** Point counts of each line (or the one named `series`) in the chart titled `title`: one per M or L command in its path. */
function linePoints(page: Page, title: string, series?: string): () => Promise<number[]> {
  return async () => {
    const paths = page.getByRole('figure', { name: title, exact: true }).locator(series ? `path.line[data-series="${series}"]` : 'path.line');
    return (await paths.evaluateAll((els) => els.map((e) => e.getAttribute('d') ?? ''))).map((d) => (d.match(/[ML]/g) ?? []).length);
  };
}

/** Emits step events `secondsPerStep` apart on the page's clock, as a training run would. */
async function emitStepsAt(ui: UiSession, runId: string, steps: number[], secondsPerStep: number, tokensPerSecond = (i: number) => 1500 + i): Promise<void> {
  const start = Date.parse('2025-01-01T00:00:00Z');
  for (const [i, step] of steps.entries()) {
    await ui.page.clock.setFixedTime(start + i * secondsPerStep * 1000);
    await ui.emit({ type: 'run-event', runId, event: stepEvent(step, RUNNING.floor, tokensPerSecond(i)) });
  }
}

function callsTo(ui: UiSession, method: ApiMethod): unknown[] {
  return ui.calls.filter((c) => c.method === method).map((c) => c.request);
}

const RUNNING: RunSpec = {
  name: 'gpt2-alpaca-lora',
  model: 'gpt2',
  method: 'lora',
  learningRate: 2e-4,
  steps: 24,
  floor: 1.3,
  status: 'running',
  evalEvery: 8,
  samplePrompts: ['Give three tips for staying healthy.', 'What is the capital of France?'],
  estimatedPeakBytes: 1.8 * 2 ** 30,
};
const TOTAL_STEPS = 120;
const LOG = ['Loading model gpt2 (124M parameters)', 'Data: 2,000 examples, format alpaca', 'Training 120 steps on cpu'];

function runningRun(t: { after: (fn: () => void) => void }): { store: ExperimentStore; id: string } {
  const store = openTestStore(tempDir(t));
  t.after(() => store.close());
  return { store, id: recordRun(store, RUNNING) };
}

test('the run page draws the loss curve and appends a point for each new step event', async (t) => {
  const { store, id } = runningRun(t);
  const live = { step: RUNNING.steps, totalSteps: TOTAL_STEPS, epoch: 0.6, tokensPerSecond: 1400, etaSeconds: 300 };
  const ui = await open(t, host({ getRun: () => detailOf(store, id, { live, log: LOG }) }), `/runs/${id}`);
  const points = linePoints(ui.page, 'Loss', 'Train loss');
  const stored = store.runCurves(id).loss.steps.length;
  await eventually(points, (n) => n[0] === stored, 'the stored curve is drawn');

  await emitStepsAt(ui, id, [RUNNING.steps + 1, RUNNING.steps + 2], 2);
  await eventually(points, (n) => n[0] === stored + 2, 'two step events add two points');
  // A resumed run repeats steps already drawn; they add nothing, the next new step does.
  await emitStepsAt(ui, id, [RUNNING.steps - 3, RUNNING.steps + 3], 2);
  await eventually(points, (n) => n[0] === stored + 3, 'a repeated step adds no point');
  for (const title of ['Learning rate', 'Grad norm']) await eventually(linePoints(ui.page, title), (n) => n[0] === stored + 3, title);
  await eventually(linePoints(ui.page, 'Loss', 'Train loss, smoothed'), (n) => n[0] === stored + 3, 'the smoothed line follows');
  await eventually(linePoints(ui.page, 'Loss', 'Eval loss'), (n) => n[0] === store.runCurves(id).eval_loss.steps.length, 'eval loss');

  // Events of another run leave this page alone.
  await ui.emit({ type: 'run-event', runId: 'someone-else', event: stepEvent(RUNNING.steps + 4, RUNNING.floor) });
  await ui.emit({ type: 'run-log', runId: id, line: 'step 27 done' });
  await ui.page.getByRole('log').getByText('step 27 done').waitFor();
  assert.deepEqual(await points(), [stored + 3]);

  const chart = ui.page.getByRole('img', { name: 'Loss' });
  assert.match((await chart.getAttribute('aria-labelledby')) ?? '', /desc/);
  assert.match(await chart.locator('desc').textContent() ?? '', new RegExp(`${stored + 3} points`));
  // Hovering reads out the value under the pointer.
  const plot = ui.page.getByRole('slider', { name: 'Loss: values by step' });
  const box = (await plot.boundingBox())!;
  await ui.page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await eventually(() => plot.getAttribute('aria-valuetext'), (v) => /^step \d+: Train loss \d/.test(v ?? ''), 'hover readout');
  await ui.screenshot('run-page-hover');
  await ui.page.mouse.move(0, 0);
  // The keyboard reads the same values: End jumps to the last step, Left walks back one.
  const curve = store.runCurves(id).loss;
  await plot.focus();
  await plot.press('End');
  await plot.press('ArrowLeft');
  const lastSteps = [...curve.steps, RUNNING.steps + 1, RUNNING.steps + 2, RUNNING.steps + 3];
  await eventually(() => plot.getAttribute('aria-valuenow'), (v) => v === String(lastSteps[lastSteps.length - 2]), 'keyboard cursor one before the last step');
  await plot.blur();
  await ui.screenshot('run-page');
});

test('time left and tokens per second come from the step events', async (t) => {
  const { store, id } = runningRun(t);
  const live = { step: RUNNING.steps, totalSteps: TOTAL_STEPS, epoch: 0.6, tokensPerSecond: 1400, etaSeconds: 300 };
  const ui = await open(t, host({ getRun: () => detailOf(store, id, { live }) }), `/runs/${id}`);
  const eta = ui.page.getByTestId('eta');
  const speed = ui.page.getByTestId('tokens-per-second');
  await eventually(() => eta.textContent(), (v) => v === formatDuration(live.etaSeconds), 'the host ETA before any step');

  const secondsPerStep = 2;
  const steps = [25, 26, 27];
  await emitStepsAt(ui, id, steps, secondsPerStep, (i) => 1234.4 + i);
  const last = steps[steps.length - 1];
  await eventually(() => eta.textContent(), (v) => v === formatDuration((TOTAL_STEPS - last) * secondsPerStep), 'ETA at the observed pace');
  assert.equal(await speed.textContent(), Math.round(1234.4 + steps.length - 1).toLocaleString('en-US'));
  assert.equal(await ui.page.getByTestId('step').textContent(), `${last} / ${TOTAL_STEPS}`);
  assert.equal(await ui.page.getByRole('progressbar', { name: 'Training progress' }).getAttribute('value'), String(last));
});

test('Stop asks the host to stop; the status event flips the badge and offers Resume', async (t) => {
  const { store, id } = runningRun(t);
  const ui = await open(
    t,
    host({
      getRun: () => detailOf(store, id, { live: store.getRun(id)!.status === 'running' ? { step: 24, totalSteps: TOTAL_STEPS, epoch: 0.6, tokensPerSecond: 1400, etaSeconds: 300 } : null }),
      stopRun: () => undefined,
      resumeRun: ({ runId }) => {
        store.setRunStatus(runId, 'running');
        return summaryOf(store, runId);
      },
    }),
    `/runs/${id}`,
  );
  const badge = ui.page.locator('header .badge');
  await eventually(() => badge.textContent(), (v) => v === 'running', 'running badge');
  assert.equal(await ui.page.getByRole('button', { name: 'Resume' }).count(), 0);

  await ui.page.getByRole('button', { name: 'Stop' }).click();
  await eventually(async () => callsTo(ui, 'stopRun'), (c) => c.length === 1, 'stopRun called');
  assert.deepEqual(callsTo(ui, 'stopRun'), [{ runId: id }]);

  store.finishRun(id, { status: 'stopped' });
  await ui.emit({ type: 'run-status', runId: id, status: 'stopped', error: null });
  await eventually(() => badge.textContent(), (v) => v === 'stopped', 'stopped badge');
  await ui.page.getByRole('button', { name: 'Resume' }).click();
  await eventually(async () => callsTo(ui, 'resumeRun'), (c) => c.length === 1, 'resumeRun called');
  assert.deepEqual(callsTo(ui, 'resumeRun'), [{ runId: id }]);
  await eventually(() => badge.textContent(), (v) => v === 'running', 'running again after resume');
  assert.equal(await ui.page.getByRole('button', { name: 'Stop' }).count(), 1);
});

test('a finished run offers export, extend and chat, and compares its memory with the estimate', async (t) => {
  const store = openTestStore(tempDir(t));
  t.after(() => store.close());
  const estimated = 1.8 * 2 ** 30;
  const measured = 1.53 * 2 ** 30;
  const id = recordRun(store, { ...RUNNING, name: 'bloom-poems-full', status: 'completed', steps: 60, estimatedPeakBytes: estimated, measuredPeakBytes: measured });
  const exported = `/home/me/exports/${id}-merged`;
  const ui = await open(
    t,
    host(
      {
        getRun: () => detailOf(store, id, { exports: ['peft', 'merged'], log: LOG }),
        exportRun: () => ({ path: exported }),
        extendRun: ({ runId }) => summaryOf(store, runId),
      },
      { theme: 'dark' },
    ),
    `/runs/${id}`,
  );
  const off = Math.round(((measured - estimated) / estimated) * 100);
  await ui.page.getByText(`The run used ${Math.abs(off)}% less than estimated.`).waitFor();
  assert.equal(await ui.page.getByRole('link', { name: 'Open in chat' }).getAttribute('href'), `#/playground?targets=run:${id}`);
  assert.equal(await ui.page.getByRole('button', { name: 'Browse…' }).count(), 0, 'no native dialog in the web host');

  await ui.page.getByLabel(/Merged model/).check();
  await ui.page.getByLabel('Destination folder').fill('/home/me/exports');
  await ui.page.getByRole('button', { name: 'Export', exact: true }).click();
  await ui.page.getByRole('status').filter({ hasText: exported }).waitFor();
  assert.deepEqual(callsTo(ui, 'exportRun'), [{ runId: id, kind: 'merged', destination: '/home/me/exports' }]);

  await ui.page.getByLabel('Extra epochs').fill('2');
  await ui.page.getByRole('button', { name: 'Extend' }).click();
  await eventually(async () => callsTo(ui, 'extendRun'), (c) => c.length === 1, 'extendRun called');
  assert.deepEqual(callsTo(ui, 'extendRun'), [{ runId: id, extraEpochs: 2 }]);
  await ui.screenshot('run-page-finished-dark');
});

test('a run whose eval loss rose after its best says so in plain words, marks the best step, and says the result holds it', async (t) => {
  const store = openTestStore(tempDir(t));
  t.after(() => store.close());
  const id = recordRun(store, { ...RUNNING, name: 'overfit-lora', status: 'completed', steps: 40 });
  const evalLoss = { steps: [8, 16, 24, 32, 40], values: [2.5, 2.1, 2.0, 2.2, 2.4] };
  const stored = detailOf(store, id);
  const finalMetrics = { ...stored.run.finalMetrics!, train_loss: 1.9, last_loss: 1.35, eval_loss: 2.0, steps: 40, result_step: 24 };
  const detail = { ...stored, run: { ...stored.run, finalMetrics, config: { ...(stored.run.config as object), load_best_model_at_end: true } }, curves: { ...stored.curves, eval_loss: evalLoss } };
  const ui = await open(t, host({ getRun: () => detail }), `/runs/${id}`);
  const verdict = ui.page.getByRole('note');
  await verdict.waitFor();
  const text = await verdict.innerText();
  assert.match(text, /Eval loss has risen for 2 evaluations since step 24 \(2\.000 then, 2\.400 at step 40\)/);
  assert.match(text, /memorising the training examples/);
  assert.match(text, /result holds the weights of step 24, its best checkpoint/);
  const facts = await ui.page.getByText(/average training loss/).innerText();
  assert.match(facts, /average training loss 1\.9\d* · last step 1\.35\d* · eval loss 2\.0\d*/);
  assert.match(facts, /the result holds step 24’s weights, the best evaluation/);
  assert.match((await ui.page.getByRole('img', { name: 'Loss' }).locator('desc').textContent()) ?? '', /Marked: best eval, step 24 at step 24\./);
  assert.equal(await ui.page.getByRole('figure', { name: 'Loss', exact: true }).locator('text.marker-label').textContent(), 'best eval, step 24');
  assert.equal(await ui.page.getByText('Output folder').locator('code').textContent(), stored.run.outputDir);
  await ui.screenshot('run-overfit');
});

test('a run whose eval loss keeps falling gets no verdict', async (t) => {
  const store = openTestStore(tempDir(t));
  t.after(() => store.close());
  const id = recordRun(store, { ...RUNNING, name: 'fine-lora', status: 'completed', steps: 40 });
  const ui = await open(t, host({ getRun: () => detailOf(store, id) }), `/runs/${id}`);
  await ui.page.getByRole('figure', { name: 'Loss', exact: true }).waitFor();
  assert.equal(await ui.page.getByRole('note').count(), 0);
});

test('a failed run shows its error in plain words with the detail one click away', async (t) => {
  const store = openTestStore(tempDir(t));
  t.after(() => store.close());
  const id = recordRun(store, { ...RUNNING, status: 'failed', steps: 12 });
  const error = store.getRun(id)!.error!;
  const ui = await open(t, host({ getRun: () => detailOf(store, id) }), `/runs/${id}`);
  const notice = ui.page.getByRole('alert').filter({ hasText: 'The run failed' });
  await notice.getByText(error.split('\n')[0], { exact: true }).waitFor();
  await notice.getByText('Details').click();
  assert.equal(await notice.locator('pre').textContent(), error);
  assert.equal(await ui.page.getByRole('button', { name: 'Resume' }).count(), 1, 'it has checkpoints to resume from');
});

const LIST: RunSpec[] = [
  { ...RUNNING, name: 'alpha lora', status: 'completed', floor: 1.4, tags: ['baseline'] },
  { ...RUNNING, name: 'beta full', method: 'full', model: 'bigscience/bloom-560m', status: 'completed', floor: 0.9, steps: 40 },
  { ...RUNNING, name: 'gamma', model: '/home/me/models/my-gpt2', status: 'failed', steps: 8 },
  { ...RUNNING, name: 'delta 10', status: 'running', steps: 4 },
  { ...RUNNING, name: 'delta 9', status: 'stopped', steps: 6, tags: ['sweep'] },
];

function listHost(store: ExperimentStore): StubHandler {
  return host({
    listRuns: () => store.listRuns().map((r) => summaryOf(store, r.id)),
    compareRuns: ({ runIds }) => store.compareRuns(runIds),
    tagRun: ({ runId, tag }) => store.tagRun(runId, tag),
    untagRun: ({ runId, tag }) => void store.untagRun(runId, tag),
    runFiles: ({ runId }) => store.runFilesToDelete(runId),
    deleteRun: ({ runId }) => void store.deleteRun(runId),
  });
}

function seededList(t: { after: (fn: () => void) => void }): { store: ExperimentStore; ids: Record<string, string> } {
  const store = openTestStore(tempDir(t));
  t.after(() => store.close());
  return { store, ids: Object.fromEntries(LIST.map((spec) => [spec.name, recordRun(store, spec)])) };
}

const rowNames = (page: Page) => () => page.locator('tbody th[scope=row]').allTextContents();

test('the runs list sorts by a column, filters by text and status, and compares the selected runs', async (t) => {
  const { store, ids } = seededList(t);
  const ui = await open(t, listHost(store), '/runs');
  const names = rowNames(ui.page);
  await eventually(names, (n) => n.length === LIST.length, 'every run listed');

  const summaries = LIST.map((s) => summaryOf(store, ids[s.name]));
  const loss = (r: RunSummary) => r.finalMetrics?.train_loss ?? r.lastMetrics.loss;
  const byLoss = [...summaries].sort((a, b) => loss(a) - loss(b)).map((r) => r.name);
  const header = ui.page.getByRole('columnheader', { name: 'Avg. train loss' });
  await header.getByRole('button').click();
  await eventually(names, (n) => JSON.stringify(n) === JSON.stringify(byLoss), 'lowest loss first');
  assert.equal(await header.getAttribute('aria-sort'), 'ascending');
  await header.getByRole('button').click();
  await eventually(names, (n) => JSON.stringify(n) === JSON.stringify([...byLoss].reverse()), 'highest loss first');
  assert.equal(await header.getAttribute('aria-sort'), 'descending');
  assert.equal(await ui.page.getByRole('columnheader', { name: 'Name' }).getAttribute('aria-sort'), 'none');

  const filter = ui.page.getByLabel('Filter');
  await filter.fill('BLOOM');
  await eventually(names, (n) => JSON.stringify(n) === JSON.stringify(summaries.filter((r) => r.model?.toLowerCase().includes('bloom')).map((r) => r.name)), 'model filter');
  await filter.fill('sweep');
  await eventually(names, (n) => JSON.stringify(n) === JSON.stringify(summaries.filter((r) => r.tags.includes('sweep')).map((r) => r.name)), 'tag filter');
  await filter.fill('');
  await ui.page.getByLabel('Status').selectOption('failed');
  await eventually(names, (n) => JSON.stringify(n) === JSON.stringify(summaries.filter((r) => r.status === 'failed').map((r) => r.name)), 'status filter');
  await ui.page.getByLabel('Status').selectOption('all');
  await eventually(names, (n) => n.length === LIST.length, 'filters cleared');

  const compare = ui.page.getByRole('button', { name: 'Compare' });
  await ui.page.getByLabel('Select beta full').check();
  assert.equal(await compare.isDisabled(), true, 'one run is nothing to compare');
  await ui.page.getByLabel('Select alpha lora').check();
  await ui.screenshot('runs-list');
  await compare.click();
  const hash = await eventually(() => ui.page.evaluate(() => location.hash), (h) => h.startsWith('#/compare?'), 'compare route');
  assert.deepEqual(new URLSearchParams(hash.split('?')[1]).get('ids')?.split(','), [ids['beta full'], ids['alpha lora']]);
  await ui.page.getByRole('heading', { name: 'Compare runs' }).waitFor();
});

test('the runs list tags, deletes after confirming, and follows live status and progress', async (t) => {
  const { store, ids } = seededList(t);
  const ui = await open(t, listHost(store), '/runs');
  const names = rowNames(ui.page);
  await eventually(names, (n) => n.length === LIST.length, 'every run listed');

  await ui.page.getByRole('button', { name: 'Add a tag to alpha lora' }).click();
  await ui.page.getByLabel('New tag for alpha lora').fill('keeper');
  await ui.page.getByLabel('New tag for alpha lora').press('Enter');
  await ui.page.getByRole('list', { name: 'Tags of alpha lora' }).getByText('keeper').waitFor();
  assert.deepEqual(callsTo(ui, 'tagRun'), [{ runId: ids['alpha lora'], tag: 'keeper' }]);
  await ui.page.getByRole('button', { name: 'Remove tag baseline from alpha lora' }).click();
  await eventually(() => ui.page.getByRole('list', { name: 'Tags of alpha lora' }).getByText('baseline').count(), (n) => n === 0, 'tag removed');
  assert.deepEqual(callsTo(ui, 'untagRun'), [{ runId: ids['alpha lora'], tag: 'baseline' }]);
  assert.deepEqual(store.getRun(ids['alpha lora'])!.tags, ['keeper']);

  await ui.page.getByRole('button', { name: 'Delete delta 9' }).click();
  const dialog = ui.page.getByRole('dialog', { name: 'Delete “delta 9”?' });
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  assert.equal(callsTo(ui, 'deleteRun').length, 0, 'cancel keeps the run');
  await eventually(() => ui.page.evaluate(() => document.activeElement?.getAttribute('aria-label') ?? null), (label) => label === 'Delete delta 9', 'focus back on the button that opened the dialog');
  await ui.page.getByRole('button', { name: 'Delete delta 9' }).click();
  // Asked to remove files, it lists exactly what would go: this run recorded writing none.
  await dialog.getByRole('checkbox').check();
  await dialog.getByText('It left no files of its own there; nothing on disk will be removed.').waitFor();
  assert.deepEqual(callsTo(ui, 'runFiles'), [{ runId: ids['delta 9'] }]);
  await dialog.getByRole('checkbox').uncheck();
  await dialog.getByRole('button', { name: 'Delete' }).click();
  await eventually(names, (n) => !n.includes('delta 9'), 'deleted row gone');
  assert.deepEqual(callsTo(ui, 'deleteRun'), [{ runId: ids['delta 9'], removeFiles: false }]);
  assert.equal(await ui.page.getByRole('button', { name: 'Delete delta 10' }).isDisabled(), true, 'a running run is stopped first');

  const running = ids['delta 10'];
  const row = ui.page.getByRole('row').filter({ has: ui.page.getByRole('rowheader', { name: 'delta 10' }) });
  const total = 80;
  const step = 20;
  await ui.emit({ type: 'run-event', runId: running, event: { event: 'start', backend: 'cpu', resumed_from: null, method: 'lora', total_steps: total, trainable_parameters: 1, data_format: 'alpaca', train: {} as never, validation: null, estimated_peak_bytes: 3 * 2 ** 30 } });
  await ui.emit({ type: 'run-event', runId: running, event: stepEvent(step, RUNNING.floor) });
  await row.getByText(`${Math.round((step / total) * 100)}%`).waitFor();
  store.finishRun(running, { status: 'failed', error: 'Out of memory' });
  await ui.emit({ type: 'run-status', runId: running, status: 'failed', error: 'Out of memory' });
  await eventually(() => row.locator('.badge').textContent(), (v) => v === 'failed', 'badge follows the status event');
});

test('with no runs the list says how to start one', async (t) => {
  const ui = await open(t, host({ listRuns: () => [] }), '/runs');
  await ui.page.getByRole('heading', { name: 'No fine-tunes yet' }).waitFor();
  assert.equal(await ui.page.getByRole('link', { name: 'Start a fine-tune' }).getAttribute('href'), '#/new');
});

test('compare overlays one line per run, shows the differing settings, final metrics and samples side by side', async (t) => {
  const store = openTestStore(tempDir(t));
  t.after(() => store.close());
  const prompts = ['Give three tips for staying healthy.'];
  const a = recordRun(store, { ...RUNNING, name: 'lora r8', status: 'completed', steps: 60, evalEvery: 10, tokensPerStep: 2048, samplePrompts: prompts });
  const b = recordRun(store, { ...RUNNING, name: 'full lr 5e-5', method: 'full', learningRate: 5e-5, status: 'completed', steps: 40, floor: 1.05, evalEvery: 8, tokensPerStep: 4096, samplePrompts: prompts });
  const comparison = store.compareRuns([a, b]);
  const ui = await open(t, host({ compareRuns: ({ runIds }) => store.compareRuns(runIds) }), `/compare?ids=${a},${b}`);
  assert.ok(comparison.config.differencesOnly.length > 0, 'the fixture runs differ');

  const configKeys = () => ui.page.getByRole('table', { name: /settings/ }).locator('tbody th').allTextContents();
  await eventually(configKeys, (k) => JSON.stringify(k) === JSON.stringify(comparison.config.differencesOnly.map((r) => r.key)), 'differences only by default');
  await ui.page.getByLabel('Differences only').uncheck();
  await eventually(configKeys, (k) => k.length === comparison.config.all.length, 'every setting');
  await ui.page.getByLabel('Differences only').check();

  const nonNull = (values: (number | null)[][]) => values.map((v) => v.filter((x) => x !== null).length);
  for (const [name, aligned] of Object.entries(comparison.curves.byStep)) {
    await eventually(linePoints(ui.page, metricLabel(name)), (n) => JSON.stringify(n) === JSON.stringify(nonNull(aligned.values)), `${name} by step`);
  }
  const legend = ui.page.getByRole('list', { name: 'Train loss legend' });
  assert.deepEqual(await legend.getByRole('listitem').allTextContents(), ['lora r8', 'full lr 5e-5']);

  await ui.page.getByLabel('Tokens seen').check();
  const loss = comparison.curves.byTokens.loss;
  await eventually(linePoints(ui.page, 'Train loss'), (n) => JSON.stringify(n) === JSON.stringify(nonNull(loss.values)), 'loss by tokens');
  assert.match((await ui.page.getByRole('img', { name: 'Train loss' }).locator('desc').textContent()) ?? '', /by tokens seen/);

  for (const metric of comparison.finalMetrics) {
    await ui.page.getByRole('rowheader', { name: metricLabel(metric.name), exact: true }).waitFor();
  }
  const answers = ui.page.getByRole('article', { name: 'Prompt 1' });
  await answers.getByText(prompts[0], { exact: true }).waitFor();
  for (const output of comparison.samples[0].outputs) await answers.getByText(output!.output, { exact: true }).waitFor();
  await ui.page.getByLabel('Step').check();
  await ui.screenshot('compare');
});

test('compare with fewer than two runs says how to pick them', async (t) => {
  const ui = await open(t, host({}), '/compare?ids=only-one');
  await ui.page.getByRole('heading', { name: 'Pick at least two runs to compare' }).waitFor();
  assert.equal(callsTo(ui, 'compareRuns').length, 0);
});
