// Request validation and dispatch: what every host runs before a service sees a payload.
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import { test } from 'node:test';
import { API_METHODS, type ApiErrorInfo, type ApiMethod, type ApiRequest } from '../core/api/contract';
import { handleApiRequest } from '../core/api/dispatch';
import { apiError, errorInfo } from '../core/api/errors';
import { validateRequest } from '../core/api/validate';
import { DataError } from '../core/data/errors';
import { ConfigFieldError } from '../core/train/config';
import { fakeHandle } from './fake-service';

const DRAFT = {
  model: '/models/gpt2',
  method: 'lora',
  lora: { r: 4, alpha: 8, target_modules: ['c_attn'], init_adapter: null },
  data: { train: '/data/alpaca.json', validation: null, template: 'alpaca', max_length: 128, packing: false },
  learning_rate: 1e-4,
  lr_scheduler_type: 'cosine',
  dropout: null,
  sample_prompts: ['Hello'],
} as const satisfies ApiRequest<'estimateMemory'>['config'];

/** One well-formed request per member; typed, so a new member cannot be forgotten here. */
const VALID: { [M in ApiMethod]: ApiRequest<M> } = {
  appInfo: undefined,
  listCatalog: undefined,
  inspectModel: { source: 'gpt2' },
  pullModel: { modelId: 'bigscience/bloom-560m', revision: 'main' },
  cancelPull: { downloadId: 'd1' },
  previewData: { path: '/data/a.json', model: 'gpt2', format: null, template: 'alpaca', maxLength: 256, trainOnPrompt: false, packing: true, limit: 5 },
  sampleData: undefined,
  estimateMemory: { config: DRAFT },
  checkRun: { config: DRAFT },
  measureWarmup: { config: DRAFT },
  startRun: { name: 'first', config: DRAFT },
  stopRun: { runId: 'r1' },
  resumeRun: { runId: 'r1' },
  extendRun: { runId: 'r1', extraEpochs: 1.5 },
  exportRun: { runId: 'r1', kind: 'merged', destination: '/tmp/out' },
  handOffRun: { from: { kind: 'draft', name: 'bigger', config: DRAFT }, destination: '/tmp/job' },
  importRun: { folder: '/tmp/job/output' },
  listRuns: undefined,
  getRun: { runId: 'r1' },
  compareRuns: { runIds: ['r1', 'r2'] },
  tagRun: { runId: 'r1', tag: 'best' },
  untagRun: { runId: 'r1', tag: 'best' },
  runFiles: { runId: 'r1' },
  deleteRun: { runId: 'r1', removeFiles: true },
  listChatTargets: undefined,
  chat: {
    conversationId: null,
    target: { kind: 'run', runId: 'r1' },
    text: 'Hi there',
    template: 'model',
    sampling: { greedy: false, temperature: 0.7, topK: 50, topP: 0.9, repetitionPenalty: 1.1, maxNewTokens: 64, seed: 3 },
  },
  stopChat: { streamId: 's1' },
  listConversations: undefined,
  getConversation: { conversationId: 7 },
  getSettings: undefined,
  updateSettings: { theme: 'dark', hubToken: '' },
  pickPath: { kind: 'folder', title: 'Choose' },
  showFolder: { path: '/tmp/export' },
};

function rejection(method: ApiMethod, payload: unknown): ApiErrorInfo {
  try {
    validateRequest(method, payload);
  } catch (error) {
    return errorInfo(error);
  }
  assert.fail(`${method} accepted ${JSON.stringify(payload)}`);
}

function draftWith(patch: Record<string, unknown>): unknown {
  return { config: { ...DRAFT, ...patch } };
}

test('every member accepts a well-formed request and returns an equal copy', () => {
  for (const method of API_METHODS) {
    const checked = validateRequest(method, VALID[method]);
    assert.deepEqual(checked, VALID[method], method);
    if (VALID[method] !== undefined) assert.notEqual(checked, VALID[method], `${method} returns a copy`);
  }
});

test('every member with a request refuses an unknown key, naming it', () => {
  for (const method of API_METHODS) {
    const valid = VALID[method];
    if (valid === undefined) continue;
    const info = rejection(method, { ...valid, extra: 1 });
    assert.equal(info.field, 'extra', method);
    assert.equal(info.message, 'extra is not a known field');
  }
});

test('members without a request accept nothing or null, and refuse anything else', () => {
  assert.equal(validateRequest('listRuns', null), undefined);
  assert.match(rejection('listRuns', {}).message, /takes no request/);
});

test('a wrong type deep in a training config names the dotted field', () => {
  const info = rejection('estimateMemory', draftWith({ lora: { r: 'eight' } }));
  assert.deepEqual(info, { message: 'config.lora.r must be a number', field: 'config.lora.r' });
  assert.equal(rejection('startRun', { name: 'x', config: { ...DRAFT, data: { ...DRAFT.data, packing: 'yes' } } }).field, 'config.data.packing');
  assert.equal(rejection('measureWarmup', draftWith({ sample_prompts: ['ok', 3] })).field, 'config.sample_prompts[1]');
  assert.equal(rejection('estimateMemory', draftWith({ lr_scheduler_type: 'sawtooth' })).message, 'config.lr_scheduler_type must be one of linear, cosine, constant, constant_with_warmup');
});

test('a training config may not set output_dir nor misspell a key', () => {
  assert.equal(rejection('startRun', { name: 'x', config: { ...DRAFT, output_dir: '/tmp' } }).field, 'config.output_dir');
  assert.equal(rejection('startRun', { name: 'x', config: { ...DRAFT, data: { trian: '/a.json' } } }).field, 'config.data.trian');
});

test('required fields are required; value ranges are left to the service', () => {
  assert.deepEqual(rejection('estimateMemory', { config: { model: 'gpt2', data: {} } }), { message: 'config.data.train is required', field: 'config.data.train' });
  const negative = validateRequest('estimateMemory', draftWith({ learning_rate: -1 }));
  assert.equal(negative.config.learning_rate, -1);
});

test('paths with a NUL byte and oversized strings are refused', () => {
  assert.deepEqual(rejection('inspectModel', { source: '/models/gpt2\0/etc/passwd' }), { message: 'source must not contain a NUL character', field: 'source' });
  const long = 'x'.repeat(5000);
  assert.match(rejection('exportRun', { runId: 'r1', kind: 'hf', destination: long }).message, /^destination must be at most 4096 characters \(got 5000\)$/);
  assert.equal(rejection('getRun', { runId: long }).field, 'runId');
  assert.equal(rejection('compareRuns', { runIds: Array.from({ length: 1001 }, (_, i) => `r${i}`) }).field, 'runIds');
});

test('numbers must be finite and whole where the contract counts things', () => {
  assert.equal(rejection('extendRun', { runId: 'r1', extraEpochs: Number.NaN }).field, 'extraEpochs');
  assert.equal(rejection('getConversation', { conversationId: 1.5 }).message, 'conversationId must be a whole number');
  assert.equal(rejection('extendRun', { runId: 'r1', extraEpochs: '2' }).message, 'extraEpochs must be a number');
  assert.deepEqual(rejection('previewData', { ...VALID.previewData, limit: -1 }), { message: 'limit must be 0 or more', field: 'limit' });
  assert.equal(validateRequest('previewData', { ...VALID.previewData, limit: 0 }).limit, 0);
});

test('a chat target is checked by its kind', () => {
  const chat = VALID.chat;
  assert.equal(rejection('chat', { ...chat, target: { kind: 'file', path: '/x' } }).message, 'target.kind must be one of model, run');
  assert.equal(rejection('chat', { ...chat, target: { kind: 'model', runId: 'r1' } }).field, 'target.runId');
  assert.deepEqual(validateRequest('chat', { ...chat, target: { kind: 'model', source: 'gpt2' } }).target, { kind: 'model', source: 'gpt2' });
});

test('a __proto__ key from JSON is refused, not merged into the prototype', () => {
  const info = rejection('getRun', JSON.parse('{"runId": "r1", "__proto__": {"polluted": true}}'));
  assert.equal(info.field, '__proto__');
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

test('the root must be an object where a request is expected', () => {
  assert.deepEqual(rejection('getRun', ['r1']), { message: 'the request must be an object' });
  assert.deepEqual(rejection('getRun', undefined), { message: 'the request must be an object' });
});

// ---------------------------------------------------------------- dispatch

test('dispatch calls the member with the checked request and carries its value', async () => {
  const { service, calls } = fakeHandle({ getRun: (req) => ({ echoed: req }) });
  assert.deepEqual(await handleApiRequest(service, 'getRun', { runId: 'r1' }), { ok: true, value: { echoed: { runId: 'r1' } } });
  assert.deepEqual(calls, [{ method: 'getRun', request: { runId: 'r1' } }]);
});

test('a void answer travels as null', async () => {
  const { service } = fakeHandle();
  assert.deepEqual(await handleApiRequest(service, 'stopRun', { runId: 'r1' }), { ok: true, value: null });
});

test('an unknown method or a malformed payload never reaches the service', async () => {
  const { service, calls } = fakeHandle();
  for (const method of ['deleteEverything', 'constructor', '__proto__']) {
    const result = await handleApiRequest(service, method, {});
    assert.equal(result.ok, false);
    assert.match(!result.ok ? result.error.message : '', new RegExp(`no API call named "${method}"`));
  }
  assert.deepEqual(await handleApiRequest(service, 'tagRun', { runId: 'r1', tag: 5 }), { ok: false, error: { message: 'tag must be a string', field: 'tag' } });
  assert.deepEqual(calls, []);
});

test('errors written for users keep their message; the stack is the detail', async () => {
  const dataError = new DataError('/data/a.json line 3: missing "output"');
  const configError = new ConfigFieldError('config: "lora.r" must be a whole number > 0 (got 0)');
  for (const thrown of [dataError, configError]) {
    const { service } = fakeHandle({ previewData: () => Promise.reject(thrown) });
    const result = await handleApiRequest(service, 'previewData', VALID.previewData);
    assert.deepEqual(result, { ok: false, error: { message: thrown.message, detail: thrown.stack } });
  }
});

test('a bug in a service reads as an internal error, its own text kept in the detail', async () => {
  const { service } = fakeHandle({
    listRuns: () => (undefined as unknown as { x: number }).x,
  });
  const result = await handleApiRequest(service, 'listRuns', undefined);
  assert.ok(!result.ok);
  assert.match(result.error.message, /internal error/);
  assert.match(result.error.detail ?? '', /TypeError: Cannot read properties of undefined/);
});

test('a missing file reads in plain words with its path', async () => {
  const { service } = fakeHandle({ inspectModel: () => fs.readFile('/no/such/model/config.json') });
  const result = await handleApiRequest(service, 'inspectModel', { source: '/no/such/model' });
  assert.ok(!result.ok);
  assert.equal(result.error.message, 'No such file or folder: /no/such/model/config.json');
  assert.match(result.error.detail ?? '', /ENOENT/);
});

test('an apiError from a service arrives unchanged, field included', async () => {
  const info = { message: 'That run is still training', field: 'runId' };
  const { service } = fakeHandle({ deleteRun: () => Promise.reject(apiError(info)) });
  assert.deepEqual(await handleApiRequest(service, 'deleteRun', { runId: 'r1', removeFiles: false }), { ok: false, error: info });
});
