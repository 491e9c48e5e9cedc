// Runs every test file on the default backend, then the fixture-parity tests again on
// plain `cpu`, so the math is checked on two backends. Node 20's test runner has no
// glob support, hence the listing here.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const files = fs
  .readdirSync(path.join(root, 'test'))
  .filter((f) => f.endsWith('.test.ts'))
  .map((f) => path.join('test', f));

const runs = [
  { label: 'default backend', env: {}, files },
  { label: 'cpu backend', env: { TUNESMITH_BACKEND: 'cpu' }, files: ['test/parity.test.ts'] },
];

// A TAP copy of each run is kept to add up one closing line over all runs.
const tapDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tunesmith-tap-'));
const totals = { pass: 0, fail: 0 };
let failed = false;
for (const [i, r] of runs.entries()) {
  console.log(`\n=== ${r.label}: ${r.files.length} file(s)`);
  const tap = path.join(tapDir, `${i}.tap`);
  const reporters = ['--test-reporter=spec', '--test-reporter-destination=stdout', '--test-reporter=tap', `--test-reporter-destination=${tap}`];
  const res = spawnSync(process.execPath, ['--import', 'tsx', '--test', ...reporters, ...r.files], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, ...r.env },
  });
  if (res.status !== 0) failed = true;
  const summary = fs.existsSync(tap) ? fs.readFileSync(tap, 'utf8') : '';
  for (const key of ['pass', 'fail']) totals[key] += Number(new RegExp(`^# ${key} (\\d+)$`, 'm').exec(summary)?.[1] ?? 0);
}
fs.rmSync(tapDir, { recursive: true, force: true });
console.log(`\n${totals.pass} passed, ${totals.fail} failed`);
process.exit(failed ? 1 : 0);
