// Runs every test file on the default backend (the native kernels where they are built),
// then the fixture-parity and trainer tests on the pure-tfjs `wasm` backend and the parity
// tests on plain `cpu`, so the math is checked on every path. With TUNESMITH_REQUIRE_NATIVE
// set (CI), the default run must be the native one. Node 20's test runner has no glob
// support, hence the listing here.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
// test/robustness holds the hostile-input and fault cases (bad files, kills, full disks, locks).
const files = ['test', 'test/robustness'].flatMap((dir) =>
  fs
    .readdirSync(path.join(root, dir))
    .filter((f) => f.endsWith('.test.ts'))
    .map((f) => path.join(dir, f)),
);

const runs = [
  { label: 'default backend', env: process.env.TUNESMITH_REQUIRE_NATIVE ? { TUNESMITH_BACKEND: 'native' } : {}, files },
  { label: 'wasm backend (pure tfjs)', env: { TUNESMITH_BACKEND: 'wasm' }, files: ['test/parity.test.ts', 'test/train.test.ts', 'test/memory.test.ts'] },
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
