// The desktop app's GPU window from the main process's side (main/gpu-window.ts), under plain
// Node with `electron` resolved to test/electron/fake-electron.ts: the window's preferences and
// page, navigation refused, the MessagePort wiring both ways, and the choice between the window
// and the CPU utility process (with the reason in the run's log). The window's own side is
// core/app/gpu-window-worker.ts, run here on a Node MessagePort as far as it goes without a GPU;
// the engine on Chromium's WebGPU is test/webgpu-chromium.test.ts. Needs `npm run build` (the page).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { register } from 'node:module';
import path from 'node:path';
import { describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { MessageChannel } from 'node:worker_threads';
import type { GpuWindowReport, GpuWindowStart } from '../core/app/gpu-window-protocol';
import type { ProcessLauncher, WorkerProcess } from '../core/app/context';

const OUT = path.resolve(import.meta.dirname, '../out');
const FAKE = pathToFileURL(path.join(import.meta.dirname, 'electron/fake-electron.ts')).href;
register(pathToFileURL(path.join(import.meta.dirname, 'electron/register.mjs')), { data: { fakeUrl: FAKE } });
const { BrowserWindow, fake } = (await import(FAKE)) as typeof import('./electron/fake-electron');
const { gpuWindowLauncher, GPU_WINDOW_URL, isGpuWindow } = await import('../main/gpu-window');
const { serveAppScheme } = await import('../main/app-protocol');
const { GPU_WINDOW_PORT_CHANNEL } = await import('../core/app/gpu-window-protocol');
serveAppScheme(path.join(OUT, 'renderer'));

type FakeWindow = InstanceType<typeof BrowserWindow>;

/** What a window reports of its adapter for the memory estimate. */
const LIMITS = { software: false, memoryBytes: 8 * 2 ** 30, maxStorageBufferBindingSize: 2 ** 30 };

/** A CPU launcher that records what it was asked for and what it was sent. */
function fakeCpu() {
  const started: { worker: string; env: Record<string, string> | undefined; sent: unknown[]; killed: boolean }[] = [];
  const launcher: ProcessLauncher = (worker, env) => {
    const record = { worker, env, sent: [] as unknown[], killed: false };
    started.push(record);
    return { pid: 1, send: (m) => void record.sent.push(m), onMessage: () => {}, onStderrLine: () => {}, onExit: () => {}, kill: () => void (record.killed = true) };
  };
  return { launcher, started };
}

/** What a worker's user (the training manager) would see of it. */
function watch(worker: WorkerProcess) {
  const seen = { messages: [] as unknown[], lines: [] as string[], exits: [] as (number | null)[] };
  worker.onMessage((m) => seen.messages.push(m));
  worker.onStderrLine((l) => seen.lines.push(l));
  worker.onExit((code) => seen.exits.push(code));
  return seen;
}

const newestWindow = (): FakeWindow => BrowserWindow.getAllWindows().at(-1)!;
const tick = () => new Promise((resolve) => setTimeout(resolve, 20));

/** The page loaded, the window's end of the channel as its preload receives it, and what came with it. */
async function windowSide(window: FakeWindow): Promise<{ start: GpuWindowStart; port: import('node:worker_threads').MessagePort; report(r: GpuWindowReport): void; received: unknown[] }> {
  while (!window.webContents.posted.length) await tick();
  const [{ channel, message, transfer }] = window.webContents.posted;
  assert.equal(channel, GPU_WINDOW_PORT_CHANNEL);
  assert.equal(transfer.length, 1, 'one port, transferred');
  const port = transfer[0].nodePort;
  const received: unknown[] = [];
  port.on('message', (m) => received.push(m));
  return { start: message as GpuWindowStart, port, report: (r) => port.postMessage(r), received };
}

async function until(what: string, check: () => boolean): Promise<void> {
  for (let i = 0; i < 250 && !check(); i++) await tick();
  assert.ok(check(), `timed out waiting for ${what}`);
}

describe('the GPU window (main process side)', { skip: fs.existsSync(path.join(OUT, 'renderer/gpu-worker.html')) ? false : 'run `npm run build` first (out/renderer/gpu-worker.html)' }, () => {
  test('is hidden, has Node only in its preload, no DevTools when packaged, loads the bundled page and never leaves it', async () => {
    const { launcher } = fakeCpu();
    const gpu = gpuWindowLauncher(launcher);
    const worker = gpu.launcher('training', {});
    const window = newestWindow();
    const side = await windowSide(window);
    assert.equal(window.options.show, false);
    assert.ok(isGpuWindow(window as never), 'known as a GPU window, which closing the app window does not wait for');
    assert.ok(!isGpuWindow(new BrowserWindow() as never));
    const prefs = window.options.webPreferences!;
    assert.equal(prefs.nodeIntegration, true);
    assert.equal(prefs.contextIsolation, true, 'Node in the preload only, and its dynamic imports allowed');
    assert.equal(prefs.sandbox, false);
    assert.equal(prefs.nodeIntegrationInSubFrames, false);
    assert.equal(prefs.webviewTag, false);
    assert.equal(prefs.devTools, false, 'the fake app is packaged');
    assert.equal(prefs.backgroundThrottling, false, 'a hidden window would run its timers once a second');
    assert.equal(path.basename(prefs.preload as string), 'gpu-worker.mjs');
    assert.ok(fs.existsSync(path.join(OUT, 'main/gpu-worker.mjs')), 'the build puts the preload beside the main bundle');
    assert.equal(window.webContents.getURL(), 'app://tunesmith/gpu-worker.html');
    assert.equal(GPU_WINDOW_URL, 'app://tunesmith/gpu-worker.html');
    const page = fake.loaded.find((l) => l.url === GPU_WINDOW_URL)!;
    assert.equal(page.body, fs.readFileSync(path.join(OUT, 'renderer/gpu-worker.html'), 'utf8'));
    assert.doesNotMatch(page.body, /<script/i, 'the page runs no code of its own');
    assert.match(page.body, /default-src 'none'/);

    // Every way out is refused, and nothing is handed to the system browser either.
    assert.equal(fake.navigate(window.webContents, 'https://example.com/'), false);
    assert.equal(fake.navigate(window.webContents, 'app://tunesmith/index.html'), false);
    assert.deepEqual(window.webContents.windowOpenHandler!({ url: 'https://example.com/', frameName: '', features: '', disposition: 'new-window' }), { action: 'deny' });
    for (const name of ['will-redirect', 'will-attach-webview']) {
      const event = { defaultPrevented: false, preventDefault() { this.defaultPrevented = true; } };
      window.webContents.emit(name, event, 'https://example.com/');
      assert.ok(event.defaultPrevented, `${name} refused`);
    }
    assert.deepEqual(fake.openedExternally, []);
    assert.deepEqual(side.start, { worker: 'training', env: {}, allowSoftware: false, probeOnly: false });
    // Killed before the window said whether it has a GPU: the window closes and nothing else starts.
    const seen = watch(worker);
    worker.kill();
    assert.deepEqual(seen.exits, [null]);
    assert.ok(window.isDestroyed());
    side.port.close();
  });

  test("with a GPU: commands reach the window over the port, its reports come back as a worker's, and its exit closes it", async () => {
    const cpu = fakeCpu();
    const gpu = gpuWindowLauncher(cpu.launcher);
    const worker = gpu.launcher('training', { TUNESMITH_BACKEND: 'webgpu' });
    const seen = watch(worker);
    // The manager sends its start command at once; it waits until the window has its GPU.
    worker.send({ type: 'start', mode: 'warmup' });
    const window = newestWindow();
    const side = await windowSide(window);
    assert.deepEqual(side.start, { worker: 'training', env: { TUNESMITH_BACKEND: 'webgpu' }, allowSoftware: true, probeOnly: false });
    await tick();
    assert.deepEqual(side.received, [], 'nothing before the GPU is known');
    side.report({ kind: 'gpu', adapter: 'Test GPU (test vendor), Chromium', limits: LIMITS });
    await until('the start command', () => side.received.length === 1);
    assert.deepEqual(side.received, [{ type: 'start', mode: 'warmup' }]);
    assert.equal(worker.pid, window.webContents.getOSProcessId());
    worker.send({ type: 'stop' });
    side.report({ kind: 'message', message: { type: 'event', event: { event: 'log', message: 'hello' } } });
    side.report({ kind: 'stderr', line: 'a warning' });
    side.report({ kind: 'message', message: { type: 'ended', status: 'stopped' } });
    side.report({ kind: 'exit', code: 0 });
    await until('the exit', () => seen.exits.length === 1);
    assert.deepEqual(side.received.at(-1), { type: 'stop' });
    assert.deepEqual(seen.messages, [{ type: 'event', event: { event: 'log', message: 'hello' } }, { type: 'ended', status: 'stopped' }]);
    assert.deepEqual(seen.lines, ['training on the GPU: Test GPU (test vendor), Chromium', 'a warning']);
    assert.deepEqual(seen.exits, [0]);
    assert.ok(window.isDestroyed(), 'the window is closed when its worker is done');
    assert.deepEqual(cpu.started, [], 'no CPU process');
    side.port.close();
  });

  test('Automatic without a hardware GPU: the CPU process trains, told what was sent, and the run log says why', async () => {
    const cpu = fakeCpu();
    const gpu = gpuWindowLauncher(cpu.launcher);
    const worker = gpu.launcher('training', {});
    const seen = watch(worker);
    worker.send({ type: 'start', mode: 'warmup' });
    const window = newestWindow();
    const side = await windowSide(window);
    side.report({ kind: 'no-gpu', reason: 'the only WebGPU adapter is a software one (swiftshader), slower than the CPU' });
    await until('the CPU process', () => cpu.started.length === 1);
    assert.deepEqual(cpu.started[0], { worker: 'training', env: {}, sent: [{ type: 'start', mode: 'warmup' }], killed: false });
    assert.deepEqual(seen.lines, ['GPU not used: the only WebGPU adapter is a software one (swiftshader), slower than the CPU; training on the CPU']);
    assert.ok(window.isDestroyed());
    side.port.close();

    // Remembered: the next run goes straight to the CPU, with the same line, and no window opens.
    const windows = BrowserWindow.getAllWindows().length;
    const next = watch(gpu.launcher('training', {}));
    assert.equal(cpu.started.length, 2);
    assert.equal(BrowserWindow.getAllWindows().length, windows);
    assert.deepEqual(next.lines, seen.lines);
    assert.deepEqual(await gpu.findGpu({}), { notUsed: 'the only WebGPU adapter is a software one (swiftshader), slower than the CPU' });
  });

  test("warnings the engine prints before the window reports its GPU reach the run's log, in the order printed", async () => {
    const cpu = fakeCpu();
    const gpu = gpuWindowLauncher(cpu.launcher);
    const seen = watch(gpu.launcher('training', { TUNESMITH_BACKEND: 'webgpu' }));
    const side = await windowSide(newestWindow());
    side.report({ kind: 'stderr', line: 'tfjs: a start-up warning' });
    side.report({ kind: 'stderr', line: 'its second line' });
    side.report({ kind: 'gpu', adapter: 'Test GPU', limits: LIMITS });
    side.report({ kind: 'stderr', line: 'a warning while training' });
    await until('the lines', () => seen.lines.length === 4);
    assert.deepEqual(seen.lines, ['tfjs: a start-up warning', 'its second line', 'training on the GPU: Test GPU', 'a warning while training']);
    side.port.close();

    // Falling back to the CPU, what the window printed is kept too: it may say why it found no GPU.
    const fallback = watch(gpuWindowLauncher(cpu.launcher).launcher('training', {}));
    const other = await windowSide(newestWindow());
    other.report({ kind: 'stderr', line: 'Dawn: the Vulkan driver is too old' });
    other.report({ kind: 'no-gpu', reason: 'no hardware adapter' });
    await until('the CPU process', () => cpu.started.length === 1);
    assert.deepEqual(fallback.lines, ['Dawn: the Vulkan driver is too old', 'GPU not used: no hardware adapter; training on the CPU']);
    other.port.close();
  });

  test('the GPU chosen but none can be used: the run fails with the reason instead of quietly training on the CPU', async () => {
    const cpu = fakeCpu();
    const gpu = gpuWindowLauncher(cpu.launcher);
    const seen = watch(gpu.launcher('training', { TUNESMITH_BACKEND: 'webgpu' }));
    const side = await windowSide(newestWindow());
    side.report({ kind: 'no-gpu', reason: 'Chromium found no WebGPU adapter' });
    await until('the outcome', () => seen.exits.length === 1);
    assert.equal(seen.messages.length, 1);
    const ended = seen.messages[0] as { type: string; status: string; error: { message: string } };
    assert.equal(ended.type, 'ended');
    assert.equal(ended.status, 'failed');
    assert.match(ended.error.message, /GPU chosen in Settings cannot be used: Chromium found no WebGPU adapter/);
    assert.deepEqual(cpu.started, []);
    side.port.close();
  });

  test('a CPU engine chosen: the utility process, for training and chat, and no window', () => {
    const cpu = fakeCpu();
    const gpu = gpuWindowLauncher(cpu.launcher);
    const windows = BrowserWindow.getAllWindows().length;
    gpu.launcher('training', { TUNESMITH_BACKEND: 'native' });
    gpu.launcher('inference', { TUNESMITH_BACKEND: 'wasm' });
    assert.deepEqual(cpu.started.map((s) => [s.worker, s.env]), [['training', { TUNESMITH_BACKEND: 'native' }], ['inference', { TUNESMITH_BACKEND: 'wasm' }]]);
    assert.equal(BrowserWindow.getAllWindows().length, windows);
  });

  test('chat on the GPU: a window of its own serves inference; refused, it exits with the reason', async () => {
    const cpu = fakeCpu();
    const gpu = gpuWindowLauncher(cpu.launcher);
    const chat = gpu.launcher('inference', {});
    const seen = watch(chat);
    chat.send({ type: 'load' });
    const side = await windowSide(newestWindow());
    assert.deepEqual(side.start, { worker: 'inference', env: {}, allowSoftware: false, probeOnly: false });
    side.report({ kind: 'gpu', adapter: 'Test GPU', limits: LIMITS });
    await until('the request', () => side.received.length === 1);
    side.report({ kind: 'message', message: { type: 'token' } });
    await until('the reply', () => seen.messages.length === 1);
    assert.deepEqual(seen.lines, ['chat on the GPU: Test GPU']);
    chat.kill();
    await until('the exit', () => seen.exits.length === 1);
    side.port.close();

    const refused = watch(gpuWindowLauncher(cpu.launcher).launcher('inference', { TUNESMITH_BACKEND: 'webgpu' }));
    const other = await windowSide(newestWindow());
    other.report({ kind: 'no-gpu', reason: 'Chromium found no WebGPU adapter' });
    await until('the exit', () => refused.exits.length === 1);
    assert.deepEqual(refused.exits, [1]);
    assert.deepEqual(refused.lines, ['the GPU chosen in Settings cannot be used: Chromium found no WebGPU adapter']);
    assert.deepEqual(cpu.started, []);
    other.port.close();
  });

  test('Settings asks which GPU: a probe window says, is closed, and is asked only once', async () => {
    const gpu = gpuWindowLauncher(fakeCpu().launcher);
    const asked = gpu.findGpu({ TUNESMITH_BACKEND: 'webgpu' });
    const window = newestWindow();
    const side = await windowSide(window);
    assert.deepEqual(side.start, { worker: 'training', env: { TUNESMITH_BACKEND: 'webgpu' }, allowSoftware: true, probeOnly: true });
    side.report({ kind: 'gpu', adapter: 'Test GPU', limits: LIMITS });
    assert.deepEqual(await asked, { adapter: 'Test GPU', limits: LIMITS });
    assert.ok(window.isDestroyed());
    const windows = BrowserWindow.getAllWindows().length;
    assert.deepEqual(await gpu.findGpu({ TUNESMITH_BACKEND: 'webgpu' }), { adapter: 'Test GPU', limits: LIMITS });
    assert.deepEqual(await gpu.findGpu({ TUNESMITH_BACKEND: 'wasm' }), { notUsed: 'the wasm engine was chosen in Settings' });
    assert.equal(BrowserWindow.getAllWindows().length, windows);
    side.port.close();
  });
});

test("the window's side, where no hardware GPU can be found, says why first and serves nothing", async () => {
  const { runGpuWindow } = await import('../core/app/gpu-window-worker');
  type WindowPort = Parameters<typeof runGpuWindow>[0];
  const { port1, port2 } = new MessageChannel();
  const reports: GpuWindowReport[] = [];
  port1.on('message', (r) => reports.push(r as GpuWindowReport));
  // Node's MessagePort has the DOM's addEventListener, typed only for events in general.
  await runGpuWindow(port2 as unknown as WindowPort, { worker: 'training', env: {}, allowSoftware: false, probeOnly: false });
  await until('the report', () => reports.length > 0);
  // Under Node there is no page GPU: the engine takes the Dawn route, which finds no hardware here.
  assert.equal(reports[0].kind, 'no-gpu');
  assert.ok((reports[0] as { reason: string }).reason.length > 10, 'a reason worth showing');
  port2.close();
});
