import { parseArgs } from 'node:util';
import { forward, generateCommand, info, tokenize, type Flags } from './commands';
import { UsageError } from './args';
import { estimateCommand } from './estimate-command';
import { exportCommand } from './export-command';
import { handoffCommand, importCommand } from './handoff-command';
import { modelsCommand } from './models-command';
import { pullCommand } from './pull-command';
import { runsCommand } from './runs-command';
import { StoppedBySignal } from './stop-signals';
import { trainCommand } from './train-command';

const USAGE = `usage: tunesmith <command> [options]

commands:
  info      --model DIR | --random-init NAME [--json]
  tokenize  --model DIR --text STR [--json]
  forward   --model DIR --ids 1,2,3 [--adapter DIR] [--json]
  generate  --model DIR [--adapter DIR] (--prompt STR | --ids 1,2,3) --max-new-tokens N
            [--greedy | --temperature T --top-k K --top-p P --repetition-penalty R --seed S]
            [--ignore-eos] [--json]
  train     --config FILE | --resume DIR [--config FILE] [--json-events] [--store FILE]
  export    --run DIR --format hf|peft|merged --out DIR
  export    --run DIR | --model DIR [--adapter DIR] [--template NAME] --format gguf
            [--quant f16|q8_0|q4_k_m] --out FILE.gguf   (with an Ollama Modelfile beside it)
  handoff   --config FILE --out DIR [--json]     a job folder for Hugging Face Trainer on GPUs
  import    OUTPUT_DIR [--store FILE] [--json]   a Trainer run's output, recorded as a run
  estimate  --model DIR | --random-init NAME --method full|lora [--lora-r R] [--lora-targets a,b]
            --batch B --seq S [--grad-accum N] [--bf16] [--ram BYTES] [--json]
  runs      list|show ID|compare ID ID [...]|delete ID [--yes]|tag ID TAG [--json] [--store FILE]
  pull      MODEL_ID [--revision R]
  models    [--json]

Runs are recorded in --store FILE, by default $TUNESMITH_HOME/tunesmith.db or ~/.tunesmith/tunesmith.db.

pull downloads a Hub model (gpt2, bigscience/bloom-560m...) into the Hugging Face cache
($HF_HUB_CACHE, $HF_HOME/hub or ~/.cache/huggingface/hub), which models lists. HF_ENDPOINT,
HF_TOKEN and HF_HUB_OFFLINE=1 work as in Python's huggingface_hub.

--random-init gpt2|gpt2-medium|gpt2-large|gpt2-xl|bloom-560m|bloom-1b1|bloom-1b7 builds a model of that shape with random weights.
--debug prints stack traces.`;

const OPTIONS = {
  model: { type: 'string' },
  'random-init': { type: 'string' },
  adapter: { type: 'string' },
  text: { type: 'string' },
  ids: { type: 'string' },
  prompt: { type: 'string' },
  'max-new-tokens': { type: 'string' },
  greedy: { type: 'boolean' },
  temperature: { type: 'string' },
  'top-k': { type: 'string' },
  'top-p': { type: 'string' },
  'repetition-penalty': { type: 'string' },
  seed: { type: 'string' },
  'ignore-eos': { type: 'boolean' },
  json: { type: 'boolean' },
  config: { type: 'string' },
  'json-events': { type: 'boolean' },
  run: { type: 'string' },
  resume: { type: 'string' },
  store: { type: 'string' },
  status: { type: 'string' },
  method: { type: 'string' },
  tag: { type: 'string' },
  sort: { type: 'string' },
  order: { type: 'string' },
  yes: { type: 'boolean' },
  'keep-files': { type: 'boolean' },
  format: { type: 'string' },
  'lora-r': { type: 'string' },
  'lora-targets': { type: 'string' },
  batch: { type: 'string' },
  seq: { type: 'string' },
  'grad-accum': { type: 'string' },
  bf16: { type: 'boolean' },
  ram: { type: 'string' },
  out: { type: 'string' },
  quant: { type: 'string' },
  template: { type: 'string' },
  revision: { type: 'string' },
  debug: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

const COMMANDS = {
  runs: (f: Flags, words: string[]) => runsCommand(words, f, print),
  pull: (f: Flags, words: string[]) => pullCommand(words, f, print, (chunk) => process.stderr.write(chunk), process.stderr.isTTY === true),
  models: (f: Flags) => modelsCommand(f, print),
  info: (f: Flags) => info(f, print),
  tokenize: (f: Flags) => tokenize(f, print),
  forward: (f: Flags) => forward(f, print),
  generate: (f: Flags) => generateCommand(f, print, (chunk) => process.stdout.write(chunk)),
  export: (f: Flags) => exportCommand(f, print),
  estimate: (f: Flags) => estimateCommand(f, print),
  train: (f: Flags) => trainCommand(f, print, (chunk) => process.stderr.write(chunk)),
  handoff: (f: Flags) => handoffCommand(f, print),
  import: (f: Flags, words: string[]) => importCommand(words, f, print),
} as const;

function print(text: string): void {
  process.stdout.write(`${text}\n`);
}

export async function main(argv: string[]): Promise<number> {
  let debug = argv.includes('--debug');
  try {
    const { values, positionals } = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true });
    debug = values.debug === true;
    const [command, ...extra] = positionals;
    if (values.help || !command) {
      print(USAGE);
      return command || values.help ? 0 : 2;
    }
    if (!(command in COMMANDS)) throw new UsageError(`unknown command "${command}"\n${USAGE}`);
    if (extra.length && !['runs', 'pull', 'import'].includes(command)) throw new UsageError(`unexpected argument "${extra[0]}"`);
    await COMMANDS[command as keyof typeof COMMANDS](values as Flags, extra);
    return 0;
  } catch (err) {
    const e = err as Error;
    process.stderr.write(`tunesmith: ${debug ? (e.stack ?? e.message) : e.message}\n`);
    if (err instanceof StoppedBySignal) return err.exitCode;
    return err instanceof UsageError || (e as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS') ? 2 : 1;
  }
}
