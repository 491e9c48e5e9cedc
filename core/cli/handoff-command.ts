import { writeHandoffJob } from '../handoff/write-job';
import { importTrainerRun } from '../handoff/import-run';
import { openStore } from '../store/index';
import { UsageError } from './args';
import type { Flags, Print } from './commands';
import { readTrainConfigFile } from './train-command';

/** Writes a job folder that Hugging Face Trainer + Accelerate runs on a GPU box or a cluster. */
export async function handoffCommand(flags: Flags, print: Print): Promise<void> {
  const file = typeof flags.config === 'string' ? flags.config : undefined;
  const out = typeof flags.out === 'string' ? flags.out : undefined;
  if (!file || !out) throw new UsageError('usage: tunesmith handoff --config FILE --out DIR');
  const job = await writeHandoffJob({ config: readTrainConfigFile(file), out });
  if (flags.json) return print(JSON.stringify(job));
  print(`wrote a ${job.totalSteps}-step Trainer job to ${job.out}: ${job.files.join(', ')}`);
  for (const note of job.notes) print(`note: ${note}`);
  print(`run it with "python train.py" there (README.md has the multi-GPU and DeepSpeed commands), then "tunesmith import ${out}/output"`);
}

/** Records a Trainer output folder as a completed run, tagged imported. */
export async function importCommand(words: string[], flags: Flags, print: Print): Promise<void> {
  if (words.length !== 1) throw new UsageError('usage: tunesmith import OUTPUT_DIR [--store FILE]');
  const store = openStore(typeof flags.store === 'string' ? flags.store : undefined);
  try {
    const run = await importTrainerRun(store, { outputDir: words[0] });
    print(flags.json ? JSON.stringify(run) : `imported run ${run.id} ("${run.name}", ${run.method}) into ${store.file}`);
  } finally {
    store.close();
  }
}
