// The Playground's pure parts: sampling checks, target keys, template warnings, stream routing.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ApiEvent, ChatTargetInfo, Conversation } from '../core/api/contract';
import { DEFAULT_SAMPLING, validateSampling } from '../core/generate/sampling';
import { ChatStreams, type ChatEnd } from '../renderer/src/playground/chat-streams';
import { formatRate, paneFromConversation } from '../renderer/src/playground/pane';
import { checkSampling, DEFAULT_SAMPLING_FORM, samplingProblems } from '../renderer/src/playground/sampling-form';
import { MAX_PANES, parseTargetKey, preselection, targetKey } from '../renderer/src/playground/targets';
import { templateFor, templateMismatch, TEMPLATE_NAMES } from '../renderer/src/playground/templates';
import { TEMPLATES } from '../core/data/templates';

const TARGETS: ChatTargetInfo[] = [
  { target: { kind: 'run', runId: 'r1' }, label: 'run one', trainedTemplate: 'alpaca' },
  { target: { kind: 'model', source: 'gpt2' }, label: 'gpt2', trainedTemplate: null },
  { target: { kind: 'model', source: 'C:\\models\\tiny' }, label: 'tiny', trainedTemplate: null },
  { target: { kind: 'run', runId: 'r2' }, label: 'run two', trainedTemplate: 'chatml' },
];

test('the default sampling form passes and carries core defaults', () => {
  const check = checkSampling(DEFAULT_SAMPLING_FORM);
  assert.ok(check.ok);
  const { maxNewTokens, ...core } = check.sampling;
  assert.deepEqual(core, DEFAULT_SAMPLING);
  assert.equal(maxNewTokens, DEFAULT_SAMPLING_FORM.maxNewTokens);
  assert.equal('seed' in check.sampling, false, 'an empty seed is left to the host');
});

test('each core sampling field is refused exactly when core’s validateSampling refuses it', () => {
  const values = [-1, 0, 0.5, 1, 1.5, 2, 50, 2.5, Number.NaN];
  for (const field of ['temperature', 'topK', 'topP', 'repetitionPenalty'] as const) {
    for (const value of values) {
      let coreRefuses = false;
      try {
        validateSampling({ ...DEFAULT_SAMPLING, [field]: value });
      } catch {
        coreRefuses = true;
      }
      const problems = samplingProblems({ ...DEFAULT_SAMPLING_FORM, [field]: value });
      assert.equal(field in problems, coreRefuses, `${field} = ${value}`);
      assert.deepEqual(Object.keys(problems).filter((k) => k !== field), [], `only ${field} is flagged`);
    }
    assert.ok(field in samplingProblems({ ...DEFAULT_SAMPLING_FORM, [field]: null }), `empty ${field}`);
  }
});

test('max new tokens and seed must be whole numbers; the seed may be empty', () => {
  for (const [value, ok] of [[1, true], [256, true], [0, false], [-3, false], [2.5, false], [null, false]] as const) {
    assert.equal('maxNewTokens' in samplingProblems({ ...DEFAULT_SAMPLING_FORM, maxNewTokens: value }), !ok, `maxNewTokens ${value}`);
  }
  for (const [value, ok] of [[null, true], [0, true], [1234, true], [-1, false], [0.5, false]] as const) {
    assert.equal('seed' in samplingProblems({ ...DEFAULT_SAMPLING_FORM, seed: value }), !ok, `seed ${value}`);
  }
  const seeded = checkSampling({ ...DEFAULT_SAMPLING_FORM, seed: 7 });
  assert.ok(seeded.ok);
  assert.equal(seeded.sampling.seed, 7);
  const broken = checkSampling({ ...DEFAULT_SAMPLING_FORM, topP: 0, seed: -1 });
  assert.equal(broken.ok, false);
  assert.deepEqual(Object.keys(broken.ok ? {} : broken.problems).sort(), ['seed', 'topP']);
});

test('target keys round-trip, a Windows path included', () => {
  for (const { target } of TARGETS) assert.deepEqual(parseTargetKey(targetKey(target)), target);
  for (const bad of ['', 'run:', 'gpt2', 'file:x']) assert.equal(parseTargetKey(bad), null, bad);
});

test('a ?targets= list picks known targets in order, without repeats, at most MAX_PANES, and names the rest', () => {
  const keys = [...TARGETS].reverse().map((t) => targetKey(t.target));
  const param = ['run:nope', keys[0], keys[0], ...keys.slice(1), 'junk'].join(',');
  const { keys: picked, missing } = preselection(param, TARGETS);
  assert.deepEqual(picked, keys.slice(0, MAX_PANES));
  assert.deepEqual(missing, ['run:nope', 'junk']);
  assert.deepEqual(preselection(' , ', TARGETS), { keys: [], missing: [] });
});

test('templates: the page lists core’s, defaults to the trained one and warns when another is chosen', () => {
  assert.deepEqual([...TEMPLATE_NAMES].sort(), [...TEMPLATES].sort());
  const run = TARGETS[0];
  assert.equal(templateFor(run), run.trainedTemplate);
  assert.equal(templateMismatch(run, run.trainedTemplate!), null);
  const other = TEMPLATE_NAMES.find((t) => t !== run.trainedTemplate)!;
  assert.match(templateMismatch(run, other) ?? '', /trained with/);
  const base = TARGETS[1];
  for (const t of TEMPLATE_NAMES) assert.equal(templateMismatch(base, t), null, 'a base model was trained with no template of ours');
});

test('the rate is tokens over seconds; no rate without time, nothing for an empty reply', () => {
  const [tokens, seconds] = [37, 2.9];
  assert.ok(formatRate(tokens, seconds)?.includes(`${(tokens / seconds).toFixed(1)} tokens/s`));
  assert.equal(formatRate(tokens, 0)?.includes('tokens/s'), false);
  assert.equal(formatRate(0, seconds), null);
});

/** A saved conversation with TARGETS[3]: 'hi', then `answer`. */
function savedConversation(answer: Conversation['messages'][number]): Conversation {
  return {
    id: 9,
    target: TARGETS[3].target,
    label: TARGETS[3].label,
    createdAt: 0,
    messageCount: 2,
    firstMessage: 'hi',
    messages: [{ role: 'user', text: 'hi', createdAt: 0, timings: null }, answer],
    sampling: {},
  };
}

test('a saved conversation opens ready to continue, or read-only when its target is gone', () => {
  const conversation = savedConversation({ role: 'assistant', text: 'hello', createdAt: 1, timings: { tokensPerSecond: 12.25 } });
  const pane = paneFromConversation(4, conversation, TARGETS);
  assert.equal(pane.conversationId, conversation.id);
  assert.equal(pane.targetKey, targetKey(conversation.target));
  assert.equal(pane.template, TARGETS[3].trainedTemplate);
  assert.deepEqual(pane.turns.map((t) => [t.role, t.text]), conversation.messages.map((m) => [m.role, m.text]));
  const gone = paneFromConversation(4, { ...conversation, target: { kind: 'run', runId: 'deleted' } }, TARGETS);
  assert.equal(gone.conversationId, null, 'not continued on another target');
  assert.equal(gone.targetKey, '');
  assert.equal(gone.turns.length, conversation.messages.length);
  assert.ok(gone.notice);
});

test('a saved empty answer (a failed reply) reopens as an error, not a blank bubble', () => {
  const conversation = savedConversation({ role: 'assistant', text: '', createdAt: 1, timings: { tokens: 0 } });
  const [question, answer] = paneFromConversation(1, conversation, TARGETS).turns;
  assert.equal(question.error, null);
  assert.match((answer.error as Error).message, /^No answer/);
});

function recorder() {
  const seen: string[] = [];
  let ended: ChatEnd | null = null;
  return { seen, ended: () => ended, handler: { token: (t: string) => seen.push(t), end: (e: ChatEnd) => (ended = e) } };
}

/** A chat call's answer that the test gives when it chooses. */
function pending() {
  let answer!: (v: { streamId: string }) => void;
  const promise = new Promise<{ streamId: string }>((resolve) => (answer = resolve));
  return { promise, answer };
}

const token = (streamId: string, text: string): ApiEvent => ({ type: 'chat-token', streamId, text });
const end = (streamId: string, text: string): ChatEnd => ({ type: 'chat-end', streamId, text, tokens: 2, seconds: 1, promptTokens: 12, contextLimit: 128, error: null });

test('stream events reach the reply they belong to, even when they beat the chat answer', async () => {
  const streams = new ChatStreams();
  const a = recorder();
  const b = recorder();
  const callA = pending();
  const trackedA = streams.track(callA.promise, a.handler);
  streams.dispatch(token('A', 'early '));
  streams.dispatch(token('B', 'not yet claimed'));
  callA.answer({ streamId: 'A' });
  await trackedA;
  assert.deepEqual(a.seen, ['early ']);
  await streams.track(Promise.resolve({ streamId: 'B' }), b.handler);
  assert.deepEqual(b.seen, [], 'held events are dropped once no call is in flight');
  streams.dispatch(token('A', 'late'));
  streams.dispatch(token('B', 'b1'));
  streams.dispatch(end('A', 'early late'));
  streams.dispatch(token('A', 'after the end'));
  assert.deepEqual(a.seen, ['early ', 'late']);
  assert.equal(a.ended()?.text, 'early late');
  assert.deepEqual(b.seen, ['b1']);
  assert.equal(b.ended(), null);
});

test('a stream that ends before its chat call answers still ends', async () => {
  const streams = new ChatStreams();
  const a = recorder();
  const call = pending();
  const tracked = streams.track(call.promise, a.handler);
  streams.dispatch(token('A', 'x'));
  streams.dispatch(end('A', 'x'));
  call.answer({ streamId: 'A' });
  await tracked;
  assert.deepEqual(a.seen, ['x']);
  assert.equal(a.ended()?.text, 'x');
});

test('a failed chat call frees what was held for it', async () => {
  const streams = new ChatStreams();
  const failed = streams.track(Promise.reject(new Error('no model')), recorder().handler);
  streams.dispatch(token('Z', 'stray'));
  await assert.rejects(failed, /no model/);
  const later = recorder();
  await streams.track(Promise.resolve({ streamId: 'Z' }), later.handler);
  assert.deepEqual(later.seen, []);
});
