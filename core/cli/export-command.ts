import { EXPORT_KINDS, GGUF_QUANTS, type ExportKind, type GgufQuant } from '../api/contract';
import { exportGguf } from '../export/gguf/export-gguf';
import { exportRun, exportRunGguf } from '../train/export-run';
import { UsageError } from './args';
import type { Flags, Print } from './commands';

const USAGE = 'usage: tunesmith export --run DIR --format hf|peft|merged --out DIR\n' + '       tunesmith export (--run DIR | --model DIR [--adapter DIR] [--template NAME]) --format gguf [--quant f16|q8_0|q4_k_m] --out FILE.gguf';

/** Writes a finished run's result as an HF folder, a PEFT adapter, the adapter folded into the base, or one GGUF file. */
export async function exportCommand(flags: Flags, print: Print): Promise<void> {
  const str = (key: string) => (typeof flags[key] === 'string' ? (flags[key] as string) : undefined);
  const [run, format, out, model] = [str('run'), str('format'), str('out'), str('model')];
  if (!format || !out || (!run && !model)) throw new UsageError(USAGE);
  if (!(EXPORT_KINDS as readonly string[]).includes(format)) throw new UsageError(`--format must be one of ${EXPORT_KINDS.join(', ')}; got "${format}"`);
  if (format === 'gguf') {
    const quant = str('quant') ?? 'f16';
    if (!(GGUF_QUANTS as readonly string[]).includes(quant)) throw new UsageError(`--quant must be one of ${GGUF_QUANTS.join(', ')}; got "${quant}"`);
    if (run && model) throw new UsageError('give either --run or --model, not both');
    const written = run
      ? await exportRunGguf(run, quant as GgufQuant, out)
      : await exportGguf({ modelDir: model!, adapterDir: str('adapter'), template: str('template') ?? null, quant: quant as GgufQuant, out });
    print(`wrote ${written.gguf} and ${written.modelfile}; for Ollama: ollama create NAME -f ${written.modelfile}`);
    return;
  }
  if (!run) throw new UsageError(USAGE);
  await exportRun(run, format as ExportKind, out);
  print(`wrote ${format} export to ${out}`);
}
