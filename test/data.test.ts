import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { batches, epochOrder, padBatch, splitValidation } from '../core/data/batching';
import { readChatTemplate } from '../core/data/chat-template';
import { loadDataset, type DatasetOptions } from '../core/data/dataset';
import { DataError } from '../core/data/errors';
import { IGNORE_INDEX } from '../core/data/records';
import { loadTokenizer, type TextTokenizer } from '../core/tokenizer/tokenizer';
import { REFERENCE, fixture, tempDir } from './helpers';

const TOKENIZERS = { 'gpt2-tiny': loadTokenizer(fixture('gpt2-tiny')), 'bloom-tiny': loadTokenizer(fixture('bloom-tiny')) };
const GPT2 = TOKENIZERS['gpt2-tiny'];
const EOS = 50256;

/** The records behind reference.json's `full_finetune.batch`; the first two are `instruction_batch`. */
const REFERENCE_RECORDS = [
  { instruction: "Convert the active sentence to passive: 'The chef cooks the meal every day.'", input: '', output: 'The meal is cooked by the chef every day.' },
  { instruction: '解释为什么以下分数等同于1/4', input: '4/16', output: '4/16 约分后等于 1/4,因为分子分母都可以除以 4。' },
  { instruction: 'Give three tips for staying healthy.', input: '', output: '1. Eat a balanced diet.\n2. Exercise regularly.\n3. Sleep well.' },
  { instruction: 'Translate to French.', input: 'Good morning', output: 'Bonjour' },
];

type Test = Parameters<typeof tempDir>[0];

function write(t: Test, name: string, content: string): string {
  const file = path.join(tempDir(t), name);
  fs.writeFileSync(file, content);
  return file;
}

const jsonl = (rows: unknown[]): string => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';

function load(file: string, options: Partial<DatasetOptions> = {}, tokenizer: TextTokenizer = GPT2) {
  return loadDataset({ path: file, max_length: 1024, ...options }, tokenizer);
}

function throwsData(fn: () => unknown, message: string | RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof DataError, `expected a DataError, got ${String(err)}`);
    if (typeof message === 'string') assert.ok(err.message.startsWith(message), `"${err.message}" should start with "${message}"`);
    else assert.match(err.message, message);
    return true;
  });
}

/** ids = encode(prompt) ++ encode(response) ++ [EOS], with -100 over the prompt. */
function expectedExample(tokenizer: TextTokenizer, prompt: string, response: string) {
  const p = tokenizer.encode(prompt);
  const r = [...tokenizer.encode(response), tokenizer.special.eos!];
  return { input_ids: [...p, ...r], labels: [...p.map(() => IGNORE_INDEX), ...r] };
}

for (const model of ['gpt2-tiny', 'bloom-tiny'] as const) {
  test(`${model}: the Human/Assistant template and padBatch reproduce reference.json's batches exactly`, (t) => {
    const tokenizer = TOKENIZERS[model];
    const raw = REFERENCE[model] as unknown as {
      instruction_batch: { template: string; label_tokens: number; batch: object };
      full_finetune: { batch: object };
    };
    assert.equal(raw.instruction_batch.template, 'human_assistant');
    const cases = [
      { records: REFERENCE_RECORDS.slice(0, 2), batch: raw.instruction_batch.batch, labelTokens: raw.instruction_batch.label_tokens },
      { records: REFERENCE_RECORDS, batch: raw.full_finetune.batch, labelTokens: undefined },
    ];
    for (const c of cases) {
      const { examples, stats } = load(write(t, 'data.jsonl', jsonl(c.records)), { template: 'human_assistant' }, tokenizer);
      assert.deepEqual(padBatch(examples, tokenizer.padId!), c.batch);
      if (c.labelTokens !== undefined) assert.equal(stats.label_tokens, c.labelTokens);
    }
  });
}

test('Human/Assistant label mask: exactly the prompt tokens are -100', (t) => {
  const record = { instruction: '  Name a colour. ', input: '', output: 'Blue.' };
  const [example] = load(write(t, 'one.json', JSON.stringify([record]))).examples;
  // Python's strip() of "Human: {instruction}\n{input}" removes the trailing "\n" and spaces.
  const expected = expectedExample(GPT2, 'Human:   Name a colour.\n\nAssistant: ', 'Blue.');
  assert.deepEqual(example, expected);
  const promptLength = GPT2.encode('Human:   Name a colour.\n\nAssistant: ').length;
  example.labels.forEach((label, i) => assert.equal(label === IGNORE_INDEX, i < promptLength, `token ${i}`));
});

test('Alpaca template: the Stanford prompts with and without input, label mask token by token', (t) => {
  const records = [
    { instruction: 'Add the numbers.', input: '2 and 3', output: '5' },
    { instruction: 'Say hi.', output: 'Hi!' },
  ];
  const { examples } = load(write(t, 'a.jsonl', jsonl(records)), { template: 'alpaca' });
  const withInput =
    'Below is an instruction that describes a task, paired with an input that provides further context. Write a response that appropriately completes the request.\n\n### Instruction:\nAdd the numbers.\n\n### Input:\n2 and 3\n\n### Response:\n';
  const noInput = 'Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n### Instruction:\nSay hi.\n\n### Response:\n';
  assert.deepEqual(examples, [expectedExample(GPT2, withInput, '5'), expectedExample(GPT2, noInput, 'Hi!')]);
  const promptLength = GPT2.encode(withInput).length;
  examples[0].labels.forEach((label, i) => assert.equal(label === IGNORE_INDEX, i < promptLength, `token ${i}`));
});

test('template none: instruction and input joined by a newline, then the output and EOS', (t) => {
  const file = write(t, 'n.jsonl', jsonl([{ instruction: 'Q', input: 'more', output: ' A' }, { instruction: 'Q2', output: ' B' }]));
  assert.deepEqual(load(file, { template: 'none' }).examples, [expectedExample(GPT2, 'Q\nmore', ' A'), expectedExample(GPT2, 'Q2', ' B')]);
});

test('train_on_prompt labels every token', (t) => {
  const file = write(t, 'p.jsonl', jsonl(REFERENCE_RECORDS));
  const { examples, stats } = load(file, { train_on_prompt: true });
  for (const e of examples) assert.deepEqual(e.labels, e.input_ids);
  assert.equal(stats.label_tokens, stats.tokens);
});

test('text with packing: documents end in EOS, are joined, and cut into full blocks', (t) => {
  const lines = ['The first document.', '', 'A second one, a bit longer than the first.', '   ', 'Third.'];
  const file = write(t, 'corpus.txt', lines.join('\n'));
  const stream = ['The first document.', 'A second one, a bit longer than the first.', 'Third.'].flatMap((d) => [...GPT2.encode(d), EOS]);
  const { examples, stats } = load(file, { packing: true, max_length: 8 });
  assert.equal(examples.length, Math.floor(stream.length / 8));
  assert.ok(stream.length % 8 !== 0, 'the test needs a partial last block to drop');
  for (const e of examples) {
    assert.equal(e.input_ids.length, 8);
    assert.deepEqual(e.labels, e.input_ids);
  }
  assert.deepEqual(examples.flatMap((e) => e.input_ids), stream.slice(0, examples.length * 8));
  assert.equal(stream.filter((id) => id === EOS).length, 3);
  assert.deepEqual(stats, { examples: examples.length, tokens: examples.length * 8, label_tokens: examples.length * 8, truncated: 0, skipped: 0 });
  throwsData(() => load(file, { packing: true, max_length: 4096 }), `${file}: the text is shorter than one block`);
});

test('text without packing: one example per non-empty line, all tokens labelled, EOS appended, truncation counted', (t) => {
  const file = write(t, 'lines.txt', 'Hello world.\r\n\r\nA much longer line that will certainly be cut short here.\n');
  const { examples, stats } = load(file, { max_length: 6 });
  assert.deepEqual(examples[0].input_ids, [...GPT2.encode('Hello world.'), EOS]);
  assert.deepEqual(examples[1].input_ids, GPT2.encode('A much longer line that will certainly be cut short here.').slice(0, 6));
  for (const e of examples) assert.deepEqual(e.labels, e.input_ids);
  assert.equal(stats.examples, 2);
  assert.equal(stats.truncated, 1);
});

const CONVERSATION = [
  { role: 'system', content: 'Be brief.' },
  { role: 'user', content: 'Hi' },
  { role: 'assistant', content: 'Hello.' },
  { role: 'user', content: 'Bye' },
  { role: 'assistant', content: 'Goodbye.' },
];

test('chat messages: only assistant turns (and their EOS) are trained', (t) => {
  const [example] = load(write(t, 'chat.jsonl', jsonl([{ messages: CONVERSATION }]))).examples;
  const parts: [string, boolean][] = [
    ['Be brief.\n\n', false],
    ['Human: Hi\n\nAssistant: ', false],
    ['Hello.', true],
    ['Human: Bye\n\nAssistant: ', false],
    ['Goodbye.', true],
  ];
  const input_ids: number[] = [];
  const labels: number[] = [];
  for (const [text, trained] of parts) {
    const ids = trained ? [...GPT2.encode(text), EOS] : GPT2.encode(text);
    input_ids.push(...ids);
    labels.push(...(trained ? ids : ids.map(() => IGNORE_INDEX)));
  }
  assert.deepEqual(example, { input_ids, labels });
});

test('ShareGPT conversations give the same example as the equivalent messages', (t) => {
  const from: Record<string, string> = { system: 'system', user: 'human', assistant: 'gpt' };
  const shareGpt = { conversations: CONVERSATION.map((m) => ({ from: from[m.role], value: m.content })) };
  const a = load(write(t, 'sharegpt.jsonl', jsonl([shareGpt])));
  const b = load(write(t, 'messages.jsonl', jsonl([{ messages: CONVERSATION }])));
  assert.equal(a.format, 'chat');
  assert.deepEqual(a.examples, b.examples);
});

function trainedText(tokenizer: TextTokenizer, e: { input_ids: number[]; labels: number[] }): string {
  return tokenizer.decode(e.labels.filter((l) => l !== IGNORE_INDEX));
}

test('ChatML template: the im_start/im_end layout, the answer and its end marker trained', (t) => {
  const file = write(t, 'chat.jsonl', jsonl([{ messages: [{ role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hello.' }] }]));
  const [example] = load(file, { template: 'chatml' }).examples;
  assert.equal(GPT2.decode(example.input_ids), '<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello.<|im_end|>\n<|endoftext|>');
  assert.equal(trainedText(GPT2, example), 'Hello.<|im_end|>\n<|endoftext|>');
});

const CHATML_JINJA =
  "{{ bos_token }}{% for m in messages %}{{ '<|im_start|>' + m['role'] + '\\n' + m['content'] + '<|im_end|>\\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

test("template model renders the model's Jinja chat template and trains each answer", (t) => {
  const bloom = TOKENIZERS['bloom-tiny'];
  const file = write(t, 'chat.jsonl', jsonl([{ messages: CONVERSATION }]));
  const [example] = load(file, { template: 'model', chat_template: CHATML_JINJA }, bloom).examples;
  assert.equal(example.input_ids[0], bloom.special.bos);
  assert.equal(
    bloom.decode(example.input_ids),
    '<s><|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello.<|im_end|>\n' +
      '<|im_start|>user\nBye<|im_end|>\n<|im_start|>assistant\nGoodbye.<|im_end|>\n',
  );
  assert.equal(trainedText(bloom, example), 'Hello.<|im_end|>\nGoodbye.<|im_end|>\n');
  throwsData(() => load(file, { template: 'model', chat_template: null }, bloom), 'template "model" uses the model\'s chat template');
});

test('readChatTemplate: tokenizer_config.json string or named list, chat_template.jinja, or null', (t) => {
  assert.equal(readChatTemplate(fixture('gpt2-tiny')), null);
  const dir = tempDir(t);
  fs.writeFileSync(path.join(dir, 'tokenizer_config.json'), JSON.stringify({ chat_template: [{ name: 'tool_use', template: 'x' }, { name: 'default', template: 'y' }] }));
  assert.equal(readChatTemplate(dir), 'y');
  fs.writeFileSync(path.join(dir, 'chat_template.jinja'), CHATML_JINJA);
  assert.equal(readChatTemplate(dir), CHATML_JINJA);
});

test('CSV: quotes, escaped quotes, embedded newlines, CRLF, BOM and the default column names', (t) => {
  const csv = '\uFEFFid,Question,input,Answer\r\n1,"Say ""hi"", politely",,"Hello,\nfriend"\r\n2,Plain,ctx,Done\r\n';
  const { examples, format } = load(write(t, 'qa.csv', csv));
  assert.equal(format, 'csv');
  assert.deepEqual(examples, [
    expectedExample(GPT2, 'Human: Say "hi", politely\n\nAssistant: ', 'Hello,\nfriend'),
    expectedExample(GPT2, 'Human: Plain\nctx\n\nAssistant: ', 'Done'),
  ]);
});

test('CSV: chosen columns, and errors that name the row', (t) => {
  const file = write(t, 'c.csv', 'q,a,b\nx,y,z\n');
  assert.deepEqual(load(file, { prompt_column: 'b', response_column: 'q' }).examples, [expectedExample(GPT2, 'Human: z\n\nAssistant: ', 'x')]);
  throwsData(() => load(file), `${file}: no prompt field (looked for instruction, prompt, question, query; fields: q, a, b); set data.prompt_column`);
  throwsData(() => load(file, { prompt_column: 'nope', response_column: 'a' }), `${file}: no field "nope" for the prompt`);
  const ragged = write(t, 'r.csv', 'prompt,response\n"a\nb",c\nd,e,f\n');
  throwsData(() => load(ragged), `${ragged}: row 3 has 3 columns, the header has 2`);
  const open = write(t, 'o.csv', 'prompt,response\na,"never closed\n');
  throwsData(() => load(open), `${open}: row 2: a quoted field is never closed`);
  const stray = write(t, 's.csv', 'prompt,response\n"a"b,c\n');
  throwsData(() => load(stray), `${stray}: row 2: unexpected "b" after a closing quote`);
});

test('JSON, JSONL and CSV read the same prompt/response names into the same examples', (t) => {
  const pairs = [
    ['question', 'answer'],
    ['prompt', 'completion'],
    ['prompt', 'response'],
    ['instruction', 'output'],
  ];
  for (const [p, r] of pairs) {
    const rows = [{ [p]: 'Name a colour.', [r]: 'Blue.' }, { [p]: 'Say "hi", politely', [r]: 'Hello, friend' }];
    const expected = rows.map((row) => expectedExample(GPT2, `Human: ${row[p]}\n\nAssistant: `, row[r]));
    const csv = `${p},${r}\n${rows.map((row) => `"${row[p].replaceAll('"', '""')}","${row[r]}"`).join('\n')}\n`;
    for (const [name, text] of [['d.jsonl', jsonl(rows)], ['d.json', JSON.stringify(rows)], ['d.csv', csv]]) {
      const dataset = load(write(t, name, text));
      assert.deepEqual(dataset.examples, expected, `${p}/${r} as ${name}`);
      assert.deepEqual([dataset.columns?.prompt, dataset.columns?.response, dataset.columns?.sure], [p, r, true], `${p}/${r} as ${name}`);
    }
  }
});

test('an input field joins the prompt; chosen fields win; two candidate prompts are not "sure"', (t) => {
  const file = write(t, 'q.jsonl', jsonl([{ question: 'Translate.', context: 'Bonjour', answer: 'Hello', prompt: 'unused' }]));
  const guessed = load(file);
  assert.deepEqual(guessed.columns, { available: ['question', 'context', 'answer', 'prompt'], prompt: 'prompt', input: 'context', response: 'answer', sure: false });
  assert.deepEqual(guessed.examples, [expectedExample(GPT2, 'Human: unused\nBonjour\n\nAssistant: ', 'Hello')]);
  const chosen = load(file, { prompt_column: 'question' });
  assert.equal(chosen.columns?.sure, true);
  assert.deepEqual(chosen.examples, [expectedExample(GPT2, 'Human: Translate.\nBonjour\n\nAssistant: ', 'Hello')]);
  const odd = write(t, 'odd.json', JSON.stringify([{ ask: 'Why?', say: 'Because.' }]));
  throwsData(() => load(odd), `${odd}: item 1: no prompt field (looked for instruction, prompt, question, query; fields: ask, say); set data.prompt_column`);
  assert.deepEqual(load(odd, { prompt_column: 'ask', response_column: 'say' }).examples, [expectedExample(GPT2, 'Human: Why?\n\nAssistant: ', 'Because.')]);
  throwsData(() => load(odd, { prompt_column: 'ask', response_column: 'ask' }), `${odd}: item 1: "ask" cannot be both the prompt and the response`);
});

test('JSON rows with only a text field are documents, as a .txt line would be', (t) => {
  const docs = ['The first document.', 'A second one, longer than the first.'];
  const fromJson = load(write(t, 't.jsonl', jsonl(docs.map((text) => ({ text, source: 'x' })))));
  const fromTxt = load(write(t, 't.txt', docs.join('\n')));
  assert.equal(fromJson.format, 'text');
  assert.equal(fromJson.columns, null);
  assert.deepEqual(fromJson.examples, fromTxt.examples);
});

test('tokenized rows: labels default to input_ids, are kept when given, and are truncated', (t) => {
  const rows = [{ input_ids: [1, 2, 3] }, { input_ids: [4, 5, 6, 7, 8], labels: [-100, -100, 6, 7, 8] }];
  const { examples, stats, format } = load(write(t, 'ids.jsonl', jsonl(rows)), { max_length: 4 });
  assert.equal(format, 'tokenized');
  assert.deepEqual(examples, [
    { input_ids: [1, 2, 3], labels: [1, 2, 3] },
    { input_ids: [4, 5, 6, 7], labels: [-100, -100, 6, 7] },
  ]);
  assert.deepEqual(stats, { examples: 2, tokens: 7, label_tokens: 5, truncated: 1, skipped: 0 });
  const bad = write(t, 'bad.jsonl', jsonl([{ input_ids: [1, 2], labels: [1] }, { input_ids: [1, -3] }]));
  throwsData(() => load(bad), `${bad}:1: field "labels" has 1 entries, "input_ids" has 2`);
  const neg = write(t, 'neg.jsonl', jsonl([{ input_ids: [1, -3] }]));
  throwsData(() => load(neg), `${neg}:1: input_ids[1] is not a valid token id`);
});

test('truncation is counted, and rows left with nothing to learn are skipped, not errors', (t) => {
  const long = 'word '.repeat(40);
  const rows = [
    { instruction: 'Short?', output: `Long answer ${long}` },
    { instruction: `Long question ${long}`, output: 'Lost.' },
    { instruction: 'Short?', output: 'Yes.' },
  ];
  const { examples, stats } = load(write(t, 'trunc.jsonl', jsonl(rows)), { max_length: 20 });
  assert.equal(stats.truncated, 2);
  assert.equal(stats.skipped, 1);
  assert.equal(stats.examples, 2);
  assert.equal(examples[0].input_ids.length, 20);
  assert.equal(stats.tokens, examples[0].input_ids.length + examples[1].input_ids.length);
  const allSkipped = write(t, 'skip.jsonl', jsonl([rows[1]]));
  throwsData(() => load(allSkipped, { max_length: 20 }), `${allSkipped}: no usable examples (all 1 rows have no trainable tokens`);
});

test('bad inputs are DataErrors naming the file and line', (t) => {
  const badJson = write(t, 'bad.jsonl', '{"instruction": "a", "output": "b"}\n{"instruction": "a",\n');
  throwsData(() => load(badJson), `${badJson}:2: not valid JSON (`);
  const missing = write(t, 'm.jsonl', jsonl([{ instruction: 'a', output: 'b' }, { instruction: 'a' }]));
  throwsData(() => load(missing), `${missing}:2: field "output" is missing`);
  const wrongType = write(t, 'w.jsonl', '\n' + jsonl([{ instruction: 3, output: 'b' }]));
  throwsData(() => load(wrongType), `${wrongType}:2: field "instruction" must be a string, got a number`);
  const notObject = write(t, 'arr.json', JSON.stringify([{ instruction: 'a', output: 'b' }, 'text']));
  throwsData(() => load(notObject), `${notObject}: item 2: expected a JSON object, got a string`);
  const role = write(t, 'role.jsonl', jsonl([{ messages: [{ role: 'bot', content: 'x' }] }]));
  throwsData(() => load(role), `${role}:1: messages[0]: "role" must be one of user, assistant, system, got "bot"`);
  const empty = write(t, 'empty.jsonl', '\n  \n');
  throwsData(() => load(empty), `${empty}: the file is empty`);
  const unknownFields = write(t, 'u.jsonl', jsonl([{ question: 'a' }]));
  throwsData(() => load(unknownFields), `${unknownFields}:1: no response field (looked for output, response, answer, completion; fields: question)`);
  const ok = write(t, 'ok.jsonl', jsonl([{ instruction: 'a', output: 'b' }]));
  throwsData(() => load(ok, { format: 'parquet' }), 'unknown data format "parquet"');
  throwsData(() => load(write(t, 'data.parquet', 'x')), /cannot tell the data format from the extension "\.parquet"/);
  throwsData(() => load(ok, { template: 'vicuna' }), 'unknown template "vicuna"');
  throwsData(() => load(path.join(tempDir(t), 'absent.jsonl')), /absent\.jsonl: file not found$/);
  throwsData(() => load(ok, { packing: true }), `${ok}: packing applies to the text format only`);
  const chat = write(t, 'chat.jsonl', jsonl([{ messages: CONVERSATION }]));
  throwsData(() => load(chat, { template: 'alpaca' }), `${chat}:1: the alpaca template needs instruction data`);
});

test('validation split: deterministic by seed, disjoint, and ceil(fraction × n) held out', () => {
  const items = Array.from({ length: 25 }, (_, i) => i);
  const a = splitValidation(items, 0.1, 7);
  assert.deepEqual(splitValidation(items, 0.1, 7), a);
  assert.equal(a.validation.length, 3);
  assert.deepEqual([...a.train, ...a.validation].sort((x, y) => x - y), items);
  assert.ok(a.validation.every((v) => !a.train.includes(v)));
  assert.notDeepEqual(splitValidation(items, 0.1, 8).validation, a.validation);
  assert.deepEqual(splitValidation(items, 0, 7), { train: items, validation: [] });
  assert.throws(() => splitValidation([1], 0.5, 7), DataError);
});

test('epoch order: a permutation, reproducible per (seed, epoch), different across epochs; identity without shuffle', () => {
  const e0 = epochOrder(50, 0, 42, true);
  assert.deepEqual(epochOrder(50, 0, 42, true), e0);
  assert.deepEqual([...e0].sort((x, y) => x - y), Array.from({ length: 50 }, (_, i) => i));
  assert.notDeepEqual(epochOrder(50, 1, 42, true), e0);
  assert.notDeepEqual(epochOrder(50, 0, 43, true), e0);
  assert.deepEqual(epochOrder(4, 3, 42, false), [0, 1, 2, 3]);
  assert.deepEqual(batches([4, 2, 0, 1, 3], 2), [[4, 2], [0, 1], [3]]);
});

test('padBatch pads right to the longest row with the pad id, -100 labels and mask 0', () => {
  const batch = padBatch(
    [
      { input_ids: [5, 6], labels: [-100, 6] },
      { input_ids: [7, 8, 9], labels: [7, 8, 9] },
    ],
    3,
  );
  assert.deepEqual(batch, {
    input_ids: [
      [5, 6, 3],
      [7, 8, 9],
    ],
    labels: [
      [-100, 6, -100],
      [7, 8, 9],
    ],
    attention_mask: [
      [1, 1, 0],
      [1, 1, 1],
    ],
  });
});
