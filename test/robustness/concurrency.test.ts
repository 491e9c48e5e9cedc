// 3.8, 3.17, 3.19 and 3.1–3.2: one process per run folder, and liveness that a zombie or a
// reused pid cannot fool, the same in the CLI, the store and the app.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import type { ApiEvent, TrainConfigDraft } from '../../core/api/contract';
import { nodeLauncher } from '../../core/app/node-launcher';
import { createAppService } from '../../core/app/service';
import { processIdentity } from '../../core/process-identity';
import { openStore } from '../../core/store/index';
import { prepareRunFolder } from '../../core/train/run-folder';
import { LOCK_FILE, lockRunFolder, RunFolderBusy } from '../../core/train/run-lock';
import { fixture, tempDir } from '../helpers';
import { assertRefused, baseConfig, cli, EXAMPLES, spawnCli, writeConfig } from './cases';

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A process that lives 60 s, and a zombie child it never reaps (Linux and macOS). */
async function sleeperWithZombie(t: { after: (fn: () => void) => void }): Promise<{ live: number; zombie: number }> {
  const child = spawn('sh', ['-c', 'sleep 0 & echo $!; exec sleep 60'], { stdio: ['ignore', 'pipe', 'ignore'] });
  t.after(() => child.kill('SIGKILL'));
  const zombie = Number(await new Promise<string>((resolve) => child.stdout.once('data', (d) => resolve(String(d)))));
  // The zombie exists once `sleep 0` has exited unreaped.
  for (let i = 0; i < 100 && processIdentity(zombie) !== null; i++) await new Promise((r) => setTimeout(r, 20));
  return { live: child.pid!, zombie };
}

test('3.17 a running row whose pid is a zombie, or now another process, reads interrupted; a live owner keeps it running', { skip: process.platform === 'win32' && 'no zombies or start times to read' }, async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'store.db');
  const { live, zombie } = await sleeperWithZombie(t);
  assert.notEqual(processIdentity(live), null);
  assert.equal(processIdentity(zombie), null, 'a zombie is not a live process');
  const store = openStore(file);
  const rows = {
    pid1: [1, 'dead-owner'],
    zombie: [zombie, 'dead-owner'],
    reused: [live, `some-uuid ${processIdentity(live)}-but-earlier`],
    alive: [live, `some-uuid ${processIdentity(live)}`],
  } as const;
  for (const [name, [pid, owner]] of Object.entries(rows)) {
    store.createRun({ id: name, name, method: 'lora', config: {}, status: 'running' });
    store.db.prepare('UPDATE runs SET pid = ?, owner = ? WHERE id = ?').run(pid, owner, name);
  }
  store.close();
  const r = await cli('runs', '--store', file, 'list', '--json');
  assert.equal(r.code, 0, r.stderr);
  const status = Object.fromEntries((JSON.parse(r.stdout) as { id: string; status: string }[]).map((x) => [x.id, x.status]));
  assert.deepEqual(status, { pid1: 'interrupted', zombie: 'interrupted', reused: 'interrupted', alive: 'running' });
});

test('3.17 in the app: a run another process was training reads interrupted once that process is gone, without restarting the app', { skip: process.platform === 'win32' && 'no zombies here' }, async (t) => {
  const home = tempDir(t);
  const handle = createAppService({ home, host: 'web', versions: { node: process.versions.node }, launcher: nodeLauncher });
  t.after(() => handle.shutdown());
  const { live, zombie } = await sleeperWithZombie(t);
  // As the CLI would record them, into the store the app holds open.
  const other = openStore(path.join(home, 'tunesmith.db'));
  for (const [id, pid] of [['cli-dead', zombie], ['cli-alive', live]] as const) {
    other.createRun({ id, name: id, method: 'lora', config: {}, status: 'running' });
    other.db.prepare('UPDATE runs SET pid = ?, owner = ? WHERE id = ?').run(pid, `some-uuid ${processIdentity(live)}`, id);
  }
  other.close();
  const status = Object.fromEntries((await handle.service.listRuns()).map((r) => [r.id, r.status]));
  assert.deepEqual(status, { 'cli-dead': 'interrupted', 'cli-alive': 'running' });
});

test('the run-folder lock: a live holder refuses a second one, naming it; a zombie\'s or a dead pid\'s lock is taken over', { skip: process.platform === 'win32' && 'no zombies here' }, async (t) => {
  const dir = tempDir(t);
  prepareRunFolder(dir);
  const { live, zombie } = await sleeperWithZombie(t);
  const lockFile = path.join(dir, LOCK_FILE);
  const holder = { pid: live, identity: processIdentity(live), host: (await import('node:os')).hostname(), runId: 'other-run', since: '2026-12-06T03:00:00.000Z', doing: 'training' };
  fs.writeFileSync(lockFile, JSON.stringify(holder));
  assert.throws(
    () => lockRunFolder(dir, 'training'),
    (err: Error) => err instanceof RunFolderBusy && err.message === `${dir}: in use by run other-run (training, pid ${live}, started 2026-12-06T03:00:00.000Z); wait for it to finish or stop it first`,
  );
  assert.deepEqual(JSON.parse(fs.readFileSync(lockFile, 'utf8')), holder, 'the holder\'s lock is untouched');
  for (const stale of [{ ...holder, pid: zombie }, { ...holder, identity: `${holder.identity}-earlier` }]) {
    fs.writeFileSync(lockFile, JSON.stringify(stale));
    const lock = lockRunFolder(dir, 'export');
    assert.equal(JSON.parse(fs.readFileSync(lockFile, 'utf8')).pid, process.pid);
    lock.release();
    assert.ok(!fs.existsSync(lockFile), 'released');
  }
});

test('3.8 a second training, or a resume, of a folder that is training is refused before it writes; 3.1/3.2 after a SIGKILL it is interrupted and resumes', async (t) => {
  const dir = tempDir(t);
  const store = path.join(dir, 'store.db');
  const mix = path.join(dir, 'mix');
  const a = spawnCli(['train', '--config', writeConfig(dir, 'a.json', baseConfig(dir, mix, { max_steps: 400, save_steps: 1 })), '--store', store, '--json-events']);
  t.after(() => a.child.kill('SIGKILL'));
  const start = await a.event((e) => e.event === 'checkpoint' && e.step === 1);
  assert.ok(start);
  const s = openStore(store);
  const [runA] = s.listRuns();
  s.close();
  const before = fs.readdirSync(mix).filter((f) => !/checkpoint/.test(f)).sort();
  const b = await cli('train', '--config', writeConfig(dir, 'b.json', baseConfig(dir, mix, { learning_rate: 0.01 })), '--store', store, '--json-events');
  assertRefused(b, new RegExp(`^${escape(mix)}: in use by run ${runA.id} \\(training, pid ${a.child.pid}, started \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z\\); wait for it to finish or stop it first$`));
  const resumed = await cli('train', '--resume', mix, '--store', store, '--json-events');
  assertRefused(resumed, `run ${runA.id} in ${mix} is still training (pid ${a.child.pid}); stop it before resuming it`);
  const after = openStore(store);
  assert.deepEqual(after.listRuns().map((r) => [r.id, r.status]), [[runA.id, 'running']], 'the refused process recorded no run');
  after.close();
  assert.deepEqual(fs.readdirSync(mix).filter((f) => !/checkpoint/.test(f)).sort(), before);

  // 3.1: killed outright, it reads interrupted at once; its stale lock does not hold the folder.
  a.child.kill('SIGKILL');
  await a.exited;
  assert.ok(fs.existsSync(path.join(mix, LOCK_FILE)));
  const listed = await cli('runs', '--store', store, 'list', '--json');
  assert.equal(JSON.parse(listed.stdout)[0].status, 'interrupted');
  // 3.2: the resume takes the folder over and finishes.
  const last = await cli('train', '--resume', mix, '--config', writeConfig(dir, 'a2.json', baseConfig(dir, mix, { max_steps: 4, save_steps: 1 })), '--store', store, '--json-events');
  assert.equal(last.code, 0, last.stderr);
  const events = last.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.ok(events[0].resumed_from.startsWith(path.join(mix, 'checkpoint-')));
  assert.equal(events.at(-1).event, 'done');
  assert.ok(!fs.existsSync(path.join(mix, LOCK_FILE)), 'the lock is released at the end');
});

test('3.19 an app training worker killed by SIGKILL leaves its run interrupted, naming the signal, and resumable', async (t) => {
  const home = tempDir(t);
  const handle = createAppService({ home, host: 'web', versions: { node: process.versions.node }, launcher: nodeLauncher });
  t.after(() => handle.shutdown());
  const events: ApiEvent[] = [];
  const waiters: [(e: ApiEvent) => boolean, () => void][] = [];
  handle.onEvent((e) => {
    events.push(e);
    for (const w of waiters.filter(([test]) => test(e))) (waiters.splice(waiters.indexOf(w), 1), w[1]());
  });
  const waitFor = (test: (e: ApiEvent) => boolean) => new Promise<void>((resolve) => (events.slice().some(test) ? resolve() : waiters.push([test, resolve])));
  const draft: TrainConfigDraft = { model: fixture('gpt2-tiny'), data: { train: path.join(EXAMPLES, 'alpaca-train.json'), max_length: 64 }, per_device_train_batch_size: 4, num_train_epochs: 40, learning_rate: 1e-3, save_steps: 2 };
  const run = await handle.service.startRun({ name: 'webkill', config: draft });
  await waitFor((e) => e.type === 'run-event' && e.runId === run.id && e.event.event === 'checkpoint');
  const worker = (await handle.service.getRun({ runId: run.id })).run.pid!;
  process.kill(worker, 'SIGKILL');
  await waitFor((e) => e.type === 'run-status' && e.runId === run.id && e.status !== 'running');
  const killed = (await handle.service.getRun({ runId: run.id })).run;
  assert.equal(killed.status, 'interrupted');
  assert.equal(killed.error!.split('\n')[0], 'the training process was killed (SIGKILL); resume the run to continue from its last checkpoint');
  const again = await handle.service.resumeRun({ runId: run.id });
  assert.equal(again.status, 'running');
  await waitFor((e) => e.type === 'run-event' && e.runId === run.id && e.event.event === 'start');
  await handle.service.stopRun({ runId: run.id });
  assert.equal((await handle.service.getRun({ runId: run.id })).run.status, 'stopped');
  // 3.18 through the app: the run folder it made goes with the run, log and all.
  assert.ok(fs.existsSync(path.join(run.outputDir!, 'train.log')));
  await handle.service.deleteRun({ runId: run.id, removeFiles: true });
  assert.ok(!fs.existsSync(run.outputDir!));
});
