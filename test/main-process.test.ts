// The built Electron main process (out/main/index.js, as `npm start` runs it) under plain Node,
// with `electron` resolved to test/electron/fake-electron.ts: it registers its app:// scheme,
// opens the window under the security settings, serves only the built renderer, denies every
// permission, answers the API over IPC through core/app for its own page and nobody else,
// keeps the page from navigating, and on quit stops a training run at a checkpoint first.
// Needs `npm run build` (npm test runs it first).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { register } from 'node:module';
import path from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { CHANNEL_PREFIX, EVENT_CHANNEL, type ApiEvent, type ApiResult, type AppInfo, type RunSummary } from '../core/api/contract';
import { GPU_WINDOW_PORT_CHANNEL, type GpuWindowReport } from '../core/app/gpu-window-protocol';
import { openStore } from '../core/store/index';
import { fixture, tempDir } from './helpers';

const OUT = path.resolve(import.meta.dirname, '../out');
const MAIN_BUNDLE = path.join(OUT, 'main/index.js');
const FAKE = pathToFileURL(path.join(import.meta.dirname, 'electron/fake-electron.ts')).href;
const ALPACA = path.resolve(import.meta.dirname, '../examples/data/alpaca-train.json');

async function until(what: string, check: () => boolean, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

test('the main process starts, serves its page securely, answers its own page over IPC, and quits after stopping a run at a checkpoint', async (t) => {
  assert.ok(fs.existsSync(MAIN_BUNDLE), `${MAIN_BUNDLE} not found: run \`npm run build\` first`);
  const home = tempDir(t);
  process.env.TUNESMITH_HOME = home;
  register(pathToFileURL(path.join(import.meta.dirname, 'electron/register.mjs')), { data: { fakeUrl: FAKE } });
  const { app, BrowserWindow, WebFrameMain, fake } = (await import(FAKE)) as typeof import('./electron/fake-electron');
  // A failed assertion must not leave a worker holding this process open.
  t.after(() => fake.utilityProcesses.forEach((u) => u.process.kill()));
  await import(pathToFileURL(MAIN_BUNDLE).href);

  // Before ready: only the scheme's privileges, which Electron accepts at no other time.
  assert.deepEqual(fake.privileged, [{ scheme: 'app', privileges: { standard: true, secure: true, corsEnabled: true, supportFetchAPI: true } }]);
  assert.equal(BrowserWindow.getAllWindows().length, 0);

  // The fake runs no renderer, so the GPU window's preload never speaks: this answers for it as
  // it would on a computer without a GPU (test/gpu-window.test.ts covers the window itself).
  const answered = new Set<object>();
  const answerGpuWindows = setInterval(() => {
    for (const w of BrowserWindow.getAllWindows()) {
      const posted = w.webContents.posted.find((p) => p.channel === GPU_WINDOW_PORT_CHANNEL);
      if (!posted || answered.has(w)) continue;
      answered.add(w);
      posted.transfer[0].nodePort.postMessage({ kind: 'no-gpu', reason: 'no GPU in this test' } satisfies GpuWindowReport);
    }
  }, 20);
  t.after(() => clearInterval(answerGpuWindows));
  app.becomeReady();
  await until('the window to show', () => BrowserWindow.getAllWindows()[0]?.visible === true);
  const [window] = BrowserWindow.getAllWindows();
  assert.equal(BrowserWindow.getAllWindows().length, 1, 'the app window only, until the GPU is asked about');
  assert.equal(window.options.show, false, 'hidden until painted');
  const prefs = window.options.webPreferences!;
  assert.equal(prefs.contextIsolation, true);
  assert.equal(prefs.nodeIntegration, false);
  assert.equal(prefs.sandbox, true);
  assert.equal(prefs.devTools, false, 'no DevTools in an installed app');
  assert.ok(fs.existsSync(prefs.preload as string), `preload ${prefs.preload} exists`);

  // The page comes over app://, from out/renderer, and nothing else does.
  const contents = window.webContents;
  assert.equal(contents.getURL(), 'app://tunesmith/index.html');
  assert.equal(fake.loaded[0].body, fs.readFileSync(path.join(OUT, 'renderer/index.html'), 'utf8'));
  assert.match(fake.loaded[0].contentType!, /^text\/html/);
  const script = /src="\.\/(assets\/[^"]+\.js)"/.exec(fake.loaded[0].body)![1];
  const asset = await fake.fetch(`app://tunesmith/${script}`);
  assert.equal(asset.status, 200);
  assert.match(asset.headers.get('content-type')!, /javascript/);
  for (const outside of ['app://tunesmith/../main/index.js', 'app://tunesmith/%2e%2e/main/index.js', 'app://tunesmith/..%2fpreload/index.cjs', 'app://other/index.html', 'app://tunesmith/assets/']) {
    assert.equal((await fake.fetch(outside)).status, 404, outside);
  }

  // Electron grants what nobody handles; the app handles everything by refusing.
  for (const permission of ['media', 'geolocation', 'notifications', 'clipboard-read', 'openExternal']) {
    assert.equal(await fake.requestPermission(contents, permission), false, permission);
    assert.equal(fake.checkPermission(contents, permission), false, permission);
  }

  // An API call from the page's top frame goes through core/app; any other frame is refused.
  const info = (await fake.invoke(contents, contents.mainFrame, `${CHANNEL_PREFIX}appInfo`)) as ApiResult<AppInfo>;
  assert.ok(info.ok, JSON.stringify(info));
  assert.equal(info.value.host, 'electron');
  assert.equal(info.value.name, 'Tunesmith');
  assert.equal(info.value.gpu, 'not used: no GPU in this test', "the GPU window's answer, not the main process's own engine's");
  const listed = (await fake.invoke(contents, contents.mainFrame, `${CHANNEL_PREFIX}listRuns`)) as ApiResult<RunSummary[]>;
  assert.deepEqual(listed, { ok: true, value: [] });
  const invalid = (await fake.invoke(contents, contents.mainFrame, `${CHANNEL_PREFIX}getRun`, { runId: 7 })) as ApiResult<never>;
  assert.ok(!invalid.ok && /runId/.test(invalid.error.message), JSON.stringify(invalid));
  for (const frame of [new WebFrameMain('app://tunesmith/index.html'), new WebFrameMain('https://example.com/'), null]) {
    const refused = (await fake.invoke(contents, frame as InstanceType<typeof WebFrameMain>, `${CHANNEL_PREFIX}listRuns`)) as ApiResult<never>;
    assert.ok(!refused.ok && /only its own page/.test(refused.error.message), `${frame?.url}: ${JSON.stringify(refused)}`);
  }

  // The page cannot be replaced: web links go to the system browser, anything else nowhere.
  assert.equal(fake.navigate(contents, 'https://example.com/docs'), false);
  assert.equal(fake.navigate(contents, 'file:///etc/passwd'), false);
  assert.equal(contents.getURL(), 'app://tunesmith/index.html');
  assert.deepEqual(contents.windowOpenHandler!({ url: 'https://huggingface.co/gpt2', frameName: '', features: '', disposition: 'new-window' }), { action: 'deny' });
  assert.deepEqual(fake.openedExternally, ['https://example.com/docs', 'https://huggingface.co/gpt2']);

  // A run trains in a utility process; quitting holds until it stopped at a checkpoint.
  const started = (await fake.invoke(contents, contents.mainFrame, `${CHANNEL_PREFIX}startRun`, {
    name: 'quit mid-run',
    config: { model: fixture('gpt2-tiny'), data: { train: ALPACA, max_length: 64 }, per_device_train_batch_size: 4, num_train_epochs: 40, logging_steps: 1, save_steps: 1000, seed: 5 },
  })) as ApiResult<RunSummary>;
  assert.ok(started.ok, JSON.stringify(started));
  const runId = started.value.id;
  const events = () => contents.sent.filter((s) => s.channel === EVENT_CHANNEL).map((s) => s.args[0] as ApiEvent);
  const trainEvents = () => events().flatMap((e) => (e.type === 'run-event' && e.runId === runId ? [e.event] : []));
  await until('step 2', () => trainEvents().some((e) => e.event === 'step' && e.step >= 2));
  assert.equal(fake.utilityProcesses[0].serviceName, 'Tunesmith training');
  const logLines = events().flatMap((e) => (e.type === 'run-log' && e.runId === runId ? [e.line] : []));
  assert.ok(logLines.includes('GPU not used: no GPU in this test; training on the CPU'), `the run's log says why it is on the CPU: ${logLines.slice(0, 5).join(' | ')}`);
  assert.equal(fake.utilityProcesses[0].modulePath, path.join(OUT, 'main/training-worker.js'));

  let quit = false;
  app.once('quit', () => (quit = true));
  app.quit();
  assert.equal(quit, false, 'the quit waits for the run');
  await until('the app to quit', () => quit);
  assert.equal(await fake.utilityProcesses[0].exited, 0);
  assert.ok(window.isDestroyed());

  const steps = trainEvents().flatMap((e) => (e.event === 'step' ? [e.step] : []));
  const last = trainEvents().at(-1)!;
  assert.ok(last.event === 'checkpoint' && last.step === steps.at(-1), JSON.stringify(last));
  assert.ok(steps.at(-1)! < 40 * 5, 'stopped before the end');
  const store = openStore(path.join(home, 'tunesmith.db'));
  try {
    assert.equal(store.getRun(runId)!.status, 'stopped');
    assert.equal(store.lastCheckpoint(runId)!.step, steps.at(-1));
  } finally {
    store.close();
  }
});
