// OpenBLAS picks its kernels by CPU model number. A CPU newer than the library falls back to
// Prescott's SSE3 kernels at a quarter of the speed: Debian 12's OpenBLAS 0.3.21 does this on
// Emerald Rapids (family 6, model 207), measured 60 against 250 GFLOP/s. Choosing by the
// instruction sets the CPU reports instead gets the right kernels; a user's own
// OPENBLAS_CORETYPE always wins.
import fs from 'node:fs';

const AVX512_BASE = ['avx512f', 'avx512cd', 'avx512bw', 'avx512dq', 'avx512vl'];

/**
 * The OpenBLAS core whose kernels these x86 CPU flags (as /proc/cpuinfo names them) can run;
 * null: leave it to OpenBLAS. Only names every OpenBLAS since 0.3.x accepts are used (0.3.21
 * cannot be forced to Cooperlake, whose fp32 kernels are SkylakeX's anyway).
 */
export function openblasCoreFor(flags: ReadonlySet<string>): string | null {
  if (AVX512_BASE.every((f) => flags.has(f))) return 'SKYLAKEX';
  if (flags.has('avx2') && flags.has('fma')) return 'HASWELL';
  return null;
}

/**
 * Sets OPENBLAS_CORETYPE from the CPU's flags on x86-64 Linux, where OpenBLAS is the BLAS.
 * Must run before the native addon is loaded: OpenBLAS reads the variable once, when it is
 * linked in. Returns the core in force, or null when OpenBLAS chooses by itself.
 */
export function chooseOpenblasCore(env: NodeJS.ProcessEnv = process.env, cpuinfo = '/proc/cpuinfo'): string | null {
  if (env.OPENBLAS_CORETYPE) return env.OPENBLAS_CORETYPE;
  if (process.platform !== 'linux' || process.arch !== 'x64' || !fs.existsSync(cpuinfo)) return null;
  const flags = /^flags\s*:(.*)$/m.exec(fs.readFileSync(cpuinfo, 'utf8'))?.[1];
  const core = flags ? openblasCoreFor(new Set(flags.trim().split(/\s+/))) : null;
  if (core) env.OPENBLAS_CORETYPE = core;
  return core;
}
