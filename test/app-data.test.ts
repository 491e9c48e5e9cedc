// The wizard's read-only questions: what a model folder is, and how a data file will be
// templated and tokenized, with problems reported rather than thrown.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import type { DataPreviewRequest } from '../core/api/contract';
import { errorInfo } from '../core/api/errors';
import { createDataMethods } from '../core/app/data-methods';
import { QUICK_DATA_BYTES } from '../core/app/memory-estimate';
import { wholeArrayItems } from '../core/data/data-prefix';
import { loadDataset } from '../core/data/dataset';
import { IGNORE_INDEX } from '../core/data/records';
import { loadModel } from '../core/models/load';
import { loadTokenizer } from '../core/tokenizer/tokenizer';
import { copyFixture, fixture, tempDir } from './helpers';

const ALPACA = path.resolve(import.meta.dirname, '../examples/data/alpaca-train.json');
const GPT2 = fixture('gpt2-tiny');
const tokenizer = loadTokenizer(GPT2);
const EOS_TEXT = tokenizer.decode([tokenizer.special.eos!]);

const HOME = fs.mkdtempSync(path.join(os.tmpdir(), 'tunesmith-home-'));
after(() => fs.rmSync(HOME, { recursive: true, force: true }));

const methods = createDataMethods({
  home: HOME,
  modelDir(source) {
    if (!path.isAbsolute(source)) throw new Error(`model "${source}" is not downloaded`);
    return source;
  },
});

function request(over: Partial<DataPreviewRequest> = {}): DataPreviewRequest {
  return { path: ALPACA, model: GPT2, format: null, template: 'human_assistant', maxLength: 128, trainOnPrompt: false, packing: false, ...over };
}

const rows = JSON.parse(fs.readFileSync(ALPACA, 'utf8')) as { instruction: string; input: string; output: string }[];

test('previewData: each example is the Human/Assistant prompt, untrained, then the answer and EOS, trained, as the label mask says', async () => {
  const preview = await methods.previewData(request({ limit: 8 }));
  const dataset = loadDataset({ path: ALPACA, template: 'human_assistant', max_length: 128 }, tokenizer);
  assert.equal(preview.problem, null);
  assert.equal(preview.format, 'alpaca');
  assert.deepEqual(preview.stats, dataset.stats);
  assert.equal(preview.longestTokens, Math.max(...dataset.examples.map((e) => e.input_ids.length)));
  assert.equal(preview.examples.length, 8);
  preview.examples.forEach((example, i) => {
    const { instruction, input, output } = rows[i];
    // The reference recipe's prompt: "Human: {instruction}\n{input}".strip() + "\n\nAssistant: ".
    const prompt = `${`Human: ${instruction}\n${input}`.trim()}\n\nAssistant: `;
    assert.deepEqual(example.parts, [
      { text: prompt, trained: false },
      { text: output + EOS_TEXT, trained: true },
    ]);
    const labels = dataset.examples[i].labels;
    assert.equal(example.tokens, labels.length);
    assert.equal(example.trainedTokens, labels.filter((l) => l !== IGNORE_INDEX).length);
    assert.equal(example.truncated, false);
  });
});

test('previewData: prompt and answer are cut between characters, also in Chinese text', async () => {
  const file = path.resolve(import.meta.dirname, '../examples/data/zh-alpaca.json');
  const preview = await methods.previewData(request({ path: file, template: 'alpaca', maxLength: 1024, limit: 20 }));
  const dataset = loadDataset({ path: file, template: 'alpaca', max_length: 1024 }, tokenizer);
  assert.equal(preview.examples.length, dataset.examples.length);
  assert.equal(preview.stats!.truncated, 0);
  preview.examples.forEach((example, i) => {
    assert.ok(example.parts.every((p) => !p.text.includes('\uFFFD')), `example ${i}`);
    assert.equal(example.parts.map((p) => p.text).join(''), tokenizer.decode(dataset.examples[i].input_ids));
  });
});

test('previewData: training on the prompt makes the whole example one trained part', async () => {
  const preview = await methods.previewData(request({ trainOnPrompt: true, limit: 3 }));
  for (const [i, example] of preview.examples.entries()) {
    assert.equal(example.parts.length, 1);
    assert.equal(example.parts[0].trained, true);
    assert.equal(example.trainedTokens, example.tokens);
    assert.ok(example.parts[0].text.endsWith(rows[i].output + EOS_TEXT));
  }
});

test('previewData: examples cut at maxLength are marked and counted', async () => {
  const full = loadDataset({ path: ALPACA, template: 'human_assistant', max_length: 1024 }, tokenizer).examples;
  // Room for the longest prompt and one answer token: no row is skipped, so indices line up.
  const maxLength = Math.max(...full.map((e) => e.labels.filter((l) => l === IGNORE_INDEX).length)) + 1;
  const preview = await methods.previewData(request({ maxLength, limit: rows.length }));
  assert.equal(preview.problem, null);
  assert.equal(preview.stats!.skipped, 0);
  assert.equal(preview.examples.length, rows.length);
  assert.equal(preview.longestTokens, maxLength);
  assert.ok(preview.examples.some((e) => e.truncated) && preview.examples.some((e) => !e.truncated));
  preview.examples.forEach((example, i) => {
    assert.equal(example.truncated, full[i].input_ids.length > maxLength, `example ${i}`);
    assert.equal(example.tokens, Math.min(maxLength, full[i].input_ids.length));
  });
  assert.equal(preview.stats!.truncated, full.filter((e) => e.input_ids.length > maxLength).length);
});

test('previewData: a malformed JSONL line is the problem, naming the line', async (t) => {
  const file = path.join(tempDir(t), 'broken.jsonl');
  const good = JSON.stringify(rows[0]);
  fs.writeFileSync(file, `${good}\n${good}\n{"instruction": "unfinished"\n${good}\n`);
  const preview = await methods.previewData(request({ path: file }));
  assert.match(preview.problem!.message, new RegExp(`^${file}:3: not valid JSON`));
  assert.deepEqual([preview.format, preview.stats, preview.examples], [null, null, []]);
});

test('previewData: a CSV row with too many columns is the problem, naming the row', async (t) => {
  const file = path.join(tempDir(t), 'broken.csv');
  fs.writeFileSync(file, 'instruction,output\nSay hi,hi\nSay bye,bye,extra\n');
  const preview = await methods.previewData(request({ path: file }));
  assert.equal(preview.problem!.message, `${file}: row 3 has 3 columns, the header has 2`);
});

test('previewData: the fields read as prompt and response, the picker choices, and the names when none is found', async (t) => {
  const dir = tempDir(t);
  const qa = path.join(dir, 'qa.json');
  fs.writeFileSync(qa, JSON.stringify([{ question: 'Name a colour.', answer: 'Blue.' }]));
  const read = await methods.previewData(request({ path: qa }));
  assert.equal(read.problem, null);
  assert.deepEqual(read.columns, { available: ['question', 'answer'], prompt: 'question', input: null, response: 'answer', sure: true });
  assert.deepEqual(read.examples[0].parts[0], { text: 'Human: Name a colour.\n\nAssistant: ', trained: false });
  const odd = path.join(dir, 'odd.csv');
  fs.writeFileSync(odd, 'ask,say\nWhy?,Because.\n');
  const unknown = await methods.previewData(request({ path: odd }));
  assert.match(unknown.problem?.message ?? '', /no prompt field \(looked for instruction, prompt, question, query; fields: ask, say\); set data\.prompt_column/);
  assert.deepEqual(unknown.columns, { available: ['ask', 'say'], prompt: '', input: null, response: '', sure: false });
  const chosen = await methods.previewData(request({ path: odd, promptColumn: 'ask', responseColumn: 'say' }));
  assert.equal(chosen.problem, null);
  assert.deepEqual(chosen.examples[0].parts[1], { text: 'Because.' + EOS_TEXT, trained: true });
});

test('sampleData: the built-in instruction pairs read as instruction/input/output, a few hundred of them, none repeated', async () => {
  const { path: file } = await methods.sampleData();
  const preview = await methods.previewData(request({ path: file }));
  assert.equal(preview.problem, null);
  assert.deepEqual(preview.columns, { available: ['instruction', 'input', 'output'], prompt: 'instruction', input: 'input', response: 'output', sure: true });
  const lines = fs.readFileSync(file, 'utf8').trim().split('\n');
  assert.ok(lines.length >= 200 && lines.length <= 1000, `${lines.length} examples`);
  assert.equal(preview.stats?.examples, lines.length);
  assert.equal(new Set(lines).size, lines.length);
  // Short enough for the smallest model's 128 positions: nothing is cut.
  assert.equal(preview.stats?.truncated, 0);
});

test('previewData: a missing model is an error, not a data problem', async () => {
  await assert.rejects(methods.previewData(request({ model: 'gpt2' })), /model "gpt2" is not downloaded/);
});

test('previewData stays fast on a large file (2 MB, 9000 rows) and renders at most 20 examples', async (t) => {
  const file = path.join(tempDir(t), 'big.json');
  fs.writeFileSync(file, JSON.stringify(Array.from({ length: 500 }, () => rows).flat()));
  const started = performance.now();
  const preview = await methods.previewData(request({ path: file, limit: 100 }));
  const seconds = (performance.now() - started) / 1000;
  t.diagnostic(`${fs.statSync(file).size} bytes, ${preview.stats!.tokens} tokens in ${seconds.toFixed(2)} s`);
  assert.equal(preview.stats!.examples, 500 * rows.length);
  assert.equal(preview.examples.length, 20);
  assert.ok(seconds < 10, `took ${seconds} s`);
});

test('previewData: a negative limit (from a host that skips the schema) renders no examples, not all but the last', async () => {
  const preview = await methods.previewData(request({ limit: -1 }));
  assert.equal(preview.stats!.examples, rows.length);
  assert.deepEqual(preview.examples, []);
});

/** The ApiErrorInfo that previewData refuses `over` with. */
async function refusal(over: Partial<DataPreviewRequest>) {
  const err = await methods.previewData(request(over)).then(
    () => assert.fail('expected a refusal'),
    (e: unknown) => e,
  );
  return errorInfo(err);
}

test('previewData: the path must be an absolute, existing file', async (t) => {
  assert.deepEqual(await refusal({ path: 'examples/data/alpaca-train.json' }), { message: '"examples/data/alpaca-train.json" is not an absolute path', field: 'path' });
  const dir = tempDir(t);
  const missing = path.join(dir, 'none.json');
  assert.deepEqual(await refusal({ path: missing }), { message: `${missing}: no such file`, field: 'path' });
  assert.deepEqual(await refusal({ path: dir }), { message: `${dir}: is a folder, not a file`, field: 'path' });
});

test('previewData: files in the data folder (the saved Hub token) are refused, also through a link', async (t) => {
  const settings = path.join(HOME, 'settings.json');
  fs.writeFileSync(settings, JSON.stringify({ hubToken: 'hf_secret' }));
  const refused = await refusal({ path: settings, format: 'text' });
  assert.equal(refused.field, 'path');
  assert.match(refused.message, /^\/.*settings\.json: is in Tunesmith's data folder/);
  assert.doesNotMatch(refused.message, /hf_secret/);
  const link = path.join(tempDir(t), 'innocent.txt');
  fs.symlinkSync(settings, link);
  assert.match((await refusal({ path: link, format: 'text' })).message, /is in Tunesmith's data folder/);
});

/** The preview a file made of only `kept` rows gets, for comparing with a partial read. */
async function previewOfRows(t: { after: (fn: () => void) => void }, name: string, text: string) {
  const file = path.join(tempDir(t), name);
  fs.writeFileSync(file, text);
  return methods.previewData(request({ path: file }));
}

test('previewData reads only the first QUICK_DATA_BYTES of a bigger JSON Lines file, and says so', async (t) => {
  const lines = Array.from({ length: Math.ceil((1.5 * QUICK_DATA_BYTES) / 60) }, (_, i) => `${JSON.stringify({ instruction: `Say ${i}`, output: `${i} ü` })}\n`);
  const file = path.join(tempDir(t), 'big.jsonl');
  fs.writeFileSync(file, lines.join(''));
  let bytes = 0;
  const fitting = lines.filter((line) => (bytes += Buffer.byteLength(line)) <= QUICK_DATA_BYTES);
  assert.ok(fitting.length < lines.length);
  const preview = await methods.previewData(request({ path: file }));
  assert.equal(preview.problem, null);
  assert.deepEqual(preview.partial, { bytesRead: QUICK_DATA_BYTES, totalBytes: fs.statSync(file).size });
  assert.deepEqual(preview.stats, (await previewOfRows(t, 'fitting.jsonl', fitting.join(''))).stats);
});

test('previewData of a bigger one-line JSON array keeps the items that end within the first QUICK_DATA_BYTES', async (t) => {
  const rowBytes = Buffer.byteLength(JSON.stringify(rows)) / rows.length;
  const items = Array.from({ length: Math.ceil((1.2 * QUICK_DATA_BYTES) / rowBytes) }, (_, i) => rows[i % rows.length]);
  const file = path.join(tempDir(t), 'big.json');
  fs.writeFileSync(file, JSON.stringify(items));
  let end = 1;
  const fitting = items.filter((item) => (end += Buffer.byteLength(JSON.stringify(item)) + 1) - 1 <= QUICK_DATA_BYTES);
  assert.ok(fitting.length < items.length);
  const preview = await methods.previewData(request({ path: file }));
  assert.equal(preview.partial?.totalBytes, fs.statSync(file).size);
  assert.deepEqual(preview.stats, (await previewOfRows(t, 'fitting.json', JSON.stringify(fitting))).stats);
});

test('a JSON array prefix ends after its last whole item; brackets and quotes inside strings do not count', () => {
  const items = [{ a: 'x]}"[{' }, { b: [1, { c: '\\' }] }, { d: 'last' }];
  const text = JSON.stringify(items, null, 2);
  const cut = text.slice(0, text.indexOf('last'));
  assert.deepEqual(JSON.parse(wholeArrayItems(cut)), items.slice(0, 2));
  assert.equal(wholeArrayItems('[{"a": "unfinished'), '');
});

test('a small file has no partial mark', async () => {
  assert.equal((await methods.previewData(request())).partial, undefined);
});

test('inspectModel: the summary comes from config.json, and the parameter count equals the loaded weights', async () => {
  const summary = await methods.inspectModel({ source: GPT2 });
  const config = JSON.parse(fs.readFileSync(path.join(GPT2, 'config.json'), 'utf8'));
  const loaded = loadModel(GPT2).model;
  assert.deepEqual(summary, {
    source: GPT2,
    dir: GPT2,
    architecture: 'gpt2',
    parameters: loaded.parameterCount(),
    layers: config.n_layer,
    hiddenSize: config.n_embd,
    heads: config.n_head,
    vocabSize: config.vocab_size,
    maxPositions: config.n_positions,
    hasChatTemplate: false,
  });
  loaded.dispose();
});

test('inspectModel: BLOOM has no position limit, and a chat template in tokenizer_config.json is seen', async (t) => {
  const dir = copyFixture('bloom-tiny', tempDir(t));
  const configFile = path.join(dir, 'tokenizer_config.json');
  fs.chmodSync(configFile, 0o644);
  const tokenizerConfig = JSON.parse(fs.readFileSync(configFile, 'utf8'));
  fs.writeFileSync(configFile, JSON.stringify({ ...tokenizerConfig, chat_template: '{{ messages[0].content }}' }));
  const summary = await methods.inspectModel({ source: dir });
  assert.equal(summary.architecture, 'bloom');
  assert.equal(summary.maxPositions, null);
  assert.equal(summary.hasChatTemplate, true);
});

test('inspectModel: errors name the missing file', async (t) => {
  const dir = copyFixture('gpt2-tiny', tempDir(t));
  fs.rmSync(path.join(dir, 'model.safetensors'));
  await assert.rejects(methods.inspectModel({ source: dir }), new RegExp(`^Error: ${dir}: no weights found`));
  fs.rmSync(path.join(dir, 'config.json'));
  await assert.rejects(methods.inspectModel({ source: dir }), { message: `${path.join(dir, 'config.json')}: missing; a model folder needs config.json next to its weights` });
});
