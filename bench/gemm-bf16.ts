// GFLOP/s of the bf16 GEMM (fp32 in and out, bf16 products, fp32 accumulation; rounding
// included, as training calls it) against torch.matmul on bf16 and fp32 tensors in the same
// invocation, on GPT-2 124M's c_fc shapes at batch 8 × seq 128 in the three forms a projection
// uses: forward (NN), input gradient (NT), weight gradient (TN). The first is the issue's
// [1024×768]·[768×3072] target row.
//   npm run bench:gemm-bf16 -- [--tokens 1024] [--seconds 1]
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { loadNativeKernels } from '../core/engine/native-kernels';

const { values } = parseArgs({ options: { tokens: { type: 'string', default: '1024' }, seconds: { type: 'string', default: '1' } } });
const tokens = Number(values.tokens);
const seconds = Number(values.seconds);

const SHAPES = [
  { label: 'c_fc NN [1024×768]·[768×3072]', transA: false, transB: false, m: tokens, n: 3072, k: 768 },
  { label: 'c_fc NT [1024×3072]·[3072×768]ᵀ', transA: false, transB: true, m: tokens, n: 768, k: 3072 },
  { label: 'c_fc TN [768×1024]ᵀ·[1024×3072]', transA: true, transB: false, m: 768, n: 3072, k: tokens },
];

const load = () => os.loadavg().map((l) => l.toFixed(2)).join(', ');
console.log(`machine load average (1, 5, 15 min): ${load()} on ${os.cpus().length} cores`);
const kernels = loadNativeKernels();
const info = kernels.info();
if (!info.bf16) {
  console.log(`bf16 GEMM skipped: ${info.bf16Refusal}`);
  process.exit(0);
}
console.log(`bf16 kernel ${info.bf16}, ${info.threads} threads`);

function filled(n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = ((i * 2654435761) % 1000) / 1000 - 0.5;
  return a;
}

const TORCH = `
import json, sys, time, torch
torch.set_flush_denormal(True)
out = []
for s in json.loads(sys.argv[1]):
    row = {}
    for name, dtype in (("bf16", torch.bfloat16), ("fp32", torch.float32)):
        a = torch.rand(s["k"], s["m"]) if s["transA"] else torch.rand(s["m"], s["k"])
        b = torch.rand(s["n"], s["k"]) if s["transB"] else torch.rand(s["k"], s["n"])
        a, b = a.to(dtype), b.to(dtype)
        a = a.t() if s["transA"] else a
        b = b.t() if s["transB"] else b
        torch.matmul(a, b)
        reps, start = 0, time.perf_counter()
        while time.perf_counter() - start < float(sys.argv[2]):
            torch.matmul(a, b); reps += 1
        row[name] = 2 * s["m"] * s["n"] * s["k"] * reps / (time.perf_counter() - start) / 1e9
    out.append(row)
print(json.dumps(out))
`;

for (const s of SHAPES) {
  const a = filled(s.m * s.k);
  const b = filled(s.k * s.n);
  const c = new Float32Array(s.m * s.n);
  const lda = s.transA ? s.m : s.k;
  const ldb = s.transB ? s.k : s.n;
  const run = () => kernels.gemmBf16(s.transA, s.transB, s.m, s.n, s.k, 1, a, lda, b, ldb, 0, c, s.n);
  run();
  let reps = 0;
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  while (performance.now() - start < seconds * 1000) {
    run();
    reps++;
  }
  const wall = (performance.now() - start) / 1000;
  const used = process.cpuUsage(cpu0);
  const cpuSeconds = (used.user + used.system) / 1e6;
  const flop = 2 * s.m * s.n * s.k * reps;
  // Torch right after, so both sides run under (nearly) the same load.
  const torch = spawnSync('python3', ['-c', TORCH, JSON.stringify([s]), String(seconds)], { encoding: 'utf8' });
  const theirs = torch.status === 0 ? (JSON.parse(torch.stdout.trim().split('\n').pop()!)[0] as { bf16: number; fp32: number }) : null;
  const ratio = theirs ? `  torch.matmul bf16 ${theirs.bf16.toFixed(0)}, fp32 ${theirs.fp32.toFixed(0)} GFLOP/s  →  ours ${(flop / wall / 1e9 / theirs.bf16).toFixed(2)}× torch bf16` : '  (torch unavailable)';
  console.log(`${s.label.padEnd(34)} ours ${(flop / wall / 1e9).toFixed(0)} GFLOP/s (${(flop / cpuSeconds / 1e9).toFixed(0)} per CPU-second)${ratio}  [load ${load()}]`);
  console.log(JSON.stringify({ bench: 'gemm-bf16', ...s, gflops: flop / wall / 1e9, gflops_per_cpu_s: flop / cpuSeconds / 1e9, torch: theirs }));
}
