// The app after the first run, end to end on the real web host and core with the tiny
// fixture model: a first run from the sample data in one click, the pre-flight check that
// keeps Start off on settings the model cannot train, column mapping on a real file, and
// "Run again with changes" from a finished run and from a run the CLI left failed.
// Needs `npm run build` first.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { Page } from 'playwright-core';
import type { TrainConfig } from '../core/train/config';
import { runDetail, waitForStatus } from './e2e/run-page';
import { startWebApp, type WebApp } from './e2e/web-app';
import { fixture, tempDir, tunesmith } from './helpers';

const MODEL = fixture('gpt2-tiny');
const SAMPLE = path.resolve(import.meta.dirname, '../examples/data/sample-instructions.jsonl');
const STEP_TIMEOUT_MS = 20_000;

let app: WebApp;
before(async () => {
  app = await startWebApp();
});
after(() => app?.close());

const heading = (page: Page, step: string) => page.getByRole('heading', { level: 2, name: new RegExp(`^\\d\\. ${step}$`) });
const startButton = (page: Page) => page.getByRole('button', { name: 'Start training' });
const reason = (page: Page) => page.locator('#next-reason');

async function newFineTuneWithModel(page: Page): Promise<void> {
  await page.goto(`${app.url}#/new`);
  await page.getByRole('radio', { name: /^A model folder on this computer/ }).check();
  // Pasted as a file manager copies it: quoted, with a space after.
  await page.getByLabel('Model folder', { exact: true }).fill(`"${MODEL}" `);
  await page.getByLabel('Model folder', { exact: true }).dispatchEvent('change');
  await page.getByText('Architecture').waitFor({ timeout: STEP_TIMEOUT_MS });
}

async function openedRunId(page: Page): Promise<string> {
  await page.waitForURL(/#\/runs\/[^/?]+$/, { timeout: STEP_TIMEOUT_MS });
  return decodeURIComponent(new URL(page.url()).hash.split('/').at(-1)!);
}

test('sample data in one click; a LoRA target the model lacks and a batch past the data are caught before Start', async () => {
  const { page } = app;
  await newFineTuneWithModel(page);
  assert.equal(await page.getByLabel('Model folder', { exact: true }).inputValue(), MODEL, 'quotes and spaces removed');
  await page.getByRole('button', { name: 'Try it with sample data' }).click();
  await heading(page, 'Review').waitFor();
  const panel = page.getByRole('region', { name: 'Before you start' });
  const lines = fs.readFileSync(SAMPLE, 'utf8').trim().split('\n').length;
  await panel.getByText(/The settings fit the model and the data \((\d+) training examples\)/).waitFor({ timeout: STEP_TIMEOUT_MS });
  // The wizard holds back a tenth for evaluation (ceil(0.1 × n), as splitValidation does).
  const examples = lines - Math.ceil(0.1 * lines);
  assert.match(await panel.innerText(), new RegExp(`\\(${examples} training examples\\)`));

  // A target module the model does not have: caught at the field, the step and Start.
  await page.getByRole('button', { name: 'Edit method' }).click();
  await page.getByRole('textbox', { name: 'Target modules' }).fill('foo_proj');
  const problem = 'This gpt2 model has no module "foo_proj"; it has c_attn, c_proj, c_fc';
  await page.getByText(problem).first().waitFor({ timeout: STEP_TIMEOUT_MS });
  assert.equal(await page.getByRole('button', { name: 'Next: Settings' }).isDisabled(), true);
  assert.equal((await reason(page).innerText()).trim(), problem);
  // Nor can the review be reached around it, so Start is out of reach.
  assert.equal(await page.getByRole('navigation', { name: 'Steps' }).getByRole('button', { name: /Review/ }).isDisabled(), true);
  await app.screenshot('e2e-method-blocked', { window: true });

  await page.getByRole('textbox', { name: 'Target modules' }).fill('c_attn, c_fc');
  // A batch bigger than the data: said, capped by a click.
  await page.getByRole('button', { name: 'Next: Settings' }).click({ timeout: STEP_TIMEOUT_MS });
  await page.getByRole('spinbutton', { name: 'Batch size' }).fill('4096');
  // A few steps: each one now holds the whole data.
  await page.getByRole('spinbutton', { name: 'Steps' }).fill('3');
  await page.getByRole('button', { name: 'Next: Review' }).click({ timeout: STEP_TIMEOUT_MS });
  await panel.getByText(`Batch size 4096 is more than the ${examples} training examples`).waitFor({ timeout: STEP_TIMEOUT_MS });
  await panel.getByRole('button', { name: `Use batch size ${examples}` }).click();
  await panel.getByText(/The settings fit the model and the data/).waitFor({ timeout: STEP_TIMEOUT_MS });
  await page.getByRole('button', { name: 'Edit settings' }).click();
  assert.equal(await page.getByRole('spinbutton', { name: 'Batch size' }).inputValue(), String(examples));
  // The whole data in one batch is a lot of logits for a test machine: a small batch trains here.
  await page.getByRole('spinbutton', { name: 'Batch size' }).fill('4');
  await page.getByRole('button', { name: 'Next: Review' }).click({ timeout: STEP_TIMEOUT_MS });
  await page.getByRole('textbox', { name: 'Run name' }).fill('sample-first');
  await startButton(page).click({ timeout: STEP_TIMEOUT_MS });
  const runId = await openedRunId(page);
  await waitForStatus(page, 'sample-first', 'completed');
  const config = (await runDetail(page, runId)).run.config as TrainConfig;
  assert.equal(config.data.train, SAMPLE);
  assert.equal(config.per_device_train_batch_size, 4);
  assert.equal(config.max_steps, 3);
  assert.deepEqual(config.lora.target_modules, ['c_attn', 'c_fc']);
  assert.equal(config.data.max_length, 128, "max length defaults to the model's 128 positions");
});

test('Run again with changes: the finished run fills the wizard; changed settings train as a new run', async () => {
  const { page } = app;
  await page.goto(`${app.url}#/runs`);
  await page.getByRole('link', { name: 'sample-first' }).click();
  await waitForStatus(page, 'sample-first', 'completed');
  const first = (await runDetail(page, decodeURIComponent(new URL(page.url()).hash.split('/').at(-1)!))).run;
  await page.getByRole('button', { name: 'Run again with changes' }).click();
  await heading(page, 'Review').waitFor();
  await page.getByText(/Filled in from sample-first/).waitFor();
  assert.equal(await page.getByRole('textbox', { name: 'Run name' }).inputValue(), 'sample-first (again)');
  await page.getByRole('button', { name: 'Edit settings' }).click();
  await page.getByRole('spinbutton', { name: 'Learning rate' }).fill('0.0005');
  await page.getByRole('button', { name: 'Next: Review' }).click({ timeout: STEP_TIMEOUT_MS });
  await startButton(page).click({ timeout: STEP_TIMEOUT_MS });
  const againId = await openedRunId(page);
  assert.notEqual(againId, first.id);
  await waitForStatus(page, 'sample-first (again)', 'completed');
  const again = (await runDetail(page, againId)).run.config as TrainConfig;
  const before = first.config as TrainConfig;
  assert.deepEqual({ ...again, output_dir: '', learning_rate: 0 }, { ...before, output_dir: '', learning_rate: 0 }, 'everything else as it was');
  assert.equal(again.learning_rate, 0.0005);
});

test('a run the CLI left failed leads to the wizard at the setting that failed it; question/answer data maps itself', async (t) => {
  const dir = tempDir(t);
  const data = path.join(dir, 'qa.json');
  const rows = fs.readFileSync(SAMPLE, 'utf8').trim().split('\n').slice(0, 40).map((line) => JSON.parse(line) as { instruction: string; output: string });
  fs.writeFileSync(data, JSON.stringify(rows.map((r) => ({ question: r.instruction, answer: r.output }))));
  const config = path.join(dir, 'bad.json');
  fs.writeFileSync(
    config,
    JSON.stringify({ model: MODEL, output_dir: path.join(dir, 'out'), method: 'lora', lora: { target_modules: ['foo_proj'] }, max_steps: 5, data: { train: data, max_length: 64 } }),
  );
  const cli = tunesmith('train', '--config', config, '--store', path.join(app.home, 'tunesmith.db'));
  assert.notEqual(cli.code, 0, 'the CLI run fails');
  assert.match(cli.stdout + cli.stderr, /recorded in/, cli.stderr);

  const { page } = app;
  // The list was read before the CLI wrote its run: load it afresh.
  await page.goto(`${app.url}#/runs`);
  await page.reload();
  await page.getByRole('link', { name: 'out', exact: true }).click();
  await page.getByRole('alert').filter({ hasText: 'The run failed' }).waitFor({ timeout: STEP_TIMEOUT_MS });
  await app.screenshot('e2e-run-failed', { window: true });
  await page.getByRole('button', { name: 'Fix and run again' }).click();
  await heading(page, 'Method').waitFor();
  await page.getByText(/That run failed: lora\.target_modules \["foo_proj"\]/).waitFor();
  const targets = page.getByRole('textbox', { name: 'Target modules' });
  assert.equal(await targets.inputValue(), 'foo_proj');
  assert.equal(await targets.getAttribute('aria-invalid'), 'true');
  await app.screenshot('e2e-wizard-retry', { window: true });
  await targets.fill('c_attn');
  await page.getByRole('button', { name: 'Back' }).click();
  await heading(page, 'Data').waitFor();
  await page.getByText('Read as').waitFor({ timeout: STEP_TIMEOUT_MS });
  assert.match(await page.getByRole('group', { name: 'Prompt and response fields' }).innerText(), /prompt ← question, response ← answer/);
  await page.getByRole('button', { name: 'Next: Method' }).click({ timeout: STEP_TIMEOUT_MS });
  await page.getByRole('button', { name: 'Next: Settings' }).click({ timeout: STEP_TIMEOUT_MS });
  await page.getByRole('button', { name: 'Next: Review' }).click({ timeout: STEP_TIMEOUT_MS });
  await page.getByRole('textbox', { name: 'Run name' }).fill('fixed-targets');
  await startButton(page).click({ timeout: STEP_TIMEOUT_MS });
  const runId = await openedRunId(page);
  await waitForStatus(page, 'fixed-targets', 'completed');
  const fixed = (await runDetail(page, runId)).run.config as TrainConfig;
  assert.deepEqual(fixed.lora.target_modules, ['c_attn']);
  assert.equal(fixed.data.train, data);
});
