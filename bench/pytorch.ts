// The PyTorch anchor (../shared/bench/pytorch_gpt2_train.py) run in the same invocation as
// Tunesmith's own benchmark, so both are measured under the same machine load.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { chooseOpenblasCore } from '../core/engine/openblas-core';

const PYTHON = '/usr/bin/python3';

/**
 * PyTorch here links the same OpenBLAS, so both sides get the kernels Tunesmith's loader picks
 * (core/engine/openblas-core.ts): set once, before either starts, and inherited by both.
 */
export function sameBlasKernelsLine(): string {
  const core = chooseOpenblasCore();
  return `OpenBLAS kernels for both engines: ${core ?? 'chosen by OpenBLAS itself'}`;
}
const SCRIPT = process.env.TUNESMITH_TORCH_ANCHOR ?? path.resolve(import.meta.dirname, '../../shared/bench/pytorch_gpt2_train.py');

export interface PytorchResult {
  engine: string;
  tokens_per_s: number;
  peak_rss_mib: number;
}

/** Why the anchor cannot run here, or undefined when it can. */
export function pytorchUnavailable(): string | undefined {
  if (!fs.existsSync(SCRIPT)) return `${SCRIPT} not found`;
  const probe = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' });
  if (probe.status !== 0) return `${PYTHON} has no torch (apt-get install python3-torch libopenblas0-pthread)`;
  return undefined;
}

/** Runs the anchor with its default threads and returns its JSON line. */
export function runPytorch(args: string[]): PytorchResult {
  const res = spawnSync(PYTHON, [SCRIPT, ...args], { encoding: 'utf8' });
  const line = res.stdout.trim().split('\n').pop() ?? '';
  if (res.status !== 0 || !line.startsWith('{')) throw new Error(`PyTorch anchor failed: ${res.stderr.trim().split('\n').pop()}`);
  return JSON.parse(line) as PytorchResult;
}

export function ratioLine(label: string, ours: { tokens_per_s: number; peak_rss_mib: number }, theirs: PytorchResult): string {
  return `${label.padEnd(5)} PyTorch (${theirs.engine}) ${theirs.tokens_per_s.toFixed(1)} tokens/s, peak RSS ${theirs.peak_rss_mib} MiB  →  Tunesmith ${(ours.tokens_per_s / theirs.tokens_per_s).toFixed(2)}× the speed, ${(ours.peak_rss_mib / theirs.peak_rss_mib).toFixed(2)}× the memory`;
}
