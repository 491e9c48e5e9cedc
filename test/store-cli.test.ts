// `tunesmith runs ...` against a real store under a temporary TUNESMITH_HOME.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { UsageError } from '../core/cli/args';
import { runsCommand } from '../core/cli/runs-command';
import { openStore } from '../core/store/index';
import { prepareRunFolder, recordRunEntry } from '../core/train/run-folder';

const home = fs.mkdtempSync(path.join(os.tmpdir(), 'tunesmith-cli-store-'));
const savedHome = process.env.TUNESMITH_HOME;
let ids: string[] = [];
const outDir = path.join(home, 'runs', 'b');

before(() => {
  process.env.TUNESMITH_HOME = home;
  const store = openStore();
  const a = store.createRun({ name: 'small-lr', method: 'lora', config: { lr: 1e-4, lora: { r: 8 } }, model: { source: 'gpt2' } });
  const b = store.createRun({ name: 'big-lr', method: 'lora', config: { lr: 1e-3, lora: { r: 8 } }, model: { source: 'gpt2' }, outputDir: outDir });
  prepareRunFolder(outDir);
  recordRunEntry(outDir, 'adapter.safetensors');
  fs.writeFileSync(path.join(outDir, 'adapter.safetensors'), 'x');
  for (const [run, loss] of [[a, 2.1], [b, 1.9]] as const) {
    const w = store.metricsWriter(run.id);
    w.log(1, { loss: loss + 1 });
    w.log(2, { loss });
    w.flush();
    store.recordSample(run.id, { step: 2, prompt: 'Roses are', output: `red ${run.name}` });
    store.finishRun(run.id, { status: 'completed', finalMetrics: { eval_loss: loss } });
  }
  store.recordCheckpoint(b.id, { step: 2, path: path.join(outDir, 'checkpoint-2'), evalLoss: 1.9, isBest: true });
  store.close();
  ids = [a.id, b.id];
});

after(() => {
  if (savedHome === undefined) delete process.env.TUNESMITH_HOME;
  else process.env.TUNESMITH_HOME = savedHome;
  fs.rmSync(home, { recursive: true, force: true });
});

async function run(words: string[], flags: Record<string, string | boolean> = {}): Promise<string> {
  const lines: string[] = [];
  await runsCommand(words, flags, (t) => lines.push(t));
  return lines.join('\n');
}

describe('tunesmith runs', () => {
  test('list, as a table and as JSON, with filters', async () => {
    const text = await run(['list']);
    assert.match(text, /^ID\s+NAME\s+STATUS/);
    assert.match(text, /big-lr\s+completed\s+lora\s+gpt2/);
    const json = JSON.parse(await run(['list'], { json: true, sort: 'metric:eval_loss' }));
    assert.deepEqual(json.map((r: { name: string }) => r.name), ['big-lr', 'small-lr']);
    assert.equal(await run(['list'], { status: 'failed' }), 'no runs');
    await assert.rejects(run(['list'], { status: 'exploded' }), UsageError);
  });

  test('show', async () => {
    const text = await run(['show', ids[1]]);
    assert.match(text, /name\s+big-lr/);
    assert.match(text, /eval_loss\s+1\.9/);
    assert.match(text, /step 2\s+.*checkpoint-2\s+eval_loss 1\.9000\s+best/);
    const json = JSON.parse(await run(['show', ids[0]], { json: true }));
    assert.equal(json.run.name, 'small-lr');
    assert.deepEqual(json.lastMetrics, { loss: 2.1 });
    await assert.rejects(run(['show', 'nope']), /no run with id "nope"/);
  });

  test('compare shows only differing config keys, final metrics and samples', async () => {
    const text = await run(['compare', ...ids]);
    assert.match(text, /config differences:/);
    assert.match(text, /^lr\s+0\.0001\s+0\.001$/m);
    assert.doesNotMatch(text, /lora\.r/);
    assert.match(text, /^eval_loss\s+2\.1\s+1\.9$/m);
    assert.match(text, /prompt: "Roses are"\n.*"red small-lr"\n.*"red big-lr"/);
    const json = JSON.parse(await run(['compare', ...ids], { json: true }));
    assert.deepEqual(json.curves.byStep.loss.x, [1, 2]);
    await assert.rejects(run(['compare', ids[0]]), UsageError);
  });

  test('tag and untag', async () => {
    assert.deepEqual(JSON.parse(await run(['tag', ids[0], 'baseline'], { json: true })), { id: ids[0], tags: ['baseline'] });
    assert.match(await run(['list'], { tag: 'baseline' }), /small-lr/);
    assert.equal(await run(['untag', ids[0], 'baseline']), `run ${ids[0]} tags: (none)`);
  });

  test('delete refuses without --yes when stdin is not a terminal, and deletes with it', async (t) => {
    if (process.stdin.isTTY) return t.skip('stdin is a terminal here');
    await assert.rejects(run(['delete', ids[1]]), (e: Error) => e instanceof UsageError && /pass --yes/.test(e.message));
    assert.ok(fs.existsSync(outDir));
    const removed = [path.join(outDir, 'adapter.safetensors'), path.join(outDir, '.tunesmith-files.json'), outDir, path.dirname(outDir)];
    assert.equal(await run(['delete', ids[1]], { yes: true }), `deleted run ${ids[1]}; removed:\n${removed.map((p) => `  ${p}`).join('\n')}`);
    assert.ok(!fs.existsSync(outDir));
    await assert.rejects(run(['show', ids[1]]), /no run with id/);
  });

  test('usage errors', async () => {
    await assert.rejects(run([]), UsageError);
    await assert.rejects(run(['frobnicate']), /unknown runs command "frobnicate"/);
    await assert.rejects(run(['show']), UsageError);
  });
});
