// The "New fine-tune" wizard in a real browser against a stub host whose answers are
// worked out from what the page asks: the memory band from the batch and length sent,
// the preview's problem from the path sent. So each test checks that the page sends the
// right thing and shows what comes back. Needs `npm run build` first.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import type { Page } from 'playwright-core';
import type {
  ApiMethod,
  CatalogEntry,
  DataPreview,
  DataPreviewRequest,
  EstimateSuggestion,
  MemoryEstimateView,
  ModelSummary,
  RunCheck,
  RunDetail,
  TrainConfigDraft,
} from '../core/api/contract';
import type { Run } from '../core/store/types';
import { apiError } from '../core/api/errors';
import { memoryBand } from '../core/memory/band';
import { deviceMemory, deviceVerdict } from '../core/memory/device';
import { randomConfig } from '../core/models/load';
import { modelConfigForEstimate } from '../core/memory/model-config';
import { preflight } from '../core/memory/preflight';
import { resolveTrainConfig } from '../core/train/config';
import { FIELDS, type ConfigField, type FieldInfo } from '../renderer/src/wizard/fields';
import { openStubbedUi, SCREENSHOTS, type UiSession } from './ui/harness';
import { presetPatch } from '../renderer/src/wizard/presets';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
const RAM = 16 * GiB;
const HIDDEN = 768;

const CATALOG: CatalogEntry[] = [
  {
    id: 'gpt2',
    architecture: 'gpt2',
    parameters: 124_439_808,
    diskBytes: 548 * MiB,
    description: 'OpenAI’s smallest GPT-2: quick to train, a good first model.',
    memory: { loraBytes: 1.6 * GiB, fullBytes: 4.1 * GiB },
    cachedDir: '/home/me/.cache/huggingface/hub/models--gpt2/snapshots/607a30d',
  },
  {
    id: 'bigscience/bloom-560m',
    architecture: 'bloom',
    parameters: 559_214_592,
    diskBytes: 1.1 * GiB,
    description: 'BLOOM 560M: multilingual, 46 languages.',
    memory: { loraBytes: 3.2 * GiB, fullBytes: 11.5 * GiB },
    cachedDir: null,
  },
];

function summary(source: string): ModelSummary {
  const bloom = source.includes('bloom');
  return {
    source,
    dir: CATALOG.find((e) => e.id === source)?.cachedDir ?? source,
    architecture: bloom ? 'bloom' : 'gpt2',
    parameters: bloom ? 559_214_592 : 124_439_808,
    layers: bloom ? 24 : 12,
    hiddenSize: bloom ? 1024 : HIDDEN,
    heads: 16,
    vocabSize: bloom ? 250_880 : 50_257,
    maxPositions: bloom ? null : 1024,
    hasChatTemplate: false,
  };
}

/** A file named broken.json has a bad line 3; anything else reads as three Alpaca examples. */
function preview(req: DataPreviewRequest): DataPreview {
  if (req.path.endsWith('broken.json')) {
    return {
      path: req.path,
      format: 'alpaca',
      stats: null,
      longestTokens: 0,
      examples: [],
      problem: { message: `${req.path}: line 3: field "output" must be a string, got number` },
      columns: null,
    };
  }
  const examples = ['What is 2 + 2?', 'Name a colour.', 'Say hello in French.'].map((q, i) => {
    const prompt = req.trainOnPrompt ? 0 : 9 + i;
    return {
      parts: [
        { text: `Human: ${q}\n\nAssistant: `, trained: req.trainOnPrompt },
        { text: ['4', 'Blue.', 'Bonjour !'][i], trained: true },
      ],
      tokens: 12 + i,
      trainedTokens: 12 + i - prompt,
      truncated: false,
    };
  });
  const tokens = examples.reduce((n, e) => n + e.tokens, 0);
  return {
    path: req.path,
    format: (req.format as DataPreview['format']) ?? 'alpaca',
    stats: { examples: examples.length, tokens, label_tokens: examples.reduce((n, e) => n + e.trainedTokens, 0), truncated: 0, skipped: 0 },
    longestTokens: Math.max(...examples.map((e) => e.tokens)),
    examples,
    problem: null,
    columns: null,
  };
}

/** Peak bytes grow with batch × length, three times over for a full fine-tune. */
function peakBytes(method: string | undefined, batch: number, seq: number): number {
  return GiB + batch * seq * 1.5 * 1024 * (method === 'full' ? 3 : 1) * 1024;
}

/** `gpuBytes`: the run trains on a GPU with this much memory, as a host that found one says. */
function estimate(config: TrainConfigDraft, gpuBytes?: number): MemoryEstimateView {
  const r = config.lora?.r ?? 8;
  if (config.method !== 'full' && r > HIDDEN) throw apiError({ message: `Rank ${r} is larger than the model's hidden size (${HIDDEN})`, field: 'config.lora.r' });
  const batch = config.per_device_train_batch_size ?? 8;
  const seq = config.data.max_length ?? 512;
  const totalBytes = peakBytes(config.method, batch, seq);
  const band = memoryBand(totalBytes, gpuBytes ?? RAM, { bytes: 0, limitBytes: null });
  const device = gpuBytes === undefined ? null : deviceMemory(totalBytes, RAM, randomConfig('gpt2'), { batch, seq }, config.method ?? 'lora', { software: false, memoryBytes: gpuBytes, maxStorageBufferBindingSize: 2 ** 30 });
  const suggestions: EstimateSuggestion[] = [];
  if (band !== 'fits' && batch > 1) {
    const half = Math.floor(batch / 2);
    const acc = (config.gradient_accumulation_steps ?? 1) * 2;
    const total = peakBytes(config.method, half, seq);
    suggestions.push({
      change: `batch ${half} × accumulation ${acc}`,
      patch: { per_device_train_batch_size: half, gradient_accumulation_steps: acc },
      totalBytes: total,
      band: memoryBand(total, RAM, { bytes: 0, limitBytes: null }),
    });
  }
  return {
    backend: device ? 'webgpu' : 'native',
    band,
    totalBytes,
    ramBytes: RAM,
    gpu: device && deviceVerdict(device, band),
    batch,
    components: {
      runtime: GiB / 2,
      weights: GiB / 2,
      weight_copies: 0,
      gradients: 0,
      optimizer_moments: 0,
      activations: totalBytes - GiB,
      activation_gradients: 0,
      logits: 0,
      embedding_gradient: 0,
      workspace: 0,
      allocator_slack: 0,
    },
    trainableParameters: r * 2 * HIDDEN * 12,
    seq,
    suggestions,
  };
}

/** The stub's data holds this many training examples. */
const STUB_EXAMPLES = 300;
const SAMPLE_PATH = '/app/examples/data/sample-instructions.jsonl';

/** The pre-flight check as the host makes it (core/memory/preflight.ts), on the stub's model and data. */
function runCheck(config: TrainConfigDraft): RunCheck {
  const model = modelConfigForEstimate({ model_type: 'gpt2', n_layer: 12, n_embd: HIDDEN, n_head: 12, n_positions: 1024, vocab_size: 50257 });
  return { ...preflight(resolveTrainConfig({ ...config, output_dir: '-' }), model, { trainExamples: STUB_EXAMPLES, longestTokens: 40 }), examples: STUB_EXAMPLES };
}

const SECONDS_PER_STEP = 0.5;

/** Batches above this are refused at start, as a host that measured the machine might. */
const START_BATCH_LIMIT = 4;

const WARMUP_REFUSAL = 'the longest example has 900 tokens but this model reads only 128 positions';

/** Files whose fields the wizard must ask about (fields.json), that it reads plainly (qa.json), and plain text. */
function previewFor(req: DataPreviewRequest): DataPreview {
  const base = preview(req);
  if (req.path.endsWith('fields.json')) {
    const available = ['id', 'ask', 'say'];
    if (!req.promptColumn || !req.responseColumn) {
      const message = `${req.path}: item 1: no prompt field (looked for instruction, prompt, question, query; fields: id, ask, say); set data.prompt_column`;
      return { ...base, format: null, stats: null, examples: [], problem: { message }, columns: { available, prompt: '', input: null, response: '', sure: false } };
    }
    return { ...base, columns: { available, prompt: req.promptColumn, input: null, response: req.responseColumn, sure: true } };
  }
  if (req.path.endsWith('qa.json')) return { ...base, columns: { available: ['question', 'answer'], prompt: 'question', input: null, response: 'answer', sure: true } };
  if (req.path.endsWith('.txt')) return { ...base, format: 'text', columns: null };
  return base;
}

/** What a past run stored: the resolved config (the model as its folder), and the source it was started with. */
function pastRun(id: string, status: Run['status'], error: string | null, draft: Partial<TrainConfigDraft>): Run {
  const config = resolveTrainConfig({ ...draft, model: CATALOG[0].cachedDir, output_dir: `/data/runs/${id}` });
  return {
    id,
    name: `run ${id}`,
    status,
    method: config.method,
    model: 'gpt2',
    dataset: config.data.train,
    config,
    createdAt: Date.UTC(2026, 0, 5, 9),
    startedAt: Date.UTC(2026, 0, 5, 9),
    endedAt: Date.UTC(2026, 0, 5, 9, 1),
    estimatedPeakBytes: null,
    measuredPeakBytes: null,
    measuredTensorPeakBytes: null,
    backend: 'native',
    finalMetrics: null,
    outputDir: config.output_dir,
    pid: null,
    error,
    notes: '',
    tags: [],
  };
}

const PAST_DRAFT: Partial<TrainConfigDraft> = {
  method: 'lora',
  lora: { r: 4, alpha: 16, dropout: 0.05, target_modules: ['c_attn', 'c_fc'] },
  data: { train: '/data/qa.json', validation_split: 0.2, template: 'alpaca', max_length: 200, prompt_column: 'question', response_column: 'answer' },
  num_train_epochs: 2,
  per_device_train_batch_size: 4,
  learning_rate: 3e-4,
  lr_scheduler_type: 'cosine',
  seed: 11,
  logging_steps: 2,
  eval_steps: 10,
  sample_prompts: ['What is 2 + 2?', 'Name a colour.'],
};

const TARGET_ERROR = 'lora.target_modules ["foo_proj"] match no projection of this gpt2 model (choose from c_attn, c_proj, c_fc)';

const PAST_RUNS: Run[] = [
  pastRun('done-run', 'completed', null, PAST_DRAFT),
  pastRun('failed-run', 'failed', `${TARGET_ERROR}\n    at createLoraLayers (lora.ts:117)`, { ...PAST_DRAFT, lora: { target_modules: ['foo_proj'] } }),
];

function host(opts: { host?: 'web' | 'electron'; picked?: string; strictStart?: boolean; warmupMs?: number; warmupRefuses?: boolean; bf16Kernel?: string | null; gpuBytes?: number } = {}) {
  return (method: ApiMethod, request: unknown): unknown => {
    switch (method) {
      case 'appInfo':
        // A CPU with fast bf16 unless the test says otherwise, so every setting has its input.
        return { name: 'Tunesmith', version: '0.1.0', backend: 'native', platform: 'linux', versions: { node: '20' }, host: opts.host ?? 'web', bf16Kernel: opts.bf16Kernel === undefined ? 'avx512-bf16' : opts.bf16Kernel };
      case 'getSettings':
        return { dataDir: '/data', backend: 'auto', theme: 'system', hasHubToken: false };
      case 'listCatalog':
        return CATALOG;
      case 'inspectModel':
        return summary((request as { source: string }).source);
      case 'pullModel':
        return { downloadId: 'dl-1' };
      case 'cancelPull':
        return null;
      case 'pickPath':
        return opts.picked ?? null;
      case 'previewData':
        return previewFor(request as DataPreviewRequest);
      case 'estimateMemory':
        return estimate((request as { config: TrainConfigDraft }).config, opts.gpuBytes);
      case 'checkRun':
        return runCheck((request as { config: TrainConfigDraft }).config);
      case 'sampleData':
        return { path: SAMPLE_PATH };
      case 'measureWarmup': {
        const { config } = request as { config: TrainConfigDraft };
        if (opts.warmupRefuses) throw apiError({ message: WARMUP_REFUSAL, field: 'config.data.max_length' });
        const totalSteps = config.max_steps && config.max_steps > 0 ? config.max_steps : 300;
        const result = { secondsPerStep: SECONDS_PER_STEP, tokensPerSecond: 812, totalSteps, etaSeconds: totalSteps * SECONDS_PER_STEP };
        return new Promise((resolve) => setTimeout(() => resolve(result), opts.warmupMs ?? 0));
      }
      case 'startRun': {
        const { name, config } = request as { name: string; config: TrainConfigDraft };
        const batch = config.per_device_train_batch_size ?? 8;
        if (opts.strictStart && batch > START_BATCH_LIMIT) {
          throw apiError({ message: `Batch size ${batch} is more than this computer can train (at most ${START_BATCH_LIMIT})`, field: 'config.per_device_train_batch_size' });
        }
        return { id: 'run-42', name, status: 'running', lastMetrics: {}, live: null };
      }
      case 'listRuns':
        return [];
      case 'getRun': {
        const run = PAST_RUNS.find((r) => r.id === (request as { runId: string }).runId);
        if (!run) throw apiError({ message: 'not in this stub' });
        return { run, curves: {}, samples: [], checkpoints: [], log: [], live: null, exports: [] } satisfies RunDetail;
      }
      default:
        throw new Error(`the wizard should not call ${method}`);
    }
  };
}

/**
 * A screenshot of the whole step. The window grows to the page's height first, so the
 * sticky Back/Next bar sits under the content rather than over it as in a stitched capture.
 */
async function shoot(ui: UiSession, name: string): Promise<void> {
  const viewport = ui.page.viewportSize() ?? { width: 1200, height: 800 };
  const height = await ui.page.evaluate(() => document.documentElement.scrollHeight);
  await ui.page.setViewportSize({ width: viewport.width, height: Math.max(viewport.height, height) });
  await ui.screenshot(name);
  await ui.page.setViewportSize(viewport);
}

/** Opens the wizard (or another page) on a stub host; the browser closes when the test ends, passed or not. */
async function open(t: TestContext, opts: Parameters<typeof host>[0] & { hash?: string } = {}): Promise<UiSession> {
  const ui = await openStubbedUi(host(opts), { hash: opts.hash ?? '/new' });
  t.after(() => ui.close());
  if (!opts.hash) await ui.page.getByRole('heading', { name: '1. Model' }).waitFor();
  return ui;
}

/**
 * What the window shows at its default size and at 800×600, light and dark
 * (`${name}-1100x760-light.png`...): the visible part only, as someone sees it.
 */
async function shootSizes(ui: UiSession, name: string): Promise<void> {
  const viewport = ui.page.viewportSize() ?? { width: 1200, height: 800 };
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  for (const scheme of ['light', 'dark'] as const) {
    await ui.page.emulateMedia({ colorScheme: scheme });
    for (const size of [{ width: 1100, height: 760 }, { width: 800, height: 600 }]) {
      await ui.page.setViewportSize(size);
      await ui.page.screenshot({ path: path.join(SCREENSHOTS, `${name}-${size.width}x${size.height}-${scheme}.png`) });
    }
  }
  await ui.page.emulateMedia({ colorScheme: 'light' });
  await ui.page.setViewportSize(viewport);
}

function lastRequest<T>(ui: UiSession, method: ApiMethod): T {
  const call = ui.calls.findLast((c) => c.method === method);
  assert.ok(call, `the page called ${method}`);
  return call.request as T;
}

/** Waits until the page has sent `method` a request that passes `check`, counting calls from `from` on. */
async function waitForCall<T>(ui: UiSession, method: ApiMethod, check: (request: T) => boolean, from = 0): Promise<T> {
  for (let i = 0; i < 100; i++) {
    const call = ui.calls.slice(from).findLast((c) => c.method === method && check(c.request as T));
    if (call) return call.request as T;
    await ui.page.waitForTimeout(50);
  }
  assert.fail(`no ${method} request matched; last was ${JSON.stringify(ui.calls.findLast((c) => c.method === method)?.request)}`);
}

/** The problem shown at a labelled input: the element its aria-describedby names last. */
async function problemAt(page: Page, label: string): Promise<string> {
  const input = page.getByLabel(label, { exact: true });
  const problemId = (await input.getAttribute('aria-describedby'))?.split(' ').find((id) => id.endsWith('-problem'));
  assert.ok(problemId, `${label} has a problem described`);
  assert.equal(await input.getAttribute('aria-invalid'), 'true');
  return ((await page.locator(`[id="${problemId}"]`).textContent()) ?? '').replace('⚠', '').trim();
}

/** Polls until `read` gives a value `check` accepts (the page updates after a debounce). */
async function eventually<T>(read: () => Promise<T>, check: (value: T) => boolean): Promise<T> {
  let value = await read();
  for (let i = 0; i < 60 && !check(value); i++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    value = await read();
  }
  return value;
}

const next = (page: Page) => page.getByRole('button', { name: /^Next/ });
const reason = (page: Page) => page.locator('#next-reason');

async function chooseGpt2AndData(page: Page, dataPath: string) {
  await page.getByRole('radio', { name: /^gpt2/ }).check();
  await page.getByText('Hidden size').waitFor();
  await next(page).click();
  await page.getByLabel('Training data file', { exact: true }).fill(dataPath);
  await page.getByText('Trained tokens').waitFor();
  await next(page).click();
}

test('each step explains why Next is disabled, in plain words at the field', async (t) => {
  const ui = await open(t);
  const { page } = ui;

  assert.equal(await next(page).isDisabled(), true);
  assert.equal(await reason(page).textContent().then((t) => t?.trim()), 'Choose a model');
  await page.getByRole('radio', { name: /^gpt2/ }).check();
  await page.getByText('Hidden size').waitFor();
  await shoot(ui, 'wizard-model');
  await next(page).click();

  await page.getByRole('heading', { name: '2. Data' }).waitFor();
  assert.equal(await next(page).isDisabled(), true);
  assert.match((await reason(page).textContent()) ?? '', /Choose a training data file/);

  await page.getByLabel('Training data file', { exact: true }).fill('/data/broken.json');
  const problem = page.getByRole('alert').filter({ hasText: 'This file has a problem' });
  await problem.waitFor();
  assert.match((await problem.textContent()) ?? '', /line 3: field "output" must be a string/);
  assert.equal(await next(page).isDisabled(), true);
  assert.match((await reason(page).textContent()) ?? '', /problem in the data file/);
  await shoot(ui, 'wizard-data-problem');

  await page.getByLabel('Training data file', { exact: true }).fill('/data/alpaca-train.json');
  await page.getByText('Trained tokens').waitFor();
  assert.equal(await next(page).isEnabled(), true);
  await next(page).click();

  await page.getByRole('heading', { name: '3. Method' }).waitFor();
  await page.getByLabel('Rank (r)', { exact: true }).fill('0');
  const rankProblem = 'Rank (r) must be a whole number above 0';
  assert.equal(await problemAt(page, 'Rank (r)'), rankProblem);
  assert.equal(await next(page).isDisabled(), true);
  assert.equal((await reason(page).textContent())?.trim(), rankProblem);
  await page.getByLabel('Rank (r)', { exact: true }).fill('16');
  await next(page).click();

  await page.getByRole('heading', { name: '4. Settings' }).waitFor();
  await page.getByLabel('Learning rate', { exact: true }).fill('0');
  assert.equal(await problemAt(page, 'Learning rate'), 'Learning rate must be a number above 0');
  assert.equal(await next(page).isDisabled(), true);
  await page.getByLabel('Learning rate', { exact: true }).fill('');
  assert.match((await reason(page).textContent()) ?? '', /Learning rate needs a value/);
  // Early stopping needs validation data: a rule across two settings, shown at the first.
  await page.getByLabel('Learning rate', { exact: true }).fill('0.0001');
  await page.getByText('Advanced settings').click();
  await page.getByLabel('None', { exact: true }).check();
  await page.getByLabel('Early stopping patience', { exact: true }).fill('2');
  assert.match(await problemAt(page, 'Early stopping patience'), /^Early stopping patience needs validation data/);
  assert.equal(await next(page).isDisabled(), true);
  await page.getByLabel('Hold back part of the training data', { exact: true }).check();
  assert.equal(await next(page).isEnabled(), true);
});

test('the estimate bar follows the settings and applies a suggestion', async (t) => {
  const ui = await open(t);
  const { page } = ui;
  await chooseGpt2AndData(page, '/data/alpaca-train.json');

  const bar = page.getByRole('region', { name: 'Memory estimate' });
  const sent = await waitForCall<{ config: TrainConfigDraft }>(ui, 'estimateMemory', () => true);
  const expected = estimate(sent.config);
  await bar.getByText('Fits comfortably').waitFor();
  assert.equal(expected.band, 'fits');
  await shoot(ui, 'wizard-method');

  // An error naming a setting appears at that setting.
  await page.getByLabel('Rank (r)', { exact: true }).fill('1024');
  const hostProblem = `Rank 1024 is larger than the model's hidden size (${HIDDEN})`;
  assert.equal(await eventually(() => problemAt(page, 'Rank (r)').catch(() => ''), (t) => t === hostProblem), hostProblem);
  assert.equal(await next(page).isDisabled(), true);
  await page.getByLabel('Rank (r)', { exact: true }).fill('8');
  await bar.getByText('Fits comfortably').waitFor();
  await next(page).click();

  await page.getByRole('heading', { name: '4. Settings' }).waitFor();
  for (const batch of [16, 32]) {
    await page.getByLabel('Batch size', { exact: true }).fill(String(batch));
    const req = await waitForCall<{ config: TrainConfigDraft }>(ui, 'estimateMemory', (r) => r.config.per_device_train_batch_size === batch);
    const band = estimate(req.config).band;
    const words = { fits: 'Fits comfortably', tight: 'Tight fit', exceeds: 'Too big for this computer' }[band];
    await bar.getByText(words).waitFor();
    assert.match((await bar.getByRole('meter').getAttribute('aria-valuetext')) ?? '', /of 16\.0 GiB/);
  }
  assert.equal(estimate(lastRequest<{ config: TrainConfigDraft }>(ui, 'estimateMemory').config).band, 'exceeds');
  await bar.getByText('Where the memory goes').click();
  await shoot(ui, 'wizard-estimate-exceeds');

  const before = lastRequest<{ config: TrainConfigDraft }>(ui, 'estimateMemory').config;
  const suggestion = estimate(before).suggestions[0];
  const from = ui.calls.length;
  await bar.getByRole('button', { name: `Apply: ${suggestion.change}` }).click();
  const applied = await waitForCall<{ config: TrainConfigDraft }>(ui, 'estimateMemory', () => true, from);
  assert.deepEqual(
    { batch: applied.config.per_device_train_batch_size, accumulation: applied.config.gradient_accumulation_steps },
    { batch: suggestion.patch.per_device_train_batch_size, accumulation: suggestion.patch.gradient_accumulation_steps },
  );
  assert.equal(await page.getByLabel('Batch size', { exact: true }).inputValue(), String(suggestion.patch.per_device_train_batch_size));
});

test("training on the GPU, the bar compares with the GPU's memory in the CLI's words, not RAM", async (t) => {
  const ui = await open(t, { gpuBytes: 4 * GiB });
  const { page } = ui;
  await chooseGpt2AndData(page, '/data/alpaca-train.json');
  const bar = page.getByRole('region', { name: 'Memory estimate' });
  const sent = await waitForCall<{ config: TrainConfigDraft }>(ui, 'estimateMemory', () => true);
  const expected = estimate(sent.config, 4 * GiB);
  assert.match(expected.gpu!, /on the GPU: \d+% of its 4\.0 GiB memory/);
  await bar.getByText(expected.gpu!).waitFor();
  assert.equal(await bar.getByRole('meter').count(), 0, 'no RAM meter');
  assert.equal(await bar.getByText(/ RAM \(/).count(), 0);
});

test('a catalog model downloads with progress, then can be used', async (t) => {
  const ui = await open(t);
  const { page } = ui;
  const bloom = CATALOG[1];
  await page.getByRole('button', { name: new RegExp(`^Download ${bloom.id}`) }).click();
  assert.deepEqual(await waitForCall(ui, 'pullModel', () => true), { modelId: bloom.id });
  assert.match((await reason(page).textContent()) ?? '', /finish downloading/);

  const bytes = 300 * MiB;
  const speed = 12 * MiB;
  const eta = (bloom.diskBytes - bytes) / speed;
  await ui.emit({
    type: 'download',
    progress: { downloadId: 'dl-1', modelId: bloom.id, state: 'running', file: 'model.safetensors', bytes, totalBytes: bloom.diskBytes, bytesPerSecond: speed, etaSeconds: eta },
  });
  const numbers = `300 MiB of 1.1 GiB · 12.0 MiB/s · ${Math.floor(eta / 60)}:${String(Math.round(eta % 60)).padStart(2, '0')} left`;
  await page.getByText(numbers).waitFor();
  await shoot(ui, 'wizard-model-downloading');

  await ui.emit({
    type: 'download',
    progress: { downloadId: 'dl-1', modelId: bloom.id, state: 'done', file: null, bytes: bloom.diskBytes, totalBytes: bloom.diskBytes, bytesPerSecond: 0, etaSeconds: 0, dir: '/cache/bloom' },
  });
  await waitForCall(ui, 'inspectModel', (r: { source: string }) => r.source === bloom.id);
  await page.getByText('Hidden size').waitFor();
  assert.equal(await next(page).isEnabled(), true);
});

test('Browse… opens the native dialog only in the desktop app', async (t) => {
  const web = await open(t, { host: 'web' });
  await web.page.getByRole('radio', { name: 'A model folder on this computer' }).check();
  await web.page.getByLabel('Model folder', { exact: true }).waitFor();
  assert.equal(await web.page.getByRole('button', { name: 'Browse…' }).count(), 0);

  const desktop = await open(t, { host: 'electron', picked: '/models/my-gpt2' });
  await desktop.page.getByRole('radio', { name: 'A model folder on this computer' }).check();
  await desktop.page.getByRole('button', { name: 'Browse…' }).click();
  assert.deepEqual(await waitForCall(desktop, 'pickPath', () => true), { kind: 'folder', title: 'Model folder' });
  assert.equal(await desktop.page.getByLabel('Model folder', { exact: true }).inputValue(), '/models/my-gpt2');
  await waitForCall(desktop, 'inspectModel', (r: { source: string }) => r.source === '/models/my-gpt2');
});

test('the happy path starts a run with exactly the settings entered', async (t) => {
  const ui = await open(t);
  const { page } = ui;
  await page.getByRole('radio', { name: /^gpt2/ }).check();
  await page.getByText('Hidden size').waitFor();
  await next(page).click();

  await page.getByLabel('Training data file', { exact: true }).fill('/data/alpaca-train.json');
  await page.getByLabel('Prompt template', { exact: true }).selectOption('alpaca');
  await page.getByLabel('Max length (tokens)', { exact: true }).fill('256');
  await page.getByLabel('Also train on the prompt', { exact: true }).check();
  await waitForCall<DataPreviewRequest>(ui, 'previewData', (r) => r.template === 'alpaca' && r.maxLength === 256 && r.trainOnPrompt);
  await page.getByText('Trained tokens').waitFor();
  await shoot(ui, 'wizard-data');
  await next(page).click();

  await page.getByLabel('Rank (r)', { exact: true }).fill('16');
  await page.getByLabel('Alpha', { exact: true }).fill('32');
  await page.getByLabel('Target modules', { exact: true }).fill('c_attn, c_proj');
  await next(page).click();

  await page.getByRole('radio', { name: /^Thorough/ }).check();
  await page.getByLabel('Learning rate', { exact: true }).fill('0.0003');
  await page.getByText('Advanced settings').click();
  await page.getByLabel('Random seed', { exact: true }).fill('7');
  await page.getByLabel('Sample prompts', { exact: true }).fill('Write a haiku about rain\nWhat is LoRA?');
  await page.getByLabel('Checkpoints to keep', { exact: true }).fill('');
  await page.getByRole('region', { name: 'Memory estimate' }).getByText('Fits comfortably').waitFor();
  await shoot(ui, 'wizard-settings');
  await next(page).click();

  await page.getByRole('heading', { name: '5. Review' }).waitFor();
  const warmup = await waitForCall<{ config: TrainConfigDraft }>(ui, 'measureWarmup', () => true);
  await page.getByText('Measured on this computer').waitFor();
  assert.match((await page.getByRole('region', { name: 'Training time' }).textContent()) ?? '', /about \d+ minutes/);
  await page.getByLabel('Run name', { exact: true }).fill('haiku-bot');
  await page.getByRole('region', { name: 'Memory estimate' }).getByText('Fits comfortably').waitFor();
  await shoot(ui, 'wizard-review');
  await page.getByRole('button', { name: 'Start training' }).click();

  const started = await waitForCall<{ name: string; config: TrainConfigDraft }>(ui, 'startRun', () => true);
  assert.equal(started.name, 'haiku-bot');
  assert.deepEqual(started.config, warmup.config, 'the run trains what the warm-up measured');
  const c = started.config;
  assert.equal(c.model, 'gpt2');
  assert.equal(c.method, 'lora');
  assert.deepEqual(c.lora, { r: 16, alpha: 32, dropout: 0, target_modules: ['c_attn', 'c_proj'], init_adapter: null });
  assert.deepEqual(c.data, {
    train: '/data/alpaca-train.json',
    validation: null,
    validation_split: 0.1,
    format: null,
    prompt_column: null,
    response_column: null,
    template: 'alpaca',
    max_length: 256,
    packing: false,
    train_on_prompt: true,
  });
  assert.equal(c.learning_rate, 0.0003);
  assert.equal(c.seed, 7);
  assert.deepEqual(c.sample_prompts, ['Write a haiku about rain', 'What is LoRA?']);
  assert.equal(c.save_total_limit, null);
  assert.equal(c.lr_scheduler_type, 'cosine', 'the Thorough preset');
  assert.equal(c.early_stopping_patience, 3, 'the Thorough preset');
  // Its intervals fitted to the three examples the data step read, so the short run still draws curves.
  const fitted = presetPatch('thorough', { method: 'lora', validationSource: 'none' }, 3);
  const own = presetPatch('thorough', { method: 'lora', validationSource: 'none' });
  assert.deepEqual([c.logging_steps, c.eval_steps, c.save_steps], [fitted.logging_steps, fitted.eval_steps, fitted.save_steps]);
  assert.ok((c.eval_steps as number) < (own.eval_steps as number), 'denser than the preset alone');
  await page.waitForFunction(() => location.hash === '#/runs/run-42');
});

test('the wizard reads well in the dark theme', async (t) => {
  const ui = await open(t);
  await ui.page.emulateMedia({ colorScheme: 'dark' });
  await chooseGpt2AndData(ui.page, '/data/alpaca-train.json');
  await ui.page.getByRole('region', { name: 'Memory estimate' }).getByText('Fits comfortably').waitFor();
  await ui.page.getByRole('button', { name: /^Back/ }).click();
  await ui.page.getByText('Trained tokens').waitFor();
  await shoot(ui, 'wizard-data-dark');
});

test('the bf16 switch is offered only where this CPU trains bf16 faster than fp32, and asks for "bf16": true', async (t) => {
  for (const bf16Kernel of [null, 'avx512-bf16']) {
    const ui = await open(t, { bf16Kernel });
    const { page } = ui;
    await page.getByRole('radio', { name: /^gpt2/ }).check();
    await page.getByText('Hidden size').waitFor();
    await next(page).click();
    await page.getByLabel('Training data file', { exact: true }).fill('/data/alpaca-train.json');
    await page.getByText('Trained tokens').waitFor();
    await next(page).click();
    await next(page).click();
    await page.getByText('Advanced settings').click();
    await page.getByLabel(FIELDS.save_dtype.label, { exact: true }).waitFor();
    const toggle = page.getByLabel(FIELDS.bf16.label, { exact: true });
    if (bf16Kernel === null) {
      assert.equal(await toggle.count(), 0, 'no switch on a CPU without fast bf16');
      continue;
    }
    assert.match((await page.getByText(/Matrix products in bf16/).textContent()) ?? '', new RegExp(bf16Kernel));
    await toggle.check();
    await next(page).click();
    const warmup = await waitForCall<{ config: TrainConfigDraft }>(ui, 'measureWarmup', (r) => r.config.bf16 === true);
    assert.equal(warmup.config.bf16, true);
  }
});

test('every setting has a labelled input, reached by keyboard in a sensible order', async (t) => {
  const ui = await open(t);
  const { page } = ui;
  const focused = () => page.evaluate(() => document.activeElement?.id || document.activeElement?.getAttribute('name') || '');
  const labelsOf = (step: string) => (Object.entries(FIELDS) as [ConfigField, FieldInfo][]).filter(([, f]) => f.step === step).map(([, f]) => f.label);
  async function assertLabelled(labels: string[]) {
    for (const label of labels) assert.ok((await page.getByLabel(label, { exact: true }).count()) > 0, `an input labelled "${label}"`);
  }

  await page.getByRole('radio', { name: /^gpt2/ }).focus();
  await page.keyboard.press('Space');
  assert.equal(await page.getByRole('radio', { name: /^gpt2/ }).isChecked(), true);
  assert.equal(await page.getByRole('radiogroup', { name: FIELDS.model.label }).count(), 1);
  await page.getByText('Hidden size').waitFor();
  await next(page).focus();
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: '2. Data' }).waitFor();
  assert.equal(await focused(), 'step-heading', 'a new step starts at its heading');
  await page.keyboard.press('Tab');
  assert.equal(await focused(), await page.getByLabel('Training data file', { exact: true }).getAttribute('id'), 'then its first input');
  await page.keyboard.type('/data/alpaca-train.json');
  // The prompt and response pickers appear only for files whose fields need asking about (their own test).
  await assertLabelled(labelsOf('data').filter((l) => l !== FIELDS['data.prompt_column'].label && l !== FIELDS['data.response_column'].label));
  await page.getByText('Trained tokens').waitFor();
  await next(page).click();

  assert.equal(await page.getByRole('radiogroup', { name: FIELDS.method.label }).count(), 1);
  await assertLabelled(labelsOf('method').filter((l) => l !== FIELDS.method.label));
  await next(page).click();

  await page.getByText('Advanced settings').click();
  const conditional = new Set([FIELDS.max_steps.label, FIELDS['data.validation'].label]);
  await assertLabelled(labelsOf('settings').filter((l) => !conditional.has(l)));
  await page.getByLabel('A number of steps', { exact: true }).check();
  await page.getByLabel('A separate file', { exact: true }).check();
  await assertLabelled([...conditional]);
});

test('a start the host refuses points at the setting, and a fix lets it start', async (t) => {
  const ui = await open(t, { strictStart: true });
  const { page } = ui;
  await chooseGpt2AndData(page, '/data/alpaca-train.json');
  await next(page).click();
  const batch = Number(await page.getByLabel('Batch size', { exact: true }).inputValue());
  assert.ok(batch > START_BATCH_LIMIT, 'the default batch is one the host refuses');
  await next(page).click();
  await page.getByRole('button', { name: 'Start training' }).click();

  await page.getByRole('alert').filter({ hasText: 'The run could not start' }).waitFor();
  const refusal = `Batch size ${batch} is more than this computer can train (at most ${START_BATCH_LIMIT})`;
  assert.equal((await reason(page).textContent())?.trim(), `Settings: ${refusal}`);
  assert.equal(await page.getByRole('button', { name: 'Start training' }).isDisabled(), true);
  await shoot(ui, 'wizard-review-refused');

  await page.getByRole('button', { name: 'Edit settings' }).click();
  assert.equal(await problemAt(page, 'Batch size'), refusal);
  await page.getByLabel('Batch size', { exact: true }).fill(String(START_BATCH_LIMIT));
  await next(page).click();
  await page.getByRole('button', { name: 'Start training' }).click();
  const started = await waitForCall<{ config: TrainConfigDraft }>(ui, 'startRun', (r) => r.config.per_device_train_batch_size === START_BATCH_LIMIT);
  assert.equal(started.config.per_device_train_batch_size, START_BATCH_LIMIT);
  await page.waitForFunction(() => location.hash === '#/runs/run-42');
});

test('leaving the review drops a warm-up still measuring, and coming back measures again', async (t) => {
  const ui = await open(t, { warmupMs: 1500 });
  const { page } = ui;
  await chooseGpt2AndData(page, '/data/alpaca-train.json');
  await next(page).click();
  await next(page).click();
  const measuring = page.getByText('Measuring the speed with a short warm-up');
  await measuring.waitFor();
  await shoot(ui, 'wizard-review-measuring');
  await page.getByRole('button', { name: /^Back/ }).click();
  await page.waitForTimeout(2000);
  await next(page).click();
  // The first answer came while the step was gone, so it was dropped and the review asks again.
  await measuring.waitFor();
  await page.getByText('Measured on this computer').waitFor();
  assert.equal(ui.calls.filter((c) => c.method === 'measureWarmup').length, 2);
});

test('column mapping: fields the wizard cannot place are asked for, and the choice is sent; plain names are said in one line', async (t) => {
  const ui = await open(t);
  const { page } = ui;
  await page.getByRole('radio', { name: /^gpt2/ }).check();
  await page.getByText('Hidden size').waitFor();
  await next(page).click();

  await page.getByLabel('Training data file', { exact: true }).fill('/data/qa.json');
  await page.getByText('Read as').waitFor();
  assert.match((await page.getByRole('group', { name: 'Prompt and response fields' }).textContent()) ?? '', /prompt ← question, response ← answer/);

  await page.getByLabel('Training data file', { exact: true }).fill('/data/fields.json');
  await page.getByRole('alert').filter({ hasText: 'no prompt field' }).waitFor();
  assert.equal(await next(page).isDisabled(), true);
  await shootSizes(ui, 'wizard-data-columns');
  await page.getByLabel('Prompt field', { exact: true }).selectOption('ask');
  await page.getByLabel('Response field', { exact: true }).selectOption('say');
  const sent = await waitForCall<DataPreviewRequest>(ui, 'previewData', (r) => r.promptColumn === 'ask' && r.responseColumn === 'say');
  assert.equal(sent.path, '/data/fields.json');
  await page.getByText('Trained tokens').waitFor();
  assert.equal(await next(page).isEnabled(), true);

  // Plain text: said to be one example per line, with blocks offered.
  await page.getByLabel('Training data file', { exact: true }).fill('/data/notes.txt');
  const note = page.getByRole('note').filter({ hasText: 'Each line of this file becomes one example' });
  await note.waitFor();
  await note.getByRole('button', { name: 'Use blocks instead' }).click();
  await waitForCall<DataPreviewRequest>(ui, 'previewData', (r) => r.path === '/data/notes.txt' && r.packing);
  assert.equal(await page.getByLabel('Pack short examples together', { exact: true }).isChecked(), true);
  await note.waitFor({ state: 'detached' });
  await next(page).click();
  await next(page).click();
  await next(page).click();
  await page.getByRole('button', { name: 'Start training' }).click();
  const started = await waitForCall<{ config: TrainConfigDraft }>(ui, 'startRun', () => true);
  assert.equal(started.config.data.packing, true);
});

test('"Try it with sample data" fills the data and the quick preset and goes straight to the review', async (t) => {
  const ui = await open(t);
  const { page } = ui;
  await page.getByRole('radio', { name: /^gpt2/ }).check();
  await page.getByText('Hidden size').waitFor();
  await page.getByRole('button', { name: 'Try it with sample data' }).click();
  await page.getByRole('heading', { name: '5. Review' }).waitFor();
  await page.getByText('The settings fit the model and the data').waitFor();
  await shootSizes(ui, 'wizard-review-sample');
  await page.getByRole('button', { name: 'Start training' }).click();
  const started = await waitForCall<{ name: string; config: TrainConfigDraft }>(ui, 'startRun', () => true);
  assert.equal(started.config.data.train, SAMPLE_PATH);
  assert.equal(started.config.max_steps, 30, 'the quick preset');
  assert.match(started.name, /sample-instructions/);
});

test('the pre-flight check: a target the model lacks stops the Method step, a wild learning rate warns with a fix, a warm-up config error blocks Start', async (t) => {
  const ui = await open(t, { warmupRefuses: true });
  const { page } = ui;
  await chooseGpt2AndData(page, '/data/alpaca-train.json');

  await page.getByLabel('Target modules', { exact: true }).fill('foo_proj');
  const targetProblem = 'This gpt2 model has no module "foo_proj"; it has c_attn, c_proj, c_fc';
  assert.equal(await eventually(() => problemAt(page, 'Target modules').catch(() => ''), (p) => p === targetProblem), targetProblem);
  assert.equal(await next(page).isDisabled(), true);
  assert.equal((await reason(page).textContent())?.trim(), targetProblem);
  await page.getByLabel('Target modules', { exact: true }).fill('c_attn');
  await next(page).click();

  await page.getByLabel('Learning rate', { exact: true }).fill('5');
  await next(page).click();
  await page.getByRole('heading', { name: '5. Review' }).waitFor();
  const panel = page.getByRole('region', { name: 'Before you start' });
  await panel.getByText(/Learning rate 5 is far higher than LoRA uses \(usually 0.0001 to 0.0005\)/).waitFor();
  // The warm-up found a setting the run would fail on: Start stays off until it changes.
  await page.getByText('The warm-up stopped on a setting the run would fail on too').waitFor();
  assert.equal(await page.getByRole('button', { name: 'Start training' }).isDisabled(), true);
  assert.match((await reason(page).textContent()) ?? '', new RegExp(`Data: ${WARMUP_REFUSAL}`));
  await shootSizes(ui, 'wizard-review-preflight');

  await panel.getByRole('button', { name: 'Use learning rate 0.0001' }).click();
  await panel.getByText(/Learning rate 5/).waitFor({ state: 'detached' });
  await page.getByRole('button', { name: 'Edit data' }).click();
  assert.equal(await problemAt(page, 'Max length (tokens)'), WARMUP_REFUSAL);
  await page.getByLabel('Max length (tokens)', { exact: true }).fill('128');
  assert.deepEqual(await eventually(() => page.getByLabel('Max length (tokens)', { exact: true }).getAttribute('aria-invalid'), (v) => v !== 'true'), 'false');
});

test('Run again with changes: a finished run fills the wizard with exactly its settings; a failed one opens at the setting its error names', async (t) => {
  const done = await open(t, { hash: '/runs/done-run' });
  await done.page.getByRole('button', { name: 'Run again with changes' }).click();
  await done.page.getByRole('heading', { name: '5. Review' }).waitFor();
  await done.page.getByText(/Filled in from run done-run/).waitFor();
  await done.page.getByText('The settings fit the model and the data').waitFor();
  await done.page.getByRole('button', { name: 'Start training' }).click();
  const again = await waitForCall<{ name: string; config: TrainConfigDraft }>(done, 'startRun', () => true);
  assert.equal(again.name, 'run done-run (again)');
  const stored = PAST_RUNS[0].config as Record<string, unknown>;
  const resolved = resolveTrainConfig({ ...again.config, output_dir: stored.output_dir });
  assert.deepEqual({ ...resolved, model: stored.model }, stored, 'the same run, setting for setting');
  assert.equal(again.config.model, 'gpt2', 'the model as it was chosen, not its cache folder');

  const failed = await open(t, { hash: '/runs/failed-run' });
  const { page } = failed;
  await page.getByRole('alert').filter({ hasText: 'The run failed' }).waitFor();
  await shootSizes(failed, 'run-failed');
  await page.getByRole('button', { name: 'Fix and run again' }).click();
  await page.getByRole('heading', { name: '3. Method' }).waitFor();
  assert.match((await page.getByRole('status').filter({ hasText: 'That run failed' }).textContent()) ?? '', /Target modules.*is marked below/s);
  assert.match(await problemAt(page, 'Target modules'), /foo_proj/);
  assert.equal(await page.getByLabel('Target modules', { exact: true }).inputValue(), 'foo_proj');
  await shootSizes(failed, 'wizard-retry');
  await page.getByLabel('Target modules', { exact: true }).fill('c_attn');
  await eventually(() => page.getByLabel('Target modules', { exact: true }).getAttribute('aria-invalid'), (v) => v !== 'true');
  await next(page).click();
  await next(page).click();
  await page.getByRole('heading', { name: '5. Review' }).waitFor();
  await page.getByRole('button', { name: 'Start training' }).click();
  const fixed = await waitForCall<{ config: TrainConfigDraft }>(failed, 'startRun', () => true);
  assert.deepEqual(fixed.config.lora?.target_modules, ['c_attn']);
  assert.equal(fixed.config.data.train, '/data/qa.json');
});
