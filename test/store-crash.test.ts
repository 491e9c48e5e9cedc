// Kills a process in the middle of writing metrics, several times over one store file,
// and checks that SQLite's WAL kept every commit it acknowledged and nothing half-written.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import Database from 'better-sqlite3';
import { openStore } from '../core/store/index';

const root = path.resolve(import.meta.dirname, '..');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tunesmith-crash-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
const METRICS_PER_STEP = 20;

/** Starts the writer, kills it with SIGKILL a random while after its first commit, returns what it reported. */
function writeAndKill(file: string): Promise<{ runId: string; lastStep: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'test', 'fixtures-store-writer.ts'), file], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let armed = false;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      if (!armed && out.includes('committed ')) {
        armed = true;
        setTimeout(() => child.kill('SIGKILL'), 20 + Math.random() * 300);
      }
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (signal !== 'SIGKILL') return reject(new Error(`writer exited with ${code ?? signal} before being killed:\n${err}`));
      const runId = /^run (\S+)$/m.exec(out)?.[1];
      // Only complete lines count; the kill may land in the middle of one.
      const steps = [...out.matchAll(/^committed (\d+)\n/gm)].map((m) => Number(m[1]));
      if (!runId || steps.length === 0) return reject(new Error(`writer reported nothing:\n${out}\n${err}`));
      resolve({ runId, lastStep: Math.max(...steps) });
    });
  });
}

test('SIGKILL during metric writes loses no committed step and leaves runs interrupted', { timeout: 60_000 }, async (t) => {
  const file = path.join(dir, 'tunesmith.db');
  const reports = [];
  for (let i = 0; i < 5; i++) reports.push(await writeAndKill(file));
  t.diagnostic(`last committed steps: ${reports.map((r) => r.lastStep).join(', ')}`);

  const raw = new Database(file);
  assert.equal(raw.pragma('integrity_check', { simple: true }), 'ok');
  assert.equal(raw.prepare('SELECT status FROM runs WHERE id = ?').pluck().get(reports.at(-1)!.runId), 'running', 'nobody has looked yet');
  for (const { runId, lastStep } of reports) {
    const perStep = raw.prepare('SELECT step, count(*) AS n FROM metrics WHERE run_id = ? GROUP BY step ORDER BY step').all(runId) as { step: number; n: number }[];
    assert.ok(perStep.length >= lastStep + 1, `run ${runId}: reported step ${lastStep} committed but only ${perStep.length} steps stored`);
    perStep.forEach((row, i) => {
      assert.equal(row.step, i, `run ${runId}: steps stored without gaps`);
      assert.equal(row.n, METRICS_PER_STEP, `run ${runId} step ${row.step}: a step is stored whole or not at all`);
    });
  }
  raw.close();

  const store = openStore(file);
  for (const { runId, lastStep } of reports) {
    assert.equal(store.getRun(runId)?.status, 'interrupted');
    // The writer checkpoints every 25 steps after the commit and before announcing it, so
    // the kill can land after one more checkpoint than it reported.
    const ckpt = store.lastCheckpoint(runId)!.step;
    assert.ok(ckpt >= Math.floor(lastStep / 25) * 25 && ckpt <= lastStep + 1, `run ${runId}: last checkpoint ${ckpt}, last step ${lastStep}`);
  }
  store.close();
});
