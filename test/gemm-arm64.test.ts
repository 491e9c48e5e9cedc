// The ARM64 NEON GEMM micro-kernel, checked from an x86 machine: core/native/test/gemm_check.cc
// and the GEMM sources cross-compiled with g++-aarch64-linux-gnu and run under qemu-user.
// Skipped, saying why, where those tools are not installed (Debian: apt-get install
// g++-aarch64-linux-gnu qemu-user) or on an ARM64 machine, which checks the kernel natively
// in test/gemm.test.ts.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';

const NATIVE = path.resolve(import.meta.dirname, '..', 'core', 'native');
const SOURCES = ['test/gemm_check.cc', 'src/gemm.cc', 'src/gemm_neon.cc', 'src/gemm_portable.cc', 'src/thread_pool.cc'];

function onPath(tool: string): boolean {
  return spawnSync(tool, ['--version'], { stdio: 'ignore' }).status === 0;
}

function whyNot(): string | undefined {
  if (process.arch === 'arm64') return 'this machine is ARM64: test/gemm.test.ts checks the NEON kernel natively';
  const missing = ['aarch64-linux-gnu-g++', 'qemu-aarch64'].filter((tool) => !onPath(tool));
  if (missing.length) return `${missing.join(' and ')} not installed (apt-get install g++-aarch64-linux-gnu qemu-user)`;
  return undefined;
}

const reason = whyNot();

test('ARM64 NEON GEMM under qemu matches the reference', { skip: reason ?? false }, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tunesmith-gemm-arm64-'));
  try {
    const exe = path.join(dir, 'gemm_check');
    // Static, so qemu needs no ARM64 system libraries.
    const build = spawnSync('aarch64-linux-gnu-g++', ['-std=c++17', '-O2', '-static', '-pthread', '-o', exe, ...SOURCES], { cwd: NATIVE, encoding: 'utf8' });
    assert.equal(build.status, 0, `cross-compile failed:\n${build.stderr}`);
    const run = spawnSync('qemu-aarch64', [exe], { encoding: 'utf8', timeout: 300_000 });
    assert.equal(run.status, 0, `${run.stdout}${run.stderr}`);
    assert.match(run.stdout, /^ok neon and portable: \d+ products/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
