// The whole app end to end: the web host `npm run web` starts, with the real core and its
// training and chat workers, driven in Chromium on the tiny fixture model. Fine-tunes
// through the wizard, watches runs finish, compares them, chats with a result beside its
// base model, and resumes a stopped run. Needs `npm run build` first.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { ApiEvent } from '../core/api/contract';
import { formatMetric } from '../renderer/src/lib/format';
import { formatConfigValue } from '../renderer/src/runs/compare-view';
import { formatFinalMetric, metricLabel, RUN_PAGE_METRICS } from '../renderer/src/runs/labels';
import { noSamplesText } from '../renderer/src/runs/samples';
import { linePoints, loneMarks, range, runDetail, RUN_TIMEOUT_MS, waitForStatus, waitForStep } from './e2e/run-page';
import { startWebApp, type WebApp } from './e2e/web-app';
import { startRunWithWizard, type WizardRun } from './e2e/wizard';
import { fixture } from './helpers';
import { DEFAULT_MAX_NEW_TOKENS } from '../renderer/src/playground/sampling-form';
import { bestEval, overfitVerdict } from '../core/train/verdict';

const EXAMPLES = path.resolve(import.meta.dirname, '../examples/data');
const BASE_MODEL = fixture('gpt2-tiny');

const LORA: WizardRun = {
  name: 'tips-lora',
  model: BASE_MODEL,
  data: path.join(EXAMPLES, 'alpaca-train.json'),
  method: 'lora',
  maxLength: 64,
  maxSteps: 30,
  learningRate: 3e-4,
  validationSplit: 0.1,
  evalSteps: 10,
  samplePrompt: 'Give me a tip for houseplants',
};

const FULL: WizardRun = {
  ...LORA,
  name: 'english-full',
  data: path.join(EXAMPLES, 'english-text.txt'),
  method: 'full',
  maxSteps: 20,
  // One evaluation, at the end: a chart of a single point must still show it.
  evalSteps: 20,
  learningRate: 1e-4,
  samplePrompt: 'The weather today',
};

/** A learning rate far too high for full fine-tuning: eval loss bottoms early, then climbs (measured with the CLI). */
const OVERFIT: WizardRun = { ...LORA, name: 'overfit-full', method: 'full', maxSteps: 16, evalSteps: 2, learningRate: 0.05 };

/** Long enough that Stop lands mid-run on any machine. */
const STOPPED: WizardRun = { ...LORA, name: 'stop-and-resume', maxSteps: 50, evalSteps: 25 };

let app: WebApp;
before(async () => {
  app = await startWebApp();
});
after(() => app?.close());

const nav = () => app.page.getByRole('navigation', { name: 'Main' });

/** Each run is trained once, by whichever test needs it first, so any test can run alone. */
const finished = new Map<WizardRun, Promise<string>>();

function finishedRun(run: WizardRun, shoot?: string): Promise<string> {
  let id = finished.get(run);
  if (!id) {
    id = (async () => {
      const runId = await startRunWithWizard(app, run, shoot);
      // The run page follows the run live, then its end.
      await waitForStep(app.page, Math.ceil(run.maxSteps / 3));
      if (shoot) await app.screenshot(`${shoot}-run-live`, { window: true });
      await waitForStatus(app.page, run.name, 'completed');
      return runId;
    })();
    finished.set(run, id);
  }
  return id;
}

/** The finished run's page shows every stored point in its charts, its final metrics and samples. */
async function checkFinishedRunPage(run: WizardRun, runId: string): Promise<void> {
  const { page } = app;
  await page.goto(`${app.url}#/runs/${encodeURIComponent(runId)}`);
  await waitForStatus(page, run.name, 'completed');
  const detail = await runDetail(page, runId);

  assert.deepEqual(detail.curves.loss.steps, range(1, run.maxSteps), 'a train loss at every step (logging_steps 1)');
  assert.deepEqual(detail.curves.eval_loss.steps, range(run.evalSteps, run.maxSteps, run.evalSteps), 'an evaluation every eval_steps');
  const [trainPoints, evalPoints] = [detail.curves.loss.steps.length, detail.curves.eval_loss.steps.length];
  assert.deepEqual(await linePoints(page, 'Loss'), [trainPoints, trainPoints, evalPoints], 'train loss raw and smoothed, and eval loss, in one chart');
  assert.equal(await loneMarks(page, 'Loss'), evalPoints === 1 ? 1 : 0, 'a single evaluation is marked');
  for (const name of RUN_PAGE_METRICS) {
    const stored = detail.curves[name].steps.length;
    assert.deepEqual(await linePoints(page, metricLabel(name)), [stored], `${name} chart draws every stored point`);
    assert.equal(await loneMarks(page, metricLabel(name)), stored === 1 ? 1 : 0, `${name}: a single point is marked`);
  }

  const { train_loss: trainLoss, last_loss: lastLoss, eval_loss: evalLoss } = detail.run.finalMetrics ?? {};
  assert.ok(trainLoss !== undefined && lastLoss !== undefined && evalLoss !== undefined, JSON.stringify(detail.run.finalMetrics));
  assert.match(
    await page.getByText(/· average training loss /).innerText(),
    new RegExp(`average training loss ${formatMetric(trainLoss)} · last step ${formatMetric(lastLoss)} · eval loss ${formatMetric(evalLoss)}`),
  );

  assert.deepEqual([...new Set(detail.samples.map((s) => s.step))], range(run.evalSteps, run.maxSteps, run.evalSteps), 'a sample at every evaluation');
  const samples = page.getByRole('region', { name: 'Samples' });
  const newest = detail.samples.at(-1)!;
  await samples.getByText(`Step ${newest.step}`, { exact: true }).waitFor();
  const shown = (await samples.innerText()).replace(/\s+/g, ' ');
  assert.ok(shown.includes(run.samplePrompt), 'the sample prompt is shown');
  assert.ok(shown.includes(newest.output.replace(/\s+/g, ' ').trim()), `the newest sample is shown: ${newest.output}`);
}

/** A table's cells by row, header row first. */
function tableCells(table: ReturnType<WebApp['page']['getByRole']>): Promise<string[][]> {
  return table.evaluate((el) => Array.from((el as HTMLTableElement).rows, (row) => Array.from(row.cells, (cell) => (cell.textContent ?? '').trim())));
}

test('the wizard fine-tunes with LoRA, and the run page follows it to its end: charts, final metrics, samples', async () => {
  const runId = await finishedRun(LORA, 'wizard-lora');
  await checkFinishedRunPage(LORA, runId);
  await app.screenshot('run-lora-finished', { window: true });
});

test('the wizard fine-tunes every weight with another learning rate, and its run finishes the same way', async () => {
  const runId = await finishedRun(FULL);
  await checkFinishedRunPage(FULL, runId);
  const detail = await runDetail(app.page, runId);
  assert.equal(detail.run.method, 'full');
  assert.equal((detail.run.config as { learning_rate: number }).learning_rate, FULL.learningRate);
  await app.screenshot('run-full-finished');
});

test('the runs list shows both runs; Compare sets their differing settings, curves and final metrics side by side', async () => {
  const runs = [LORA, FULL];
  const details = [];
  for (const run of runs) details.push(await runDetail(app.page, await finishedRun(run)));
  const { page } = app;
  await nav().getByRole('link', { name: 'Runs' }).click();
  const list = page.getByRole('table', { name: /^Fine-tuning runs/ });
  for (const run of runs) await list.getByRole('row', { name: new RegExp(run.name) }).getByText('completed', { exact: true }).waitFor();
  await app.screenshot('runs-list', { window: true });

  for (const run of runs) await page.getByRole('checkbox', { name: `Select ${run.name}` }).check();
  await page.getByRole('button', { name: 'Compare' }).click();
  await page.getByRole('heading', { level: 1, name: 'Compare runs' }).waitFor();

  const config = page.getByRole('table', { name: /settings differ$/ });
  const [, ...rows] = await tableCells(config);
  const byKey = new Map(rows.map(([key, ...values]) => [key, values]));
  assert.match(await config.locator('caption').innerText(), new RegExp(`^${rows.length} settings differ$`));
  assert.deepEqual(byKey.get('method'), runs.map((r) => r.method));
  assert.deepEqual(byKey.get('learning_rate'), runs.map((r) => formatConfigValue(r.learningRate)));
  assert.deepEqual(byKey.get('max_steps'), runs.map((r) => formatConfigValue(r.maxSteps)));
  assert.deepEqual(byKey.get('data.train'), runs.map((r) => r.data));
  for (const [key, values] of byKey) assert.ok(new Set(values).size > 1, `${key} is listed as differing: ${values.join(' | ')}`);

  // Overlaid curves: one line per run, each with every point that run logged.
  assert.deepEqual(await linePoints(page, metricLabel('loss')), details.map((d) => d.curves.loss.steps.length));
  assert.deepEqual(await linePoints(page, metricLabel('eval_loss')), details.map((d) => d.curves.eval_loss.steps.length));

  const metrics = await tableCells(page.getByRole('table').filter({ has: page.getByRole('columnheader', { name: 'Metric' }) }));
  const trainLossRow = metrics.find(([label]) => label === metricLabel('train_loss'));
  assert.deepEqual(trainLossRow?.slice(1), details.map((d) => formatFinalMetric('train_loss', d.run.finalMetrics!.train_loss)));
  for (const [label, ...cells] of metrics.slice(1)) {
    for (const cell of cells) assert.doesNotMatch(cell, /e\+/, `${label} reads as a plain number`);
  }
  await app.screenshot('compare', { window: true });
});

test('the Playground streams one message to a run’s result and its base model side by side with the default settings, and saves both conversations', async () => {
  const runId = await finishedRun(LORA);
  const { page } = app;
  await page.goto(`${app.url}#/runs/${encodeURIComponent(runId)}`);
  await page.getByRole('link', { name: 'Open in chat' }).click();
  await page.getByRole('heading', { level: 1, name: 'Playground' }).waitFor();
  const panes = [page.getByRole('region', { name: 'Pane 1' }), page.getByRole('region', { name: 'Pane 2' })];
  assert.equal(await panes[0].getByLabel('Chat with').locator('option:checked').innerText(), LORA.name, 'opened on the run');
  await page.getByRole('button', { name: 'Add pane' }).click();
  const baseLabel = path.basename(BASE_MODEL);
  await panes[1].getByLabel('Chat with').selectOption({ label: baseLabel });
  // The defaults as a first chat has them: 128 new tokens, as many as gpt2-tiny has positions.
  await page.locator('summary', { hasText: 'Sampling settings' }).getByText(`up to ${DEFAULT_MAX_NEW_TOKENS} tokens`).waitFor();

  // Every streamed piece, by stream, as the page hears them.
  await page.evaluate(() => {
    const heard: ApiEvent[] = [];
    (window as unknown as { heard: ApiEvent[] }).heard = heard;
    window.tunesmith!.onEvent((event) => heard.push(event));
  });
  const message = 'What should I plant in spring?';
  await page.getByRole('textbox', { name: 'Message to both panes' }).fill(message);
  await page.getByRole('button', { name: 'Send' }).click();
  for (const pane of panes) await pane.getByRole('log').and(page.locator('[aria-busy="false"]')).getByText(/tokens\/s|tokens?$/).waitFor({ timeout: RUN_TIMEOUT_MS });

  const heard = await page.evaluate(() => (window as unknown as { heard: ApiEvent[] }).heard);
  const ends = heard.flatMap((e) => (e.type === 'chat-end' ? [e] : []));
  assert.equal(ends.length, 2, 'one reply per pane');
  for (const end of ends) {
    assert.equal(end.error, null);
    const pieces = heard.flatMap((e) => (e.type === 'chat-token' && e.streamId === end.streamId ? [e.text] : []));
    assert.ok(pieces.length > 1, `the reply came in pieces: ${JSON.stringify(pieces)}`);
    assert.equal(pieces.join(''), end.text, 'the pieces add up to the reply');
  }
  for (const end of ends) {
    assert.equal(end.contextLimit, 128, 'gpt2-tiny reads 128 positions');
    assert.ok(end.promptTokens + end.tokens <= 128, `the conversation fits the context: ${end.promptTokens} + ${end.tokens}`);
  }
  for (const pane of panes) await pane.getByText(/^Context: \d+ of 128 tokens/).waitFor();
  const transcripts = await Promise.all(panes.map((pane) => pane.getByRole('log').innerText()));
  for (const end of ends) {
    assert.equal(transcripts.filter((t) => t.replace(/\s+/g, ' ').includes(end.text.replace(/\s+/g, ' ').trim())).length, 1, `one pane shows: ${end.text}`);
  }

  const saved = page.getByRole('region', { name: 'Saved conversations' });
  for (const label of [LORA.name, baseLabel]) {
    await saved.getByRole('button', { name: `Open conversation with ${label}: ${message}` }).waitFor();
  }
  assert.equal(await saved.getByText('2 messages').count(), 2);
  await page.evaluate(() => window.scrollTo(0, 0));
  await app.screenshot('playground', { window: true });
});

test('a run whose eval loss climbs after its best says so in plain words, marks the best step, and its result holds that step\'s weights', async () => {
  const runId = await finishedRun(OVERFIT);
  const { page } = app;
  const detail = await runDetail(page, runId);
  const best = bestEval(detail.curves.eval_loss)!;
  assert.ok(overfitVerdict(detail.curves.eval_loss), `eval loss ${JSON.stringify(detail.curves.eval_loss.values)} climbs after its best`);
  assert.equal(detail.run.finalMetrics?.result_step, best.step, 'load_best_model_at_end (on by default) kept the best evaluation');
  assert.ok(best.step < OVERFIT.maxSteps);
  const note = await page.getByRole('note').innerText();
  assert.match(note, new RegExp(`since step ${best.step} .*memorising the training examples`));
  assert.match(note, new RegExp(`result holds the weights of step ${best.step}, its best checkpoint`));
  assert.equal(await page.getByRole('figure', { name: 'Loss', exact: true }).locator('text.marker-label').textContent(), `best eval, step ${best.step}`);
  await page.getByText(`the result holds step ${best.step}’s weights, the best evaluation`).waitFor();
  await app.screenshot('run-overfit', { window: true });
});

test('a stopped run resumes from its checkpoint and completes, each step recorded once', async () => {
  const { page } = app;
  const runId = await startRunWithWizard(app, STOPPED);
  await waitForStep(page, 5);
  await page.getByRole('button', { name: 'Stop' }).click();
  await waitForStatus(page, STOPPED.name, 'stopped');
  const stopped = await runDetail(page, runId);
  const stoppedAt = stopped.curves.loss.steps.at(-1)!;
  assert.ok(stoppedAt >= 5 && stoppedAt < STOPPED.maxSteps, `stopped at step ${stoppedAt}`);
  assert.deepEqual(stopped.checkpoints.map((c) => c.step), [stoppedAt], 'stopping saved a checkpoint where it stopped');
  await page.getByRole('region', { name: 'Samples' }).getByText(noSamplesText(false, 1)).waitFor();
  await app.screenshot('run-stopped');

  await page.getByRole('button', { name: 'Resume' }).click();
  await waitForStatus(page, STOPPED.name, 'completed');
  const resumed = await runDetail(page, runId);
  assert.deepEqual(resumed.curves.loss.steps, range(1, STOPPED.maxSteps), 'every step once, none repeated after the resume');
  assert.deepEqual(await linePoints(page, 'Loss', metricLabel('loss')), [STOPPED.maxSteps]);
  assert.ok(resumed.log.some((line) => /resuming training/.test(line)), 'the log says it resumed');
  // It trained to max_steps, which the host will not extend by epochs, so no Extend is offered.
  await page.getByRole('link', { name: 'Open in chat' }).waitFor();
  assert.equal(await page.getByRole('button', { name: 'Extend' }).count(), 0);
  await app.screenshot('run-resumed');
});

test('Settings shows the data folder the host was given and the engine in use', async () => {
  const { page } = app;
  await nav().getByRole('link', { name: 'Settings' }).click();
  await page.getByRole('heading', { level: 1, name: 'Settings' }).waitFor();
  const info = await page.evaluate(() => window.tunesmith!.appInfo());
  await page.getByRole('region', { name: 'Data folder' }).getByText(app.home, { exact: true }).waitFor();
  await page.getByRole('region', { name: 'About' }).getByText('Web page served on this computer').waitFor();
  await nav().getByText(`Engine: ${info.backend}`).waitFor();
  await app.screenshot('settings', { window: true });
});
