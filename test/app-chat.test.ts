// Chat through the app service with a real inference worker process: streamed pieces join
// to the answer that core's `generate` gives for the same prompt, conversations are saved,
// and a stop, a crash or a bad request ends a stream with the reason.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { before, test } from 'node:test';
import type { ApiEvent, ChatRequest, ChatTarget } from '../core/api/contract';
import { createChatMethods, type ChatMethods } from '../core/app/chat-methods';
import type { ProcessLauncher, WorkerProcess } from '../core/app/context';
import { nodeLauncher } from '../core/app/node-launcher';
import { createSettingsMethods } from '../core/app/settings';
import { chatBudget } from '../core/app/chat-prompt';
import { TextStream } from '../core/app/text-stream';
import { stopStrings } from '../core/data/templates';
import { initBackend } from '../core/engine/backend';
import { generate } from '../core/generate/generate';
import { loadModel } from '../core/models/load';
import { loadAdapter } from '../core/models/lora';
import { openStore, type ExperimentStore } from '../core/store/index';
import { resolveTrainConfig } from '../core/train/config';
import { loadTokenizer } from '../core/tokenizer/tokenizer';
import { fixture, tempDir } from './helpers';

const GPT2 = fixture('gpt2-tiny');
const ALPACA_DATA = path.resolve(import.meta.dirname, '../examples/data/alpaca-train.json');
const tokenizer = loadTokenizer(GPT2);
const EOS = tokenizer.special.eos!;

const humanAssistant = (user: string) => `Human: ${user}\n\nAssistant: `;
const alpacaPrompt = (instruction: string) =>
  'Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n' +
  `### Instruction:\n${instruction}\n\n### Response:\n`;

/** The answer core's generate gives, decoded as the chat decodes it. */
function reference(promptIds: number[], sampling: ChatRequest['sampling'], adapter?: string): { ids: number[]; text: string } {
  const { model } = loadModel(GPT2);
  try {
    const forward = adapter ? { lora: loadAdapter(adapter, model).layers } : {};
    const ids = generate(model, promptIds, { ...sampling, eosId: EOS, forward });
    return { ids, text: tokenizer.decode(ids, true) };
  } finally {
    model.dispose();
  }
}

const GREEDY: ChatRequest['sampling'] = { greedy: true, temperature: 1, topK: 0, topP: 1, repetitionPenalty: 1, maxNewTokens: 20 };

let store: ExperimentStore;
let chat: ChatMethods;
const events: ApiEvent[] = [];
const waiters: (() => void)[] = [];
const workers: { worker: WorkerProcess; env?: Record<string, string> }[] = [];
let home: string;
let loraRun: string;
let fullRun: string;

/** Records each worker started, so a test can kill one as a crash would. */
const launcher: ProcessLauncher = (name, env) => {
  const worker = nodeLauncher(name, env);
  workers.push({ worker, env });
  return worker;
};

function addRun(name: string, method: 'lora' | 'full', result: string, template: string, status: 'completed' | 'failed' = 'completed'): string {
  const outputDir = path.join(home, 'runs', name);
  fs.mkdirSync(outputDir, { recursive: true });
  fs.cpSync(result, path.join(outputDir, 'final'), { recursive: true });
  const config = resolveTrainConfig({ model: GPT2, output_dir: outputDir, method, data: { train: ALPACA_DATA, template } });
  const run = store.createRun({ name, method, config, model: { source: GPT2 }, outputDir, status: 'running' });
  store.finishRun(run.id, { status });
  return run.id;
}

before(() => initBackend());

function setUp(t: Parameters<typeof tempDir>[0]): void {
  home = tempDir(t);
  store = openStore(path.join(home, 'tunesmith.db'));
  events.length = 0;
  chat = createChatMethods({
    home,
    store,
    launcher,
    emit: (event) => {
      events.push(event);
      waiters.splice(0).forEach((wake) => wake());
    },
    modelDir: (source) => {
      if (!path.isAbsolute(source)) throw new Error(`model "${source}" is not downloaded`);
      return source;
    },
  });
  t.after(() => {
    chat.dispose();
    store.close();
  });
  loraRun = addRun('alpaca-lora', 'lora', fixture('gpt2-tiny-lora-trained'), 'alpaca');
  fullRun = addRun('chatml-full', 'full', GPT2, 'chatml');
  addRun('broken', 'lora', fixture('gpt2-tiny-lora-init'), 'alpaca', 'failed');
}

/** The stream's pieces and its end, once chat-end arrives. */
async function streamOf(streamId: string, onFirstPiece?: () => void) {
  for (;;) {
    const pieces = events.filter((e): e is Extract<ApiEvent, { type: 'chat-token' }> => e.type === 'chat-token' && e.streamId === streamId).map((e) => e.text);
    if (pieces.length > 0 && onFirstPiece) {
      onFirstPiece();
      onFirstPiece = undefined;
    }
    const end = events.find((e): e is Extract<ApiEvent, { type: 'chat-end' }> => e.type === 'chat-end' && e.streamId === streamId);
    if (end) return { pieces, end };
    await new Promise<void>((wake) => waiters.push(wake));
  }
}

function request(target: ChatTarget, text: string, over: Partial<ChatRequest> = {}): ChatRequest {
  return { conversationId: null, target, text, template: 'human_assistant', sampling: GREEDY, ...over };
}

const BASE: ChatTarget = { kind: 'model', source: GPT2 };

test('TextStream: pieces never split a character, and join to the decoded text', () => {
  const text = 'Grüße, 你好 🎉!';
  const ids = tokenizer.encode(text);
  const stream = new TextStream((list) => tokenizer.decode(list));
  const pieces = ids.map((id) => stream.push(id));
  pieces.push(stream.finish());
  assert.ok(ids.length > [...text].length, 'the text must have characters split over several tokens');
  assert.ok(pieces.every((p) => !p.includes('\uFFFD')));
  assert.equal(pieces.join(''), text);
  assert.equal(stream.text, text);
});

test('TextStream: a reply ends at its template\'s stop string, and no piece shows any part of it', () => {
  for (const [template, answer, rest] of [
    ['chatml', 'Sure, here it is.', '<|im_end|>\n<|im_start|>user\nMore'],
    ['human_assistant', 'Paris is the capital.', '\nHuman: and Spain?'],
    ['alpaca', 'Done.\n\n', '### Instruction:\nNext'],
  ] as const) {
    const ids = tokenizer.encode(answer + rest);
    const stream = new TextStream((list) => tokenizer.decode(list), stopStrings(template));
    const pieces: string[] = [];
    let pushed = 0;
    for (const id of ids) {
      pieces.push(stream.push(id));
      pushed++;
      if (stream.stopped) break;
    }
    pieces.push(stream.finish());
    assert.ok(stream.stopped, `${template}: the stop string is seen`);
    assert.ok(pushed < ids.length, `${template}: the caller can stop generating as soon as the marker is complete`);
    assert.equal(pieces.join(''), answer, template);
    // Pieces joining to exactly the answer means no part of the marker was ever sent, even while it was incomplete.
    assert.equal(stream.text, answer, template);
  }
  // Text that only starts like a marker is sent once it cannot be one.
  const stream = new TextStream((list) => tokenizer.decode(list), stopStrings('chatml'));
  const pieces = tokenizer.encode('a <|im not a marker').map((id) => stream.push(id));
  pieces.push(stream.finish());
  assert.equal(pieces.join(''), 'a <|im not a marker');
  assert.equal(stream.stopped, false);
});

test('chatBudget: prompt and answer always fit the positions, the whole prompt is kept when it fits, and the answer gets at least half the context', () => {
  for (const positions of [8, 128, 1024]) {
    for (const promptLength of [1, 5, positions / 2, positions - 1, positions, positions * 3]) {
      for (const maxNew of [1, 16, positions - 1, positions, positions * 2]) {
        const { promptTokens, newTokens } = chatBudget(promptLength, positions, maxNew);
        const at = `${promptLength} prompt tokens, ${maxNew} new, ${positions} positions`;
        assert.ok(promptTokens >= 1 && promptTokens <= promptLength, at);
        assert.ok(newTokens >= 1 && newTokens <= maxNew, at);
        assert.ok(promptTokens + newTokens <= positions, at);
        if (promptLength + maxNew <= positions) assert.deepEqual({ promptTokens, newTokens }, { promptTokens: promptLength, newTokens: maxNew }, at);
        assert.ok(newTokens >= Math.min(maxNew, Math.floor(positions / 2)), at);
        // Nothing is cut that the answer does not need: the two together fill the context.
        if (promptTokens < promptLength) assert.equal(promptTokens + newTokens, positions, at);
      }
    }
  }
  assert.deepEqual(chatBudget(5000, null, 300), { promptTokens: 5000, newTokens: 300 }, 'no position limit (ALiBi): all of both');
});

test('chat: the default settings (128 new tokens) answer on a 128-position model, and the end says how much context was used', async (t) => {
  setUp(t);
  const sampling = { ...GREEDY, maxNewTokens: 128 };
  const started = await chat.chat(request(BASE, 'Hello there', { sampling }));
  const { end } = await streamOf(started.streamId);
  assert.equal(end.error, null);
  const promptIds = tokenizer.encode(humanAssistant('Hello there'));
  const budget = chatBudget(promptIds.length, 128, 128);
  assert.equal(end.contextLimit, 128);
  assert.equal(end.promptTokens, budget.promptTokens);
  assert.equal(end.text, reference(promptIds.slice(promptIds.length - budget.promptTokens), { ...sampling, maxNewTokens: budget.newTokens }).text);
  assert.ok(end.promptTokens + end.tokens <= 128);
});

test('chat: a base model streams pieces that join to the greedy answer of generate, and the conversation is saved', async (t) => {
  setUp(t);
  const started = await chat.chat(request(BASE, 'Hello there'));
  assert.equal(started.templateWarning, null);
  const { pieces, end } = await streamOf(started.streamId);
  const expected = reference(tokenizer.encode(humanAssistant('Hello there')), GREEDY);
  assert.equal(end.error, null);
  assert.equal(pieces.join(''), end.text);
  assert.equal(end.text, expected.text);
  assert.equal(end.tokens, expected.ids.length);
  assert.ok(end.seconds > 0);

  // The second turn continues the first as the trainer lays conversations out: each answer ends with EOS.
  const second = await chat.chat(request(BASE, 'Tell me more', { conversationId: started.conversationId }));
  assert.equal(second.conversationId, started.conversationId);
  const next = await streamOf(second.streamId);
  const secondPrompt = [...tokenizer.encode(humanAssistant('Hello there')), ...tokenizer.encode(end.text), EOS, ...tokenizer.encode(humanAssistant('Tell me more'))];
  assert.equal(next.end.text, reference(secondPrompt, GREEDY).text);

  const conversations = await chat.listConversations();
  assert.equal(conversations.length, 1);
  assert.deepEqual(
    { ...conversations[0], createdAt: 0 },
    { id: started.conversationId, target: BASE, label: 'gpt2-tiny', createdAt: 0, messageCount: 4, firstMessage: 'Hello there' },
  );
  const conversation = await chat.getConversation({ conversationId: started.conversationId });
  assert.deepEqual(
    conversation.messages.map((m) => [m.role, m.text]),
    [['user', 'Hello there'], ['assistant', end.text], ['user', 'Tell me more'], ['assistant', next.end.text]],
  );
  assert.equal(conversation.messages[1].timings!.tokens, expected.ids.length);
  assert.equal(conversation.messages[1].timings!.promptTokens, tokenizer.encode(humanAssistant('Hello there')).length);
  assert.deepEqual(conversation.sampling, { ...GREEDY, template: 'human_assistant' });
});

test('chat: sampled answers stream whole characters and match generate with the same seed', async (t) => {
  setUp(t);
  // Seed 3 makes this random-weight model emit multi-byte characters split over tokens.
  const sampling = { ...GREEDY, greedy: false, temperature: 1, topK: 50, seed: 3, maxNewTokens: 100 };
  const started = await chat.chat(request(BASE, 'Hi', { sampling }));
  const { pieces, end } = await streamOf(started.streamId);
  const expected = reference(tokenizer.encode(humanAssistant('Hi')), sampling);
  assert.equal(end.text, expected.text);
  assert.equal(pieces.join(''), end.text);
  assert.ok([...end.text].some((c) => new TextEncoder().encode(c).length > 1), 'the answer should hold a multi-byte character');
  // Only the closing piece may end in an unfinished character; every other waits for its next token.
  assert.ok(pieces.slice(0, -1).every((p) => !p.endsWith('\uFFFD')));
});

test('chat targets: completed runs with their template, then the base models they started from', async (t) => {
  setUp(t);
  // A Hub download's snapshot folder is named by its commit; the label shows the model id instead.
  const snapshot = path.join(home, 'hub', 'models--openai-community--gpt2', 'snapshots', 'a1b2c3');
  fs.mkdirSync(path.dirname(snapshot), { recursive: true });
  fs.symlinkSync(GPT2, snapshot);
  const config = resolveTrainConfig({ model: snapshot, output_dir: path.join(home, 'runs', 'text'), data: { train: 'notes.txt' } });
  const textRun = store.createRun({ name: 'text', method: 'lora', config, status: 'running' }).id;
  const targets = await chat.listChatTargets();
  assert.deepEqual(
    targets.map((x) => [x.target, x.label, x.trainedTemplate]),
    [
      [{ kind: 'run', runId: fullRun }, 'chatml-full', 'chatml'],
      [{ kind: 'run', runId: loraRun }, 'alpaca-lora', 'alpaca'],
      [{ kind: 'model', source: snapshot }, 'openai-community/gpt2', null],
      [BASE, 'gpt2-tiny', null],
    ],
  );
  // Plain text is trained on without a template, so "none" is what matches it.
  store.finishRun(textRun, { status: 'completed' });
  const [text] = await chat.listChatTargets();
  assert.deepEqual([text.label, text.trainedTemplate], ['text', 'none']);
});

test('a stored run whose config this version cannot read (a newer CLI wrote it) is left out of the targets, and its conversations still list', async (t) => {
  setUp(t);
  const before = await chat.listChatTargets();
  const outputDir = path.join(home, 'runs', 'future');
  const config = { ...resolveTrainConfig({ model: path.join(home, 'elsewhere'), output_dir: outputDir, data: { train: ALPACA_DATA } }), future_option: true };
  const future = store.createRun({ name: 'future', method: 'lora', config, outputDir, status: 'running' }).id;
  store.finishRun(future, { status: 'completed' });
  store.createChatSession({ modelSource: GPT2, runId: future, sampling: { template: 'alpaca' } });
  assert.deepEqual(await chat.listChatTargets(), before);
  assert.deepEqual(
    (await chat.listConversations()).map((c) => [c.target, c.label]),
    [[{ kind: 'run', runId: future }, 'future']],
  );
  await assert.rejects(chat.chat(request({ kind: 'run', runId: future }, 'Hi')), /run "future" config.*future_option/);
});

test('chat with a LoRA run: its adapter is applied, and another template than the trained one is warned about', async (t) => {
  setUp(t);
  const target: ChatTarget = { kind: 'run', runId: loraRun };
  const matching = await chat.chat(request(target, 'Name a colour.', { template: 'alpaca' }));
  assert.equal(matching.templateWarning, null);
  const { end } = await streamOf(matching.streamId);
  const promptIds = tokenizer.encode(alpacaPrompt('Name a colour.'));
  const expected = reference(promptIds, GREEDY, fixture('gpt2-tiny-lora-trained'));
  assert.notEqual(expected.text, reference(promptIds, GREEDY).text, 'the adapter must change the answer for this test to see it');
  assert.equal(end.text, expected.text);

  const other = await chat.chat(request(target, 'Name a colour.'));
  assert.match(other.templateWarning!, /alpaca-lora was trained with the "alpaca" template; with "human_assistant"/);
  await streamOf(other.streamId);
  const [latest] = await chat.listConversations();
  assert.deepEqual([latest.target, latest.label], [target, 'alpaca-lora']);
});

test('chat after the adapter of a run is rewritten (as Extend does) answers with the new weights', async (t) => {
  setUp(t);
  const target: ChatTarget = { kind: 'run', runId: loraRun };
  const promptIds = tokenizer.encode(alpacaPrompt('Name a colour.'));
  const first = await chat.chat(request(target, 'Name a colour.', { template: 'alpaca' }));
  assert.equal((await streamOf(first.streamId)).end.text, reference(promptIds, GREEDY, fixture('gpt2-tiny-lora-trained')).text);

  fs.cpSync(fixture('gpt2-tiny-lora-init'), path.join(home, 'runs', 'alpaca-lora', 'final'), { recursive: true });
  const expected = reference(promptIds, GREEDY, fixture('gpt2-tiny-lora-init'));
  assert.notEqual(expected.text, reference(promptIds, GREEDY, fixture('gpt2-tiny-lora-trained')).text, 'the two adapters must answer differently for this test to see it');
  const second = await chat.chat(request(target, 'Name a colour.', { template: 'alpaca' }));
  assert.equal((await streamOf(second.streamId)).end.text, expected.text);
});

test('chat with a full run uses its exported folder, and a conversation stays with its target', async (t) => {
  setUp(t);
  const target: ChatTarget = { kind: 'run', runId: fullRun };
  const started = await chat.chat(request(target, 'Hi', { template: 'chatml' }));
  const { end } = await streamOf(started.streamId);
  assert.equal(end.text, reference(tokenizer.encode('<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n'), GREEDY).text);
  await assert.rejects(chat.chat(request(BASE, 'Hi', { conversationId: started.conversationId })), /conversation \d+ is with chatml-full; start a new conversation/);
});

test('stopChat ends a stream early, and the partial answer is saved', async (t) => {
  setUp(t);
  const sampling = { ...GREEDY, maxNewTokens: 110 };
  const started = await chat.chat(request(BASE, 'Hi', { sampling }));
  const { pieces, end } = await streamOf(started.streamId, () => void chat.stopChat({ streamId: started.streamId }));
  assert.equal(end.error, null);
  assert.ok(end.tokens < 110, `stopped after ${end.tokens} tokens`);
  assert.equal(pieces.join(''), end.text);
  assert.ok(reference(tokenizer.encode(humanAssistant('Hi')), sampling).text.startsWith(end.text));
  const conversation = await chat.getConversation({ conversationId: started.conversationId });
  assert.equal(conversation.messages.at(-1)!.text, end.text);
});

test('chat: a template the model lacks ends the stream with the reason; the question is saved with an empty answer, left out of the next prompt', async (t) => {
  setUp(t);
  const started = await chat.chat(request(BASE, 'Hi', { template: 'model' }));
  const { end } = await streamOf(started.streamId);
  assert.match(end.error!.message, /template "model" uses the model's chat template, and this model has none/);
  const conversation = await chat.getConversation({ conversationId: started.conversationId });
  assert.deepEqual(conversation.messages.map((m) => [m.role, m.text]), [['user', 'Hi'], ['assistant', '']]);

  const next = await chat.chat(request(BASE, 'Hello there', { conversationId: started.conversationId }));
  const { end: answer } = await streamOf(next.streamId);
  assert.equal(answer.text, reference(tokenizer.encode(humanAssistant('Hello there')), GREEDY).text);
  const after = await chat.getConversation({ conversationId: started.conversationId });
  assert.deepEqual(after.messages.map((m) => m.role), ['user', 'assistant', 'user', 'assistant']);
});

test('chat: a conversation saved with a question left unanswered (before answers were always saved) prompts with the last question only', async (t) => {
  setUp(t);
  const conversationId = store.createChatSession({ modelSource: GPT2, sampling: { ...GREEDY, template: 'human_assistant' } });
  store.addChatMessage(conversationId, { role: 'user', text: 'Hi' });
  const started = await chat.chat(request(BASE, 'Hello there', { conversationId }));
  const { end } = await streamOf(started.streamId);
  assert.equal(end.text, reference(tokenizer.encode(humanAssistant('Hello there')), GREEDY).text);
});

test('chat: bad requests are refused before anything is saved', async (t) => {
  setUp(t);
  const failed = store.listRuns({ status: 'failed' })[0];
  await assert.rejects(chat.chat(request({ kind: 'run', runId: failed.id }, 'Hi')), /run "broken" is failed; only a completed run/);
  await assert.rejects(chat.chat(request({ kind: 'run', runId: 'nope' }, 'Hi')), /no run with id "nope"/);
  await assert.rejects(chat.chat(request({ kind: 'model', source: 'gpt2' }, 'Hi')), /model "gpt2" is not downloaded/);
  await assert.rejects(chat.chat(request(BASE, 'Hi', { template: 'fancy' })), /unknown template "fancy"/);
  await assert.rejects(chat.chat(request(BASE, 'Hi', { conversationId: 999 })), /no conversation with id 999/);
  await assert.rejects(chat.getConversation({ conversationId: 999 }), /no conversation with id 999/);
  fs.rmSync(path.join(home, 'runs', 'alpaca-lora', 'final'), { recursive: true });
  await assert.rejects(chat.chat(request({ kind: 'run', runId: loraRun }, 'Hi')), /final: missing; run "alpaca-lora" has no exported result/);
  assert.deepEqual(await chat.listConversations(), []);
});

test('a crashed inference worker ends its stream with the reason, and the next chat starts a new one', async (t) => {
  setUp(t);
  const started = await chat.chat(request(BASE, 'Hi', { sampling: { ...GREEDY, maxNewTokens: 110 } }));
  const crashed = workers.at(-1)!.worker;
  const { end } = await streamOf(started.streamId, () => crashed.kill());
  assert.match(end.error!.message, /the inference process exited/);

  const again = await chat.chat(request(BASE, 'Hello there'));
  assert.notEqual(workers.at(-1)!.worker, crashed);
  const { end: answer } = await streamOf(again.streamId);
  assert.equal(answer.text, reference(tokenizer.encode(humanAssistant('Hello there')), GREEDY).text);
});

test('dispose ends the inference worker', async (t) => {
  setUp(t);
  const started = await chat.chat(request(BASE, 'Hi'));
  await streamOf(started.streamId);
  const { worker } = workers.at(-1)!;
  const exited = new Promise((resolve) => worker.onExit(resolve));
  chat.dispose();
  await exited;
  assert.throws(() => process.kill(worker.pid!, 0), { code: 'ESRCH' });
});

test('the inference worker runs on the backend chosen in the settings', async (t) => {
  setUp(t);
  await createSettingsMethods({ home }).updateSettings({ backend: 'cpu' });
  const started = await chat.chat(request(BASE, 'Hi', { sampling: { ...GREEDY, maxNewTokens: 3 } }));
  const { end } = await streamOf(started.streamId);
  assert.equal(end.error, null);
  assert.deepEqual(workers.at(-1)!.env, { TUNESMITH_BACKEND: 'cpu' });
});
