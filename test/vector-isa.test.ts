// The element-wise kernels (core/native/src/vector_kernels.cc) are compiled once per
// instruction set and follow TUNESMITH_GEMM_ISA; a process picks its build once, at load. So
// every build this CPU can run gets the whole native-vs-twin suite (test/native-ops.test.ts)
// in a process of its own, forced to that ISA. Skipped where the addon is not built, unless
// TUNESMITH_REQUIRE_NATIVE is set.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, test } from 'node:test';
import { loadNativeKernels, type NativeKernels } from '../core/engine/native-kernels';

function load(): NativeKernels | undefined {
  try {
    return loadNativeKernels();
  } catch (err) {
    if (process.env.TUNESMITH_REQUIRE_NATIVE) throw err;
    return undefined;
  }
}
const kernels = load();
const isas = kernels?.info().gemmIsas ?? [];
const suite = path.join(import.meta.dirname, 'native-ops.test.ts');

describe('native kernels on every instruction set this CPU runs', { skip: kernels ? false : 'native kernels not built' }, () => {
  for (const isa of isas) {
    test(`${isa}: native ops match their tfjs twins`, () => {
      // Without NODE_TEST_CONTEXT, which would make the child report to this runner instead of stdout.
      const { NODE_TEST_CONTEXT: _, ...env } = process.env;
      const child = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=tap', suite], {
        encoding: 'utf8',
        env: { ...env, TUNESMITH_GEMM_ISA: isa, TUNESMITH_REQUIRE_NATIVE: '1', TUNESMITH_BACKEND: 'native' },
      });
      const failures = child.stdout.split('\n').filter((l) => l.startsWith('not ok') || /^\s+error:/.test(l));
      assert.equal(child.status, 0, `${isa}:\n${failures.join('\n')}\n${child.stderr}`);
      assert.match(child.stdout, /^# pass [1-9]/m);
    });
  }
});
