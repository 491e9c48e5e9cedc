// The Playground and Settings screens against a stub host (run `npm run build` first).
import assert from 'node:assert/strict';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import type { AppInfo, ApiMethod, ChatRequest, ChatStarted, ChatTargetInfo, Conversation, ConversationSummary, Settings, SettingsPatch } from '../core/api/contract';
import { samplingProblems, DEFAULT_SAMPLING_FORM } from '../renderer/src/playground/sampling-form';
import { targetKey } from '../renderer/src/playground/targets';
import { openStubbedUi, SCREENSHOTS, type UiSession } from './ui/harness';

const TARGETS: ChatTargetInfo[] = [
  { target: { kind: 'run', runId: 'run-a' }, label: 'recipes-lora', trainedTemplate: 'alpaca' },
  { target: { kind: 'model', source: 'gpt2' }, label: 'gpt2 (base)', trainedTemplate: null },
  { target: { kind: 'run', runId: 'run-b' }, label: 'support-chat', trainedTemplate: 'chatml' },
];

const SAVED: Conversation = {
  id: 41,
  target: TARGETS[2].target,
  label: TARGETS[2].label,
  createdAt: Date.UTC(2025, 0, 2, 9, 30),
  messageCount: 2,
  firstMessage: 'How do I reset my password?',
  messages: [
    { role: 'user', text: 'How do I reset my password?', createdAt: 0, timings: null },
    { role: 'assistant', text: 'Open Settings, then Account, then Reset.', createdAt: 1, timings: { tokensPerSecond: 18.4 } },
  ],
  sampling: {},
};

/** A chat host that answers `chat` at once and leaves the streaming to the test. */
function chatHost(opts: { targets?: ChatTargetInfo[]; templateWarning?: string } = {}) {
  const started: (ChatStarted & { request: ChatRequest })[] = [];
  const handler = (method: ApiMethod, request: unknown): unknown => {
    switch (method) {
      case 'appInfo':
        return INFO;
      case 'getSettings':
        return { ...SETTINGS };
      case 'listChatTargets':
        return opts.targets ?? TARGETS;
      case 'listConversations': {
        const { messages: _messages, sampling: _sampling, ...summary } = SAVED;
        return [summary satisfies ConversationSummary];
      }
      case 'getConversation':
        return SAVED;
      case 'chat': {
        const answer: ChatStarted = { conversationId: 100 + started.length, streamId: `stream-${started.length}`, templateWarning: opts.templateWarning ?? null };
        started.push({ ...answer, request: request as ChatRequest });
        return answer;
      }
      case 'stopChat':
        return undefined;
      default:
        throw new Error(`the stub host has no ${method}`);
    }
  };
  return { handler, started };
}

const INFO: AppInfo = { name: 'Tunesmith', version: '0.1.0', backend: 'native', bf16Kernel: null, platform: 'linux', versions: { node: '20.19.0', electron: '41.0.0', chrome: '140.0.0' }, host: 'electron' };
const SETTINGS: Settings = { dataDir: '/home/ada/.tunesmith', backend: 'auto', theme: 'system', hasHubToken: false };

async function until(what: string, check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function openPlayground(t: TestContext, hash: string, opts: Parameters<typeof chatHost>[0] = {}, viewport?: { width: number; height: number }) {
  const host = chatHost(opts);
  const ui = await openStubbedUi(host.handler, { hash, viewport });
  t.after(() => ui.close());
  return { host, ui, message: ui.page.getByLabel(/Message to/) };
}

/** Types a message into the shared input and sends it with Enter. */
async function send(ui: UiSession, text: string): Promise<void> {
  const message = ui.page.getByLabel(/Message to/);
  await message.fill(text);
  await message.press('Enter');
}

function pane(ui: UiSession, n: number) {
  return ui.page.getByRole('region', { name: `Pane ${n}` });
}

async function replyText(ui: UiSession, n: number): Promise<string> {
  return (await pane(ui, n).locator('.turn.assistant .text').last().textContent()) ?? '';
}

/** The sampling settings sit in a panel beside the panes, closed until asked for. */
async function openSampling(ui: UiSession): Promise<void> {
  await ui.page.locator('summary', { hasText: 'Sampling settings' }).click();
}

async function goTo(ui: UiSession, hash: string, heading: string): Promise<void> {
  await ui.page.evaluate((h) => (location.hash = h), hash);
  await ui.page.getByRole('heading', { name: heading, level: 1 }).waitFor();
}

const TWO_PANES = `/playground?targets=${targetKey(TARGETS[0].target)},${targetKey(TARGETS[1].target)}`;

test('one Send asks every pane, each on its own target, with the same text', async (t) => {
  const { host, ui, message } = await openPlayground(t, TWO_PANES);
  await pane(ui, 2).waitFor();
  assert.equal(await pane(ui, 3).count(), 0);
  await send(ui, 'Give me a soup recipe');
  await until('two chat calls', () => host.started.length === 2);
  const requests = host.started.map((s) => s.request);
  assert.deepEqual(requests.map((r) => r.text), ['Give me a soup recipe', 'Give me a soup recipe']);
  assert.deepEqual(requests.map((r) => r.target), [TARGETS[0].target, TARGETS[1].target]);
  assert.deepEqual(requests.map((r) => r.conversationId), [null, null]);
  assert.equal(await message.inputValue(), '', 'the input is cleared for the next message');
});

test('Shift+Enter adds a line instead of sending', async (t) => {
  const { host, message } = await openPlayground(t, '/playground');
  await message.fill('first line');
  await message.press('Shift+Enter');
  await message.pressSequentially('second line');
  assert.equal(await message.inputValue(), 'first line\nsecond line');
  assert.equal(host.started.length, 0);
});

test('tokens stream into the pane they belong to, and the end shows the rate; Stop stops what still streams', async (t) => {
  const { host, ui, message } = await openPlayground(t, TWO_PANES);
  await message.fill('hello');
  await ui.page.getByRole('button', { name: 'Send' }).click();
  await until('two chat calls', () => host.started.length === 2);
  await ui.page.getByRole('button', { name: 'Stop' }).waitFor();

  const second = host.started.find((s) => s.request.target.kind === 'model')!;
  const tokens = ['Hi', ' there', ',', ' friend'];
  let shown = '';
  for (const text of tokens) {
    await ui.emit({ type: 'chat-token', streamId: second.streamId, text });
    shown += text;
    await ui.page.waitForFunction(
      ([expected]) => document.querySelector('[aria-label="Conversation in pane 2"] .turn.assistant .text')?.textContent === expected,
      [shown],
    );
    assert.equal(await replyText(ui, 1), '', 'the other pane gets none of it');
  }
  assert.equal(await replyText(ui, 2), tokens.join(''));
  assert.equal(await pane(ui, 2).getByRole('log').getAttribute('aria-live'), 'polite');
  assert.equal(await pane(ui, 2).getByRole('log').getAttribute('aria-busy'), 'true', 'screen readers wait for the whole reply');

  const [count, seconds] = [tokens.length, 0.8];
  await ui.emit({ type: 'chat-end', streamId: second.streamId, text: tokens.join(''), tokens: count, seconds, promptTokens: 12, contextLimit: 128, error: null });
  await pane(ui, 2).getByText(`${(count / seconds).toFixed(1)} tokens/s`).waitFor();
  assert.equal(await pane(ui, 2).getByRole('log').getAttribute('aria-busy'), 'false');

  const first = host.started.find((s) => s.request.target.kind === 'run')!;
  await ui.page.getByRole('button', { name: 'Stop' }).click();
  await until('stopChat', () => ui.calls.some((c) => c.method === 'stopChat'));
  assert.deepEqual(
    ui.calls.filter((c) => c.method === 'stopChat').map((c) => c.request),
    [{ streamId: first.streamId }],
    'only the stream still running is stopped',
  );
  await ui.emit({ type: 'chat-end', streamId: first.streamId, text: '', tokens: 0, seconds: 0.1, promptTokens: 12, contextLimit: 128, error: { message: 'The model ran out of memory.' } });
  await pane(ui, 1).getByRole('alert').getByText('The model ran out of memory.').waitFor();
  await ui.page.getByRole('button', { name: 'Stop' }).waitFor({ state: 'detached' });

  // The next message continues each pane's own conversation.
  await send(ui, 'and another');
  await until('two more chat calls', () => host.started.length === 4);
  assert.deepEqual(
    host.started.slice(2).map((s) => [targetKey(s.request.target), s.request.conversationId]),
    host.started.slice(0, 2).map((s) => [targetKey(s.request.target), s.conversationId]),
  );
});

test('a pane defaults to the template its run trained with and warns when another is chosen', async (t) => {
  const hostWarning = 'The host thinks this template is a poor fit.';
  const { host, ui } = await openPlayground(t, `/playground?targets=${targetKey(TARGETS[0].target)}`, { templateWarning: hostWarning });
  const template = pane(ui, 1).getByLabel('Template');
  assert.equal(await template.inputValue(), TARGETS[0].trainedTemplate);
  assert.equal(await pane(ui, 1).locator('.warning').count(), 0);

  const other = 'chatml';
  assert.notEqual(other, TARGETS[0].trainedTemplate);
  await template.selectOption(other);
  await pane(ui, 1).locator('.warning').getByText(/trained with/).waitFor();

  await send(ui, 'hi');
  await until('a chat call', () => host.started.length === 1);
  assert.equal(host.started[0].request.template, other);
  await pane(ui, 1).getByText(hostWarning).waitFor();
  await ui.emit({ type: 'chat-end', streamId: host.started[0].streamId, text: 'ok', tokens: 1, seconds: 0.1, promptTokens: 12, contextLimit: 128, error: null });

  // Choosing another target brings that target's own template back.
  await pane(ui, 1).getByLabel('Chat with').selectOption(targetKey(TARGETS[2].target));
  assert.equal(await template.inputValue(), TARGETS[2].trainedTemplate);
  assert.equal(await pane(ui, 1).locator('.warning').count(), 0);
});

test('a sampling setting out of range blocks Send and says why', async (t) => {
  const { host, ui, message } = await openPlayground(t, '/playground');
  await message.fill('hello');
  const sendButton = ui.page.getByRole('button', { name: 'Send' });
  assert.equal(await sendButton.isEnabled(), true);

  await openSampling(ui);
  await ui.page.getByLabel('Top-p').fill('1.5');
  const expected = samplingProblems({ ...DEFAULT_SAMPLING_FORM, topP: 1.5 }).topP!;
  await ui.page.getByText(expected).waitFor();
  assert.equal(await ui.page.getByLabel('Top-p').getAttribute('aria-invalid'), 'true');
  assert.equal(await sendButton.isEnabled(), false);
  await ui.page.getByText(/Fix the sampling settings/).waitFor();
  await message.press('Enter');
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.equal(host.started.length, 0, 'Enter does not get around it');

  await ui.page.getByLabel('Top-p').fill('0.9');
  await ui.page.getByLabel('Seed').fill('7');
  await sendButton.click();
  await until('a chat call', () => host.started.length === 1);
  assert.equal(host.started[0].request.sampling.topP, 0.9);
  assert.equal(host.started[0].request.sampling.seed, 7);
});

test('leaving the page and coming back keeps the panes, their conversations, a half-typed message, and a reply that streamed meanwhile', async (t) => {
  const { host, ui, message } = await openPlayground(t, '/playground');
  await send(ui, 'hello');
  await until('a chat call', () => host.started.length === 1);
  await ui.emit({ type: 'chat-token', streamId: host.started[0].streamId, text: 'Hi there' });
  await pane(ui, 1).getByText('Hi there').waitFor();
  await message.fill('not sent yet');

  await goTo(ui, '#/settings', 'Settings');
  // The reply finishes while the Playground is closed.
  await ui.emit({ type: 'chat-token', streamId: host.started[0].streamId, text: ', friend' });
  await ui.emit({ type: 'chat-end', streamId: host.started[0].streamId, text: 'Hi there, friend', tokens: 4, seconds: 0.5, promptTokens: 6, contextLimit: 128, error: null });
  await goTo(ui, '#/playground', 'Playground');

  await pane(ui, 1).getByText('hello').waitFor();
  assert.equal(await replyText(ui, 1), 'Hi there, friend');
  assert.equal(await message.inputValue(), 'not sent yet');
  assert.equal(await ui.page.getByRole('region', { name: /^Pane / }).count(), 1);
  await send(ui, 'and again');
  await until('a second chat call', () => host.started.length === 2);
  assert.equal(host.started[1].request.conversationId, host.started[0].conversationId, 'the same conversation goes on');
});

test('each pane says how much of its model\'s context the conversation uses, and when it is full', async (t) => {
  const { host, ui } = await openPlayground(t, TWO_PANES);
  await send(ui, 'hello');
  await until('two chat calls', () => host.started.length === 2);
  await ui.emit({ type: 'chat-end', streamId: host.started[0].streamId, text: 'short', tokens: 14, seconds: 1, promptTokens: 12, contextLimit: 128, error: null });
  await ui.emit({ type: 'chat-end', streamId: host.started[1].streamId, text: 'long', tokens: 64, seconds: 1, promptTokens: 64, contextLimit: 128, error: null });
  await pane(ui, 1).getByText(`Context: ${12 + 14} of 128 tokens`, { exact: true }).waitFor();
  await pane(ui, 2).getByText(`Context: ${64 + 64} of 128 tokens: full, so the oldest turns are left out of what the model reads`).waitFor();
});

test('at the window\'s default size the message box stays in view below a long conversation, with the sampling settings folded away', async (t) => {
  const { host, ui } = await openPlayground(t, '/playground', {}, { width: 1100, height: 760 });
  for (let i = 0; i < 4; i++) {
    await send(ui, `question ${i}`);
    await until(`chat call ${i + 1}`, () => host.started.length === i + 1);
    const text = `answer ${i}: ${'a long line of reply text '.repeat(12)}`;
    await ui.emit({ type: 'chat-end', streamId: host.started[i].streamId, text, tokens: 60, seconds: 1, promptTokens: 20, contextLimit: 1024, error: null });
  }
  await pane(ui, 1).getByText(/^answer 3/).waitFor();
  assert.equal(await ui.page.getByLabel('Top-p').isVisible(), false, 'the sampling fields wait in their closed panel');
  await ui.page.evaluate(() => {
    window.scrollTo(0, 0);
    document.querySelector('main')?.scrollTo(0, 0);
  });
  const box = await ui.page.getByRole('button', { name: 'Send' }).boundingBox();
  assert.ok(box && box.y >= 0 && box.y + box.height <= 760, `Send is at ${JSON.stringify(box)}, outside the 760 px window`);
  await ui.page.screenshot({ path: path.join(SCREENSHOTS, 'playground-1100x760-window.png') });
  await openSampling(ui);
  assert.equal(await ui.page.getByLabel('Top-p').isVisible(), true);
  await ui.page.screenshot({ path: path.join(SCREENSHOTS, 'playground-1100x760-sampling-window.png') });
});

test('a saved conversation reopens into a pane', async (t) => {
  const { host, ui } = await openPlayground(t, '/playground');
  await ui.page.getByRole('button', { name: new RegExp(`Open conversation with ${TARGETS[2].label}`) }).click();
  await pane(ui, 1).getByText(SAVED.messages[1].text).waitFor();
  assert.deepEqual(ui.calls.find((c) => c.method === 'getConversation')?.request, { conversationId: SAVED.id });
  assert.equal(await pane(ui, 1).getByLabel('Chat with').inputValue(), targetKey(SAVED.target));
  await send(ui, 'thanks');
  await until('a chat call', () => host.started.length === 1);
  assert.equal(host.started[0].request.conversationId, SAVED.id);
});

test('with nothing to chat with the page says how to get something', async (t) => {
  const { ui, message } = await openPlayground(t, '/playground', { targets: [] });
  await ui.page.getByRole('heading', { name: 'Nothing to chat with yet' }).waitFor();
  await ui.page.getByText(/Start a run or pick a base model/).waitFor();
  assert.equal(await message.count(), 0);
});

test('playground screenshots, light and dark', async (t) => {
  const { host, ui } = await openPlayground(t, `${TWO_PANES},${targetKey(TARGETS[2].target)}`, {}, { width: 1280, height: 900 });
  await pane(ui, 3).getByLabel('Template').selectOption('human_assistant');
  await send(ui, 'Suggest a name for a bakery.');
  await until('three chat calls', () => host.started.length === 3);
  const replies = ['Try "The Rolling Pin": warm, simple and easy to remember.', 'bakery bakery bakery of the town', 'How about "Crumb & Co."?'];
  for (const [i, s] of host.started.entries()) {
    await ui.emit({ type: 'chat-token', streamId: s.streamId, text: replies[i] });
    if (i < 2) await ui.emit({ type: 'chat-end', streamId: s.streamId, text: replies[i], tokens: 14 + i, seconds: 1.1, promptTokens: 12, contextLimit: 128, error: null });
  }
  await pane(ui, 2).getByText(/tokens\/s/).waitFor();
  await ui.screenshot('playground-light');
  await ui.page.emulateMedia({ colorScheme: 'dark' });
  await ui.screenshot('playground-dark');
});

function settingsHost(initial: Partial<Settings> = {}) {
  let settings: Settings = { ...SETTINGS, ...initial };
  return (method: ApiMethod, request: unknown): unknown => {
    if (method === 'appInfo') return INFO;
    if (method === 'getSettings') return settings;
    if (method === 'updateSettings') {
      const { hubToken, ...rest } = request as SettingsPatch;
      settings = { ...settings, ...rest, ...(hubToken === undefined ? {} : { hasHubToken: hubToken !== '' }) };
      return settings;
    }
    throw new Error(`the stub host has no ${method}`);
  };
}

async function openSettings(t: TestContext, initial: Partial<Settings> = {}, viewport?: { width: number; height: number }): Promise<UiSession> {
  const ui = await openStubbedUi(settingsHost(initial), { hash: '/settings', viewport });
  t.after(() => ui.close());
  return ui;
}

test('a theme choice applies at once and is saved', async (t) => {
  const ui = await openSettings(t);
  const theme = () => ui.page.evaluate(() => document.documentElement.dataset.theme ?? null);
  await ui.page.getByLabel('Dark').check();
  await ui.page.waitForFunction(() => document.documentElement.dataset.theme === 'dark');
  await until('updateSettings', () => ui.calls.some((c) => c.method === 'updateSettings'));
  assert.deepEqual(ui.calls.filter((c) => c.method === 'updateSettings').map((c) => c.request), [{ theme: 'dark' }]);
  await ui.page.getByLabel('Same as the system').check();
  await until('a second updateSettings', () => ui.calls.filter((c) => c.method === 'updateSettings').length === 2);
  assert.equal(await theme(), null, 'system removes the override');
});

test('the engine choice is saved and explained', async (t) => {
  const ui = await openSettings(t);
  await ui.page.getByLabel('Engine for training and chat').selectOption('wasm');
  await until('updateSettings', () => ui.calls.some((c) => c.method === 'updateSettings'));
  assert.deepEqual(ui.calls.find((c) => c.method === 'updateSettings')?.request, { backend: 'wasm' });
  await ui.page.getByText(/applies to runs and chats started after it/).waitFor();
  await ui.page.getByRole('status').getByText(/Saved/).waitFor();
});

test('Settings says why the GPU is not used, and what the GPU choice changes', async (t) => {
  // As the desktop host answers: Automatic refuses a software adapter, the GPU choice takes it.
  const base = settingsHost();
  let backend: Settings['backend'] = 'auto';
  const gpu = (b: Settings['backend']) => (b === 'webgpu' ? 'swiftshader (google swiftshader), Chromium, software; memory: RAM, buffers up to 1024 MiB, bindings up to 1024 MiB' : 'not used: the only WebGPU adapter is a software one (swiftshader), slower than the CPU');
  const ui = await openStubbedUi(
    (method, request) => {
      if (method === 'appInfo') return { ...INFO, gpu: gpu(backend) };
      if (method === 'updateSettings') backend = (request as SettingsPatch).backend ?? backend;
      return base(method, request);
    },
    { hash: '/settings' },
  );
  t.after(() => ui.close());
  await ui.page.getByText(`GPU: ${gpu('auto')}.`).waitFor();
  await ui.page.getByLabel('Engine for training and chat').selectOption('webgpu');
  await ui.page.getByText(`GPU: ${gpu('webgpu')}.`).waitFor();
  assert.equal(await ui.page.getByText(/GPU: not used/).count(), 0, 'the old reason is gone');
});

test('the Hub token field never shows a stored token', async (t) => {
  const secret = 'hf_abcdefghijklmnopqrstuvwxyz012345';
  const ui = await openSettings(t, { hasHubToken: true });
  const field = ui.page.getByLabel('Replace it with');
  await ui.page.getByText('A token is saved.').waitFor();
  assert.equal(await field.getAttribute('type'), 'password');
  assert.equal(await field.inputValue(), '');

  await field.fill(secret);
  await ui.page.getByRole('button', { name: 'Save token' }).click();
  await until('updateSettings', () => ui.calls.some((c) => c.method === 'updateSettings'));
  assert.deepEqual(ui.calls.find((c) => c.method === 'updateSettings')?.request, { hubToken: secret });
  await ui.page.getByText('Token saved.').waitFor();
  assert.equal(await field.inputValue(), '', 'the field is emptied once saved');
  const shown = await ui.page.evaluate(() => document.body.innerText + Array.from(document.querySelectorAll('input'), (i) => i.value).join(' '));
  assert.equal(shown.includes(secret), false);

  await ui.page.getByRole('button', { name: 'Remove token' }).click();
  await ui.page.getByText('No token saved.').waitFor();
  assert.deepEqual(ui.calls.filter((c) => c.method === 'updateSettings').at(-1)?.request, { hubToken: '' });
});

test('settings screenshots, light and dark', async (t) => {
  const ui = await openSettings(t, { hasHubToken: true }, { width: 1200, height: 900 });
  await ui.page.getByRole('heading', { name: 'About' }).waitFor();
  assert.ok(await ui.page.getByText(INFO.versions.electron!).isVisible());
  await ui.screenshot('settings-light');
  await ui.page.emulateMedia({ colorScheme: 'dark' });
  await ui.screenshot('settings-dark');
});
