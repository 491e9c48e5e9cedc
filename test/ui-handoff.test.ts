// "Run on a bigger machine" on a run's page and "Import a run" on the Runs screen, in
// Chromium against a stub host: what they send, and what they show with the answer.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ApiMethod, AppInfo, HandoffJob } from '../core/api/contract';
import { tempDir } from './helpers';
import { detailOf, openTestStore, recordRun, summaryOf, type RunSpec } from './runs-fixtures';
import { openStubbedUi, type StubHandler } from './ui/harness';

const APP_INFO: AppInfo = { name: 'Tunesmith', version: '0.1.0', backend: 'cpu', platform: 'linux', versions: { node: process.versions.node }, host: 'web' };
const FINISHED: RunSpec = { name: 'gpt2-alpaca-full', model: 'gpt2', method: 'full', learningRate: 5e-5, steps: 12, floor: 1.4, status: 'completed' };

function stub(answers: Partial<Record<ApiMethod, (request: unknown) => unknown>>): StubHandler {
  return (method, request) => {
    if (method === 'appInfo') return APP_INFO;
    if (method === 'getSettings') return { dataDir: '/data', backend: 'auto', theme: 'system', hasHubToken: false };
    const answer = answers[method];
    if (!answer) throw new Error(`the test did not expect a call to ${method}`);
    return answer(request);
  };
}

test("a run's page writes a handoff job and shows where, with what differs", async (t) => {
  const store = openTestStore(tempDir(t));
  t.after(() => store.close());
  const id = recordRun(store, FINISHED);
  const job: HandoffJob = { path: '/home/me/jobs/bigger', totalSteps: 12, notes: ['dropout 0.1 draws its masks from torch'] };
  const ui = await openStubbedUi(stub({ getRun: () => detailOf(store, id), handOffRun: () => job }), { hash: `/runs/${id}`, viewport: { width: 1280, height: 900 } });
  t.after(() => ui.close());
  await ui.page.getByLabel('New folder for the job').fill('/home/me/jobs/bigger');
  await ui.page.getByRole('button', { name: 'Write the job' }).click();
  await ui.page.getByRole('status').filter({ hasText: `Wrote a 12-step job to ${job.path}` }).waitFor();
  await ui.page.getByText(job.notes[0]).waitFor();
  assert.deepEqual(
    ui.calls.filter((c) => c.method === 'handOffRun').map((c) => c.request),
    [{ from: { kind: 'run', runId: id }, destination: '/home/me/jobs/bigger' }],
  );
});

test('the Runs screen imports a Trainer output and opens the imported run', async (t) => {
  const store = openTestStore(tempDir(t));
  t.after(() => store.close());
  const id = recordRun(store, { ...FINISHED, tags: ['imported'] });
  const ui = await openStubbedUi(
    stub({ listRuns: () => [], importRun: () => summaryOf(store, id), getRun: () => detailOf(store, id) }),
    { hash: '/runs', viewport: { width: 1280, height: 900 } },
  );
  t.after(() => ui.close());
  await ui.page.getByText('Import a run').click();
  await ui.page.getByLabel('Trainer output folder').fill('/home/me/jobs/bigger/output');
  await ui.page.getByRole('button', { name: 'Import', exact: true }).click();
  await ui.page.waitForURL(new RegExp(`#/runs/${id}$`));
  assert.deepEqual(ui.calls.filter((c) => c.method === 'importRun').map((c) => c.request), [{ folder: '/home/me/jobs/bigger/output' }]);
});
