import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { chooseOpenblasCore, openblasCoreFor } from '../core/engine/openblas-core';

// Flag lists as /proc/cpuinfo prints them on each kind of CPU (trimmed to the ones that matter).
const EMERALD_RAPIDS = 'fpu sse sse2 ssse3 fma sse4_1 sse4_2 avx avx2 avx512f avx512dq avx512cd avx512bw avx512vl avx512_bf16 avx512_fp16';
const ZEN3 = 'fpu sse sse2 ssse3 fma sse4_1 sse4_2 avx avx2';
const OLD_ATOM = 'fpu sse sse2 ssse3 sse4_1 sse4_2';

test('the core follows the instruction sets: AVX-512 → SkylakeX, AVX2 with FMA → Haswell, else OpenBLAS decides', () => {
  assert.equal(openblasCoreFor(new Set(EMERALD_RAPIDS.split(' '))), 'SKYLAKEX');
  assert.equal(openblasCoreFor(new Set(ZEN3.split(' '))), 'HASWELL');
  assert.equal(openblasCoreFor(new Set(OLD_ATOM.split(' '))), null);
  // Part of AVX-512 (no BW/VL, as on Knights Landing) is not enough for SkylakeX's kernels.
  assert.equal(openblasCoreFor(new Set([...ZEN3.split(' '), 'avx512f', 'avx512cd'])), 'HASWELL');
});

test('a user-set OPENBLAS_CORETYPE is kept; otherwise the choice is written to the environment', { skip: process.platform !== 'linux' || process.arch !== 'x64' }, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tunesmith-cpuinfo-'));
  const cpuinfo = path.join(dir, 'cpuinfo');
  fs.writeFileSync(cpuinfo, `processor\t: 0\nmodel\t\t: 207\nflags\t\t: ${EMERALD_RAPIDS}\n\nprocessor\t: 1\nflags\t\t: ${EMERALD_RAPIDS}\n`);
  const env: NodeJS.ProcessEnv = {};
  assert.equal(chooseOpenblasCore(env, cpuinfo), 'SKYLAKEX');
  assert.equal(env.OPENBLAS_CORETYPE, 'SKYLAKEX');
  const mine: NodeJS.ProcessEnv = { OPENBLAS_CORETYPE: 'Haswell' };
  assert.equal(chooseOpenblasCore(mine, cpuinfo), 'Haswell');
  assert.equal(mine.OPENBLAS_CORETYPE, 'Haswell');
  const none: NodeJS.ProcessEnv = {};
  fs.writeFileSync(cpuinfo, `flags\t\t: ${OLD_ATOM}\n`);
  assert.equal(chooseOpenblasCore(none, cpuinfo), null);
  assert.equal('OPENBLAS_CORETYPE' in none, false);
  fs.rmSync(dir, { recursive: true });
});
