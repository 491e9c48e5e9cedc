// Tunesmith's own GEMM (core/native/src/gemm.*) on every micro-kernel this CPU can run,
// against a float64 reference: odd shapes that cut every register tile and cache block, the
// NN/NT/TN (and TT) forms, alpha/beta, one row (the decoding path), one and two threads.
// And the element-wise kernels (core/native/src/vector_kernels.cc), compiled once per ISA
// too, through the whole native-vs-twin suite on each. Skipped where the addon is not built,
// unless TUNESMITH_REQUIRE_NATIVE is set.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, test } from 'node:test';
import { loadNativeKernels, nativeAddonPath, type NativeKernels } from '../core/engine/native-kernels';

function load(): NativeKernels | undefined {
  try {
    return loadNativeKernels();
  } catch (err) {
    if (process.env.TUNESMITH_REQUIRE_NATIVE) throw err;
    return undefined;
  }
}
const kernels = load();
const skip = kernels ? false : 'native kernels not built';

/** Seeded uniform values in [-1, 1), so a failure reproduces. */
function random(n: number, seed: number): Float32Array {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 2 ** 32 - 0.5) * 2;
  }
  return out;
}

interface Case {
  m: number;
  n: number;
  k: number;
  transA: boolean;
  transB: boolean;
  alpha: number;
  beta: number;
}

/** alpha·op(A)·op(B) + beta·C in float64, and each element's error bound for fp32 sums. */
function reference(c: Case, a: Float32Array, b: Float32Array, c0: Float32Array): { want: Float64Array; bound: Float64Array } {
  const want = new Float64Array(c.m * c.n);
  const bound = new Float64Array(c.m * c.n);
  for (let i = 0; i < c.m; i++) {
    for (let j = 0; j < c.n; j++) {
      let sum = 0;
      let abs = 0;
      for (let p = 0; p < c.k; p++) {
        const x = c.transA ? a[p * c.m + i] : a[i * c.k + p];
        const y = c.transB ? b[j * c.k + p] : b[p * c.n + j];
        sum += x * y;
        abs += Math.abs(x * y);
      }
      const prior = c.beta === 0 ? 0 : c.beta * c0[i * c.n + j];
      want[i * c.n + j] = c.alpha * sum + prior;
      // fp32 accumulation: a few ulps of the sum of magnitudes, whatever the order.
      bound[i * c.n + j] = 1e-6 * (Math.abs(c.alpha) * abs * 8 + Math.abs(prior)) + 1e-30;
    }
  }
  return { want, bound };
}

// k longer than every kernel's largest k-block (768), cut into equal blocks (gemm.cc).
const LONG_K = 1100;
// Edges of every kernel's tiles (mr 4/6/8/12, nr 12/16/32) and blocks (mc 128–240,
// kc 256–768, nc 1024–3072), one-row and one-column products, k shorter than a vector.
const SHAPES: [number, number, number][] = [
  [1, 37, 19],
  [1, 300, 700],
  [13, 33, 300],
  [50, 70, 5],
  [31, 1, 17],
  [7, 3100, 9],
  [250, 45, 260],
  [129, 97, 513],
  [65, 83, LONG_K],
  // Small enough for one k-block and one tile row per thread, large enough that two threads
  // split it (gemm.cc's kMinMacsPerThread): the attention-sized split, cut at odd M/N/K.
  [127, 131, 67],
  [61, 257, 71],
];
const FORMS: [boolean, boolean][] = [
  [false, false],
  [false, true],
  [true, false],
  [true, true],
];

describe('own GEMM against a float64 reference', { skip }, () => {
  const isas = kernels?.info().gemmIsas ?? [];

  test('this CPU runs the portable kernel and lists the fastest first', () => {
    assert.ok(isas.includes('portable'));
    assert.equal(isas[isas.length - 1], 'portable');
    if (process.arch === 'arm64') assert.equal(isas[0], 'neon');
  });

  let seed = 1;
  for (const [m, n, k] of SHAPES) {
    for (const [transA, transB] of FORMS) {
      const form = `${transA ? 'T' : 'N'}${transB ? 'T' : 'N'}`;
      test(`${m}×${n}×${k} ${form} on ${isas.join(', ')}, 1 and 2 threads`, () => {
        const s = seed++;
        const a = random(m * k, s);
        const b = random(k * n, s + 1000);
        const c0 = random(m * n, s + 2000);
        for (const [alpha, beta] of [[1, 0], [0.7, 0.5], [-1.5, 1]]) {
          const c: Case = { m, n, k, transA, transB, alpha, beta };
          const { want, bound } = reference(c, a, b, c0);
          for (const isa of isas) {
            for (const threads of [1, 2]) {
              // beta 0 must not read C: NaN there may not leak into the result.
              const out = beta === 0 ? new Float32Array(m * n).fill(NaN) : c0.slice();
              kernels!.sgemm(isa, transA, transB, m, n, k, alpha, a, b, beta, out, threads);
              for (let i = 0; i < want.length; i++) {
                const err = Math.abs(out[i] - want[i]);
                if (!(err <= bound[i])) assert.fail(`${isa} ${threads}t ${form} α=${alpha} β=${beta}: C[${i}] = ${out[i]}, want ${want[i]} (±${bound[i]})`);
              }
            }
          }
        }
      });
    }
  }

  test('the k-block keeps an mc × kc block of A within ¾ of the L2', () => {
    const { mc, kc, l2Bytes } = kernels!.info().gemmBlocks;
    const forced = Number(process.env.TUNESMITH_GEMM_L2_KIB ?? 0) * 1024;
    if (forced) assert.equal(l2Bytes, forced);
    if (l2Bytes) assert.ok(mc * kc * 4 <= 0.75 * l2Bytes, `${mc} × ${kc} floats in a ${l2Bytes}-byte L2`);
    assert.ok(kc >= 64);
  });

  // A laptop's 256 KiB L2 (Skylake's) cuts kc to a third of Zen 4's: the long-k products
  // again, in more and shorter k-blocks, in a process that sees that L2.
  test('a 256 KiB L2: shorter k-blocks, the same products', { skip: process.env.TUNESMITH_GEMM_L2_KIB ? 'this is that run' : false }, () => {
    const { NODE_TEST_CONTEXT: _, ...env } = process.env;
    const pattern = `×${LONG_K} |k-block`;
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=tap', '--test-name-pattern', pattern, import.meta.filename], {
      encoding: 'utf8',
      env: { ...env, TUNESMITH_GEMM_L2_KIB: '256' },
    });
    const failures = child.stdout.split('\n').filter((l) => l.startsWith('not ok') || /^\s+error:/.test(l));
    assert.equal(child.status, 0, `${failures.join('\n')}\n${child.stderr}`);
    // The four forms of the long-k shape and the k-block check.
    assert.match(child.stdout, /^# pass 5$/m);
  });

  test('k = 0 leaves beta·C', () => {
    for (const isa of isas) {
      const out = Float32Array.from([1, 2, 3, 4]);
      kernels!.sgemm(isa, false, false, 2, 2, 0, 1, new Float32Array(0), new Float32Array(0), 0.5, out, 1);
      assert.deepEqual([...out], [0.5, 1, 1.5, 2]);
    }
  });

  test('a CPU without the named kernel gets a clear error', () => {
    const missing = (['avx512', 'avx2', 'neon'] as const).find((isa) => !isas.includes(isa));
    if (!missing) return;
    assert.throws(() => kernels!.sgemm(missing, false, false, 1, 1, 1, 1, new Float32Array(1), new Float32Array(1), 0, new Float32Array(1), 1), new RegExp(`cannot run the ${missing} GEMM`));
  });

  test('TUNESMITH_GEMM_ISA picks the kernel every op uses, element-wise ones included', () => {
    for (const isa of isas) {
      const child = spawnSync(process.execPath, ['-e', `const i = require(${JSON.stringify(nativeAddonPath())}).info(); console.log(i.blas, i.vectorIsa)`], {
        encoding: 'utf8',
        env: { ...process.env, TUNESMITH_GEMM_ISA: isa },
      });
      assert.equal(child.status, 0, child.stderr);
      assert.equal(child.stdout.trim(), `${process.platform === 'darwin' ? 'accelerate' : isa} ${isa === 'neon' ? 'portable' : isa}`);
    }
  });
});

describe('element-wise kernels on every instruction set this CPU runs', { skip }, () => {
  // A process picks its build once, at load, with the GEMM's ISA: so each build gets the
  // native-vs-twin suite (test/native-ops.test.ts) in a process of its own, forced to it.
  const suite = path.join(import.meta.dirname, 'native-ops.test.ts');
  for (const isa of kernels?.info().gemmIsas ?? []) {
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
