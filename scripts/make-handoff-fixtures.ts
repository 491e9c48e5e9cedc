// Makes the handoff fixtures with the Python packages installed here (see test/fixtures/README.md):
//   hf-fields.json        TrainingArguments and LoraConfig field names, with the versions read
//   hf-trainer-lora/      a real Trainer output: a handoff job of gpt2-tiny (LoRA, 6 steps) run by train.py
// Run from the repo root: node --import tsx scripts/make-handoff-fixtures.ts
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeHandoffJob } from '../core/handoff/write-job';
import { parityConfig } from '../test/handoff-harness';

const FIXTURES = path.resolve(import.meta.dirname, '../test/fixtures');

function python(args: string[], cwd?: string): string {
  const r = spawnSync('python3', args, { cwd, encoding: 'utf8', env: { ...process.env, HF_HUB_OFFLINE: '1' } });
  if (r.status !== 0) throw new Error(`python3 ${args.join(' ')} failed:\n${r.stderr}`);
  return r.stdout;
}

const FIELDS = `
import dataclasses, json, accelerate, peft, safetensors, torch, transformers
from peft import LoraConfig
from transformers import TrainingArguments
names = lambda cls: sorted(f.name for f in dataclasses.fields(cls) if f.init)
print(json.dumps({
    "versions": {"torch": torch.__version__.split("+")[0], "transformers": transformers.__version__, "peft": peft.__version__,
                 "accelerate": accelerate.__version__, "safetensors": safetensors.__version__},
    "TrainingArguments": names(TrainingArguments),
    "LoraConfig": names(LoraConfig),
}, indent=1))
`;
fs.writeFileSync(path.join(FIXTURES, 'hf-fields.json'), python(['-c', FIELDS]));

// The parity test's recipe (6 steps, LoRA), its model named relative to the repo root as a checkout has it.
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'tunesmith-fixture-'));
const config = { ...parityConfig(scratch, 'gpt2-tiny', 'lora', 6), model: 'test/fixtures/gpt2-tiny', output_dir: 'hf-trainer-lora' };
const job = fs.mkdtempSync(path.join(os.tmpdir(), 'tunesmith-fixture-job-'));
fs.rmSync(job, { recursive: true });
await writeHandoffJob({ config, out: job });
const out = path.join(FIXTURES, 'hf-trainer-lora');
fs.rmSync(out, { recursive: true, force: true });
python(['train.py', '--output_dir', out], job);
fs.rmSync(job, { recursive: true, force: true });
fs.rmSync(scratch, { recursive: true, force: true });
console.log(`wrote ${path.join(FIXTURES, 'hf-fields.json')} and ${out}`);
