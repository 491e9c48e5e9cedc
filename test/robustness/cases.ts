// What the robustness tests share: the audit's base and full fine-tuning configs written on
// the fly, the CLI run in this process (its exit code and its one stderr line) or as a
// child, and safetensors headers to damage.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { main } from '../../core/cli/main';
import { BIN, fixture } from '../helpers';

export const EXAMPLES = path.resolve(import.meta.dirname, '../../examples/data');

/** alpaca-train.json as JSONL: 18 rows. */
export function alpacaJsonl(dir: string, name = 'alpaca.jsonl'): string {
  const rows = JSON.parse(fs.readFileSync(path.join(EXAMPLES, 'alpaca-train.json'), 'utf8')) as unknown[];
  const file = path.join(dir, name);
  fs.writeFileSync(file, rows.map((r) => `${JSON.stringify(r)}\n`).join(''));
  return file;
}

/** The audit's base config (LoRA on gpt2-tiny, 2 steps, no checkpoints), with `change` applied. */
export function baseConfig(dir: string, outputDir: string, change: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    model: fixture('gpt2-tiny'),
    output_dir: outputDir,
    method: 'lora',
    data: { train: alpacaJsonl(dir), max_length: 32 },
    max_steps: 2,
    per_device_train_batch_size: 2,
    logging_steps: 1,
    save_steps: 0,
    learning_rate: 0.001,
    ...change,
  };
}

/** The audit's full fine-tuning config: checkpoints of about 19.6 MB, a final model.safetensors of 6,553,768 bytes. */
export function fullConfig(outputDir: string, change: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    model: fixture('gpt2-tiny'),
    output_dir: outputDir,
    method: 'full',
    data: { train: path.join(EXAMPLES, 'english-text.txt'), max_length: 128, packing: true },
    max_steps: 5,
    save_steps: 1,
    per_device_train_batch_size: 8,
    learning_rate: 0.001,
    logging_steps: 1,
    ...change,
  };
}

export function writeConfig(dir: string, name: string, config: unknown): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, typeof config === 'string' ? config : JSON.stringify(config));
  return file;
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The CLI's main() in this process, its output captured: fast enough for dozens of cases. */
export async function cli(...args: string[]): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const out = process.stdout.write;
  const err = process.stderr.write;
  // The CLI writes strings; the test runner's own reports (binary frames to its parent) pass through.
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: any[]) => (typeof chunk === 'string' ? ((stdout += chunk), true) : out.call(process.stdout, chunk, ...rest))) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array, ...rest: any[]) => (typeof chunk === 'string' ? ((stderr += chunk), true) : err.call(process.stderr, chunk, ...rest))) as typeof process.stderr.write;
  try {
    const code = await main(args);
    return { code, stdout, stderr };
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
  }
}

/** A clean refusal: exit code 1 and one stderr line `tunesmith: <message>` matching `message`, no stack trace. */
export function assertRefused(r: CliResult, message: string | RegExp): void {
  assert.equal(r.code, 1, `expected exit code 1, got ${r.code}; stderr: ${r.stderr}`);
  const lines = r.stderr.split('\n').filter((l) => l.startsWith('tunesmith: '));
  assert.equal(lines.length, 1, r.stderr);
  const text = lines[0].slice('tunesmith: '.length);
  if (typeof message === 'string') assert.equal(text, message);
  else assert.match(text, message);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
}

/** The CLI as a child process (for what needs its own process: locks, signals, pids). */
export function spawnCli(args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  /** Resolves with the first JSON event line (from --json-events) that `test` accepts. */
  const event = (test: (e: any) => boolean) =>
    new Promise<any>((resolve, reject) => {
      let seen = 0;
      const look = () => {
        const lines = stdout.split('\n');
        for (; seen < lines.length - 1; seen++) {
          const e = JSON.parse(lines[seen]);
          if (test(e)) return resolve(e);
        }
      };
      child.stdout.on('data', look);
      void exited.then((r) => reject(new Error(`the CLI exited (${r.code ?? r.signal}) before the event: ${r.stderr}`)));
      look();
    });
  return { child, exited, event };
}

/** A safetensors file's parts, to damage its header and write it back. */
export function readSafetensors(file: string): { header: Record<string, any>; data: Buffer } {
  const bytes = fs.readFileSync(file);
  const n = Number(bytes.readBigUInt64LE(0));
  return { header: JSON.parse(bytes.subarray(8, 8 + n).toString('utf8')), data: bytes.subarray(8 + n) };
}

export function writeSafetensorsParts(file: string, header: Record<string, unknown>, data: Buffer): void {
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  fs.writeFileSync(file, Buffer.concat([len, Buffer.from(json), data]));
}

/** Every file under `dir` with its size, to show nothing changed. */
export function snapshot(dir: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const entry of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    const p = path.join(entry.parentPath ?? (entry as any).path, entry.name);
    out[path.relative(dir, p)] = entry.isFile() ? fs.statSync(p).size : -1;
  }
  return out;
}
