// The app's "Run on a bigger machine" and "Import a run" members, through the app service
// with real worker processes, as the wizard's Review step and the run page call them.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import type { ApiEvent } from '../core/api/contract';
import { nodeLauncher } from '../core/app/node-launcher';
import { createAppService } from '../core/app/service';
import { failure, fixture, tempDir } from './helpers';

const ALPACA = path.resolve(import.meta.dirname, '../examples/data/alpaca-train.json');
const DRAFT = { model: fixture('gpt2-tiny'), data: { train: ALPACA, max_length: 64 }, per_device_train_batch_size: 4, max_steps: 2, logging_steps: 1, save_steps: 0 };

test('a draft and a finished run hand off to job folders; a Trainer output imports as a run, once', async (t) => {
  const dir = tempDir(t);
  const handle = createAppService({ home: tempDir(t), host: 'web', versions: { node: process.versions.node }, launcher: nodeLauncher });
  t.after(() => handle.shutdown());
  const service = handle.service;

  const fromDraft = await service.handOffRun({ from: { kind: 'draft', name: 'bigger', config: DRAFT }, destination: path.join(dir, 'draft-job') });
  assert.equal(fromDraft.totalSteps, 2);
  const job = JSON.parse(fs.readFileSync(path.join(fromDraft.path, 'job.json'), 'utf8'));
  assert.equal(job.run_name, 'bigger');
  assert.equal(job.tunesmith_run_id, null);
  assert.ok(fs.existsSync(path.join(fromDraft.path, 'train.py')));
  assert.ok(fromDraft.notes.some((n) => n.includes('dropout')), 'gpt2-tiny keeps its 0.1 dropout, which the job notes');

  const ended = new Promise<void>((resolve) => handle.onEvent((e: ApiEvent) => e.type === 'run-status' && e.status === 'completed' && resolve()));
  const run = await service.startRun({ name: 'local', config: DRAFT });
  await ended;
  const fromRun = await service.handOffRun({ from: { kind: 'run', runId: run.id }, destination: path.join(dir, 'run-job') });
  assert.equal(JSON.parse(fs.readFileSync(path.join(fromRun.path, 'job.json'), 'utf8')).tunesmith_run_id, run.id);
  assert.equal((await failure(service.handOffRun({ from: { kind: 'run', runId: run.id }, destination: fromRun.path }))).field, 'destination');

  const out = path.join(dir, 'hf-trainer-lora');
  fs.cpSync(fixture('hf-trainer-lora'), out, { recursive: true });
  const jobFile = path.join(out, 'job.json');
  fs.writeFileSync(jobFile, JSON.stringify({ ...JSON.parse(fs.readFileSync(jobFile, 'utf8')), config: { ...JSON.parse(fs.readFileSync(jobFile, 'utf8')).config, model: fixture('gpt2-tiny') } }));
  const imported = await service.importRun({ folder: out });
  assert.equal(imported.status, 'completed');
  assert.deepEqual(imported.tags, ['imported']);
  assert.ok((await service.listRuns()).some((r) => r.id === imported.id));
  assert.ok((await service.listChatTargets()).some((c) => c.target.kind === 'run' && c.target.runId === imported.id));
  assert.match((await failure(service.importRun({ folder: out }))).message, /already imported/);
  assert.match((await failure(service.extendRun({ runId: imported.id, extraEpochs: 1 }))).message, /Trainer, whose checkpoints Tunesmith does not resume/);
});
