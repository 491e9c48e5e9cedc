import { EXPORT_KINDS, type ExportKind } from '../api/contract';
import { exportRun } from '../train/export-run';
import { UsageError } from './args';
import type { Flags, Print } from './commands';

/** Writes a finished run's result as an HF folder, a PEFT adapter, or the adapter folded into the base. */
export async function exportCommand(flags: Flags, print: Print): Promise<void> {
  const run = typeof flags.run === 'string' ? flags.run : undefined;
  const format = typeof flags.format === 'string' ? flags.format : undefined;
  const out = typeof flags.out === 'string' ? flags.out : undefined;
  if (!run || !format || !out) throw new UsageError('usage: tunesmith export --run DIR --format hf|peft|merged --out DIR');
  if (!(EXPORT_KINDS as readonly string[]).includes(format)) throw new UsageError(`--format must be one of ${EXPORT_KINDS.join(', ')}; got "${format}"`);
  await exportRun(run, format as ExportKind, out);
  print(`wrote ${format} export to ${out}`);
}
