// GFLOP/s of Tunesmith's own GEMM on each micro-kernel this CPU runs, against torch.matmul
// (MKL) in the same invocation, and the AVX2 path's also against OpenBLAS's Haswell kernels
// (numpy's bundled OpenBLAS, OPENBLAS_CORETYPE=Haswell), on GPT-2 124M's training shapes at
// batch 8 × seq 128: the c_attn, c_fc and c_proj products in the three forms a linear layer's
// forward (NN), input gradient (NT) and weight gradient (TN) use, and one head's attention
// product.
// Each figure is the best of --rounds runs of --seconds, and the rounds take turns between
// the anchors and our kernels: on a shared VM the same product's speed swings by 20–30%
// between runs a minute apart, and taking turns gives a burst of load from elsewhere the same
// chance to land on every contender.
// --cpu-time measures one thread by each process's CPU time instead of the wall clock, for a
// machine busy with other work, where wall-clock speed is noise (all threads' rows need it idle).
//   npm run bench:gemm -- [--tokens 1024] [--seconds 0.5] [--rounds 3] [--isa avx512,avx2,portable] [--cpu-time]
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import readline from 'node:readline';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { loadNativeKernels, type GemmIsa } from '../core/engine/native-kernels';
import { torchPython } from './pytorch';

const { values } = parseArgs({
  options: {
    tokens: { type: 'string', default: '1024' },
    seconds: { type: 'string', default: '0.5' },
    rounds: { type: 'string', default: '3' },
    isa: { type: 'string' },
    'cpu-time': { type: 'boolean', default: false },
  },
});
const tokens = Number(values.tokens);
const seconds = Number(values.seconds);
const rounds = Math.max(1, Number(values.rounds));
const cpuTime = values['cpu-time'];

interface Shape {
  label: string;
  transA: boolean;
  transB: boolean;
  m: number;
  n: number;
  k: number;
}

// y = x·W, dx = dy·Wᵀ, dW = xᵀ·dy for W [in, out] (GPT-2's Conv1D), x [B·T, in].
function linearShapes(name: string, inDim: number, outDim: number): Shape[] {
  return [
    { label: `${name} NN`, transA: false, transB: false, m: tokens, n: outDim, k: inDim },
    { label: `${name} NT`, transA: false, transB: true, m: tokens, n: inDim, k: outDim },
    { label: `${name} TN`, transA: true, transB: false, m: inDim, n: outDim, k: tokens },
  ];
}
const SHAPES: Shape[] = [
  ...linearShapes('c_attn 768→2304', 768, 2304),
  ...linearShapes('c_fc 768→3072', 768, 3072),
  ...linearShapes('c_proj 3072→768', 3072, 768),
  { label: 'attn q·kᵀ 128×64×128 NT', transA: false, transB: true, m: 128, n: 128, k: 64 },
];

const kernels = loadNativeKernels();
const info = kernels.info();
const isas = (values.isa ? (values.isa.split(',') as GemmIsa[]) : info.gemmIsas).filter((isa) => info.gemmIsas.includes(isa));
const threadCounts = cpuTime ? [1] : [...new Set([1, info.threads])];

function filled(n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = ((i * 2654435761) % 1000) / 1000 - 0.5;
  return a;
}

function ours(isa: GemmIsa, s: Shape, threads: number): number {
  const a = filled(s.m * s.k);
  const b = filled(s.k * s.n);
  const c = new Float32Array(s.m * s.n);
  const run = () => kernels.sgemm(isa, s.transA, s.transB, s.m, s.n, s.k, 1, a, b, 0, c, threads);
  run();
  let reps = 0;
  // Milliseconds of this process's CPU time, or of the wall clock.
  const clock = cpuTime ? () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; } : () => performance.now();
  const start = clock();
  while (clock() - start < seconds * 1000) {
    run();
    reps++;
  }
  return (2 * s.m * s.n * s.k * reps) / ((clock() - start) / 1000) / 1e9;
}

// torch.matmul (MKL), and numpy's matmul on the OpenBLAS that numpy bundles with its Haswell
// kernels forced (the AVX2 path's anchor), on the same shapes and forms (transposes as views,
// as autograd makes them), each in a python that answers one measurement per line, so every
// anchor figure is taken right next to ours for the same shape, under the same load.
const TIMING = `
def gflops(s, matmul, a, b):
    matmul(a, b)
    clock = time.process_time if s["cpuTime"] else time.perf_counter
    reps, start = 0, clock()
    while clock() - start < s["seconds"]:
        matmul(a, b); reps += 1
    return 2 * s["m"] * s["n"] * s["k"] * reps / (clock() - start) / 1e9
`;
const TORCH_SERVER = `
import json, sys, time, torch
${TIMING}
torch.set_flush_denormal(True)
print(json.dumps({"ok": True}), flush=True)
for line in sys.stdin:
    s = json.loads(line)
    torch.set_num_threads(s["threads"])
    a = torch.rand(s["k"], s["m"]).t() if s["transA"] else torch.rand(s["m"], s["k"])
    b = torch.rand(s["n"], s["k"]).t() if s["transB"] else torch.rand(s["k"], s["n"])
    print(gflops(s, torch.matmul, a, b), flush=True)
`;
// OpenBLAS's thread count and core are set through its own C entry points (their names carry
// the scipy-openblas prefix and 64-bit-integer suffix in numpy's wheels); it says which core
// it runs, so a CPU or build where Haswell's kernels did not take is visible.
const OPENBLAS_SERVER = `
import ctypes, json, sys, time
${TIMING}
def entry(lib, names):
    for name in names:
        if hasattr(lib, name): return getattr(lib, name)
    return None
try:
    import numpy as np
except ImportError:
    print(json.dumps({"ok": False, "reason": "this python has no numpy"}), flush=True); sys.exit()
try:
    path = next(l.split()[-1] for l in open("/proc/self/maps") if "openblas" in l.lower())
except (OSError, StopIteration):
    print(json.dumps({"ok": False, "reason": f"numpy {np.__version__} is not linked to an OpenBLAS this bench can find (Linux only)"}), flush=True); sys.exit()
lib = ctypes.CDLL(path)
set_threads = entry(lib, ["scipy_openblas_set_num_threads64_", "openblas_set_num_threads64_", "openblas_set_num_threads"])
corename = entry(lib, ["scipy_openblas_get_corename64_", "openblas_get_corename64_", "openblas_get_corename"])
if set_threads is None or corename is None:
    print(json.dumps({"ok": False, "reason": f"{path} has no openblas_set_num_threads/get_corename"}), flush=True); sys.exit()
corename.restype = ctypes.c_char_p
print(json.dumps({"ok": True, "numpy": np.__version__, "core": corename().decode()}), flush=True)
for line in sys.stdin:
    s = json.loads(line)
    set_threads(s["threads"])
    rng = np.random.default_rng(0)
    a = rng.random((s["k"], s["m"]), np.float32).T if s["transA"] else rng.random((s["m"], s["k"]), np.float32)
    b = rng.random((s["n"], s["k"]), np.float32).T if s["transB"] else rng.random((s["k"], s["n"]), np.float32)
    print(gflops(s, np.matmul, a, b), flush=True)
`;

interface Ready {
  ok: boolean;
  reason?: string;
  numpy?: string;
  core?: string;
}

class Anchor {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly lines: AsyncIterator<string>;
  constructor(python: string, script: string, env: NodeJS.ProcessEnv = process.env) {
    this.child = spawn(python, ['-c', script], { env });
    this.lines = readline.createInterface({ input: this.child.stdout })[Symbol.asyncIterator]();
  }
  private async next(): Promise<string> {
    const { value, done } = await this.lines.next();
    if (done) throw new Error('matmul anchor process ended');
    return value;
  }
  async ready(): Promise<Ready> {
    return JSON.parse(await this.next()) as Ready;
  }
  async gflops(s: Shape, threads: number): Promise<number> {
    this.child.stdin.write(`${JSON.stringify({ ...s, threads, seconds, cpuTime })}\n`);
    return Number(await this.next());
  }
  close(): void {
    this.child.stdin.end();
  }
}

/** numpy's OpenBLAS with Haswell's kernels forced, or why it cannot run here. */
async function openblasHaswell(python: string): Promise<{ anchor?: Anchor; line: string }> {
  const threads = String(Math.max(...threadCounts));
  const anchor = new Anchor(python, OPENBLAS_SERVER, { ...process.env, OPENBLAS_CORETYPE: 'Haswell', OPENBLAS_NUM_THREADS: threads });
  const ready = await anchor.ready().catch((err: Error) => ({ ok: false, reason: err.message }) as Ready);
  if (!ready.ok) {
    anchor.close();
    return { line: `OpenBLAS Haswell comparison skipped: ${ready.reason}` };
  }
  return { anchor, line: `OpenBLAS (numpy ${ready.numpy}, ${python}) on core ${ready.core}: the avx2 column's second ratio` };
}

console.log(`machine load average (1, 5, 15 min): ${os.loadavg().map((l) => l.toFixed(2)).join(', ')} on ${os.cpus().length} cores`);
console.log(`GEMM micro-kernels: ${isas.join(', ')} (in use: ${info.blas}); ${tokens} tokens; GFLOP/s${cpuTime ? ' per CPU-second' : ''}, best of ${rounds} alternating rounds of ${seconds} s, and the ratio to torch.matmul (and, for avx2, to OpenBLAS Haswell)`);
const blocks = info.gemmBlocks;
console.log(`cache blocks of the ${info.blas} kernel: mc ${blocks.mc}, kc ${blocks.kc}, nc ${blocks.nc}, for an L2 of ${blocks.l2Bytes ? `${blocks.l2Bytes / 1024} KiB` : 'unknown size'} (k-blocks of the others are cut to the same L2)`);
const torchPy = torchPython();
console.log(torchPy ? `torch ${torchPy.version} from ${torchPy.executable}` : 'torch.matmul comparison skipped: no python on this machine has torch');
const torch = torchPy ? new Anchor(torchPy.executable, TORCH_SERVER) : undefined;
if (torch) await torch.ready();
const openblas = isas.includes('avx2') ? await openblasHaswell(torchPy?.executable ?? 'python3') : { line: 'OpenBLAS Haswell comparison skipped: the avx2 path is not measured' };
console.log(openblas.line);
const ratio = (g: number, anchor: number | undefined) => (anchor ? ` (${(g / anchor).toFixed(2)}×)` : '');
console.log(
  ['shape'.padEnd(28), 'thr', ...(torch ? ['torch'] : []), ...(openblas.anchor ? ['obHsw'] : []), ...isas.map((i) => i.padStart(i === 'avx2' && openblas.anchor ? 23 : 16))].join(' '),
);
// The better of a best so far and a new figure, either of which may be missing.
const max = (a: number | undefined, b: number | undefined) => (b === undefined ? a : Math.max(a ?? 0, b));
for (const threads of threadCounts) {
  for (const s of SHAPES) {
    let theirs: number | undefined;
    let haswell: number | undefined;
    const best = new Map<GemmIsa, number>();
    for (let r = 0; r < rounds; r++) {
      theirs = max(theirs, await torch?.gflops(s, threads));
      haswell = max(haswell, await openblas.anchor?.gflops(s, threads));
      for (const isa of isas) best.set(isa, max(best.get(isa), ours(isa, s, threads))!);
    }
    const cells = isas.map((isa) => {
      const g = best.get(isa)!;
      const vsHaswell = isa === 'avx2' ? haswell : undefined;
      console.error(JSON.stringify({ bench: 'gemm', shape: s.label, threads, isa, gflops: g, torch_gflops: theirs ?? null, openblas_haswell_gflops: vsHaswell ?? null }));
      return `${g.toFixed(1)}${ratio(g, theirs)}${ratio(g, vsHaswell)}`.padStart(isa === 'avx2' && openblas.anchor ? 23 : 16);
    });
    const anchors = [theirs, haswell].filter((x) => x !== undefined).map((x) => x.toFixed(1).padStart(5));
    console.log([s.label.padEnd(28), String(threads).padStart(3), ...anchors, ...cells].join(' '));
  }
}
torch?.close();
openblas.anchor?.close();
