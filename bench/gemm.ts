// GFLOP/s of Tunesmith's own GEMM on each micro-kernel this CPU runs, against torch.matmul
// (MKL) in the same invocation, on GPT-2 124M's training shapes at batch 8 × seq 128: the
// c_attn, c_fc and c_proj products in the three forms a linear layer's forward (NN), input
// gradient (NT) and weight gradient (TN) use, and one head's attention product.
//   npm run bench:gemm -- [--tokens 1024] [--seconds 0.5] [--isa avx512,avx2,portable]
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
    isa: { type: 'string' },
  },
});
const tokens = Number(values.tokens);
const seconds = Number(values.seconds);

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
const threadCounts = [...new Set([1, info.threads])];

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
  const start = performance.now();
  while (performance.now() - start < seconds * 1000) {
    run();
    reps++;
  }
  return (2 * s.m * s.n * s.k * reps) / ((performance.now() - start) / 1000) / 1e9;
}

// torch.matmul on the same shapes and forms (transposes as views, as autograd makes them), in
// a python that answers one measurement per line, so each torch figure is taken right next to
// ours for the same shape, under the same load.
const TORCH_SERVER = `
import json, sys, time, torch
torch.set_flush_denormal(True)
print("ready", flush=True)
for line in sys.stdin:
    s = json.loads(line)
    torch.set_num_threads(s["threads"])
    a = torch.rand(s["k"], s["m"]).t() if s["transA"] else torch.rand(s["m"], s["k"])
    b = torch.rand(s["n"], s["k"]).t() if s["transB"] else torch.rand(s["k"], s["n"])
    torch.matmul(a, b)
    reps, start = 0, time.perf_counter()
    while time.perf_counter() - start < s["seconds"]:
        torch.matmul(a, b); reps += 1
    print(2 * s["m"] * s["n"] * s["k"] * reps / (time.perf_counter() - start) / 1e9, flush=True)
`;

class Torch {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly lines: AsyncIterator<string>;
  constructor(python: string) {
    this.child = spawn(python, ['-c', TORCH_SERVER]);
    this.lines = readline.createInterface({ input: this.child.stdout })[Symbol.asyncIterator]();
  }
  async next(): Promise<string> {
    const { value, done } = await this.lines.next();
    if (done) throw new Error('torch.matmul process ended');
    return value;
  }
  async gflops(s: Shape, threads: number): Promise<number> {
    this.child.stdin.write(`${JSON.stringify({ ...s, threads, seconds })}\n`);
    return Number(await this.next());
  }
  close(): void {
    this.child.stdin.end();
  }
}

console.log(`machine load average (1, 5, 15 min): ${os.loadavg().map((l) => l.toFixed(2)).join(', ')} on ${os.cpus().length} cores`);
console.log(`GEMM micro-kernels: ${isas.join(', ')} (in use: ${info.blas}); ${tokens} tokens; GFLOP/s, and the ratio to torch.matmul`);
const torchPy = torchPython();
console.log(torchPy ? `torch ${torchPy.version} from ${torchPy.executable}` : 'torch.matmul comparison skipped: no python on this machine has torch');
const torch = torchPy ? new Torch(torchPy.executable) : undefined;
if (torch) await torch.next();
console.log(['shape'.padEnd(28), 'thr', ...(torch ? ['torch'] : []), ...isas.map((i) => i.padStart(16))].join(' '));
for (const threads of threadCounts) {
  for (const s of SHAPES) {
    const theirs = await torch?.gflops(s, threads);
    const cells = isas.map((isa) => {
      const g = ours(isa, s, threads);
      console.error(JSON.stringify({ bench: 'gemm', shape: s.label, threads, isa, gflops: g, torch_gflops: theirs ?? null }));
      return (theirs ? `${g.toFixed(1)} (${(g / theirs).toFixed(2)}×)` : g.toFixed(1)).padStart(16);
    });
    console.log([s.label.padEnd(28), String(threads).padStart(3), ...(theirs === undefined ? [] : [theirs.toFixed(1).padStart(5)]), ...cells].join(' '));
  }
}
torch?.close();
