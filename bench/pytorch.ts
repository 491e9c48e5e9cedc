// The PyTorch anchor (the script in TUNESMITH_TORCH_ANCHOR, else ../shared/bench/pytorch_gpt2_train.py)
// run in the same invocation as Tunesmith's own benchmark, so both are measured under the
// same machine load, with the newest PyTorch any python on this machine has.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const SCRIPT = process.env.TUNESMITH_TORCH_ANCHOR ?? path.resolve(import.meta.dirname, '../../shared/bench/pytorch_gpt2_train.py');

/** Interpreters to look in: PATH's first (a pyenv or venv), then the system's. */
const PYTHONS = ['python3', 'python', '/usr/bin/python3', '/usr/local/bin/python3'];

export interface TorchPython {
  python: string;
  executable: string;
  version: string;
}

function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.+]/).map((x) => Number.parseInt(x, 10) || 0);
  const pb = b.split(/[.+]/).map((x) => Number.parseInt(x, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) if ((pa[i] ?? 0) !== (pb[i] ?? 0)) return (pa[i] ?? 0) - (pb[i] ?? 0);
  return 0;
}

let found: TorchPython | null | undefined;

/** The python with the newest torch, or null when none has it. */
export function torchPython(): TorchPython | null {
  if (found !== undefined) return found;
  found = null;
  const seen = new Set<string>();
  for (const python of PYTHONS) {
    const probe = spawnSync(python, ['-c', 'import sys, torch; print(sys.executable); print(torch.__version__)'], { encoding: 'utf8' });
    if (probe.status !== 0) continue;
    const [executable, version] = probe.stdout.trim().split('\n');
    if (seen.has(executable)) continue;
    seen.add(executable);
    if (!found || compareVersions(version, found.version) > 0) found = { python, executable, version };
  }
  return found;
}

export interface PytorchResult {
  engine: string;
  tokens_per_s: number;
  peak_rss_mib: number;
}

/** Why the anchor cannot run here, or undefined when it can (and which PyTorch will). */
export function pytorchUnavailable(): string | undefined {
  if (!fs.existsSync(SCRIPT)) return `anchor script ${SCRIPT} not found (set TUNESMITH_TORCH_ANCHOR)`;
  const torch = torchPython();
  if (!torch) return `no python on this machine has torch (looked at ${PYTHONS.join(', ')})`;
  console.log(`PyTorch anchor: torch ${torch.version} from ${torch.executable}, ${SCRIPT}`);
  return undefined;
}

/** Runs the anchor with its default threads and returns its JSON line. */
export function runPytorch(args: string[]): PytorchResult {
  const res = spawnSync(torchPython()!.executable, [SCRIPT, ...args], { encoding: 'utf8' });
  const line = res.stdout.trim().split('\n').pop() ?? '';
  if (res.status !== 0 || !line.startsWith('{')) throw new Error(`PyTorch anchor failed: ${res.stderr.trim().split('\n').pop()}`);
  return JSON.parse(line) as PytorchResult;
}

export function ratioLine(label: string, ours: { tokens_per_s: number; peak_rss_mib: number }, theirs: PytorchResult): string {
  return `${label.padEnd(17)} PyTorch (${theirs.engine}) ${theirs.tokens_per_s.toFixed(1)} tokens/s, peak RSS ${theirs.peak_rss_mib} MiB  →  Tunesmith ${(ours.tokens_per_s / theirs.tokens_per_s).toFixed(2)}× the speed, ${(ours.peak_rss_mib / theirs.peak_rss_mib).toFixed(2)}× the memory`;
}
