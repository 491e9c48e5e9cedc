import { tf } from '../engine/backend';
import { generate } from '../generate/generate';
import { argmax } from '../generate/sampling';
import { causalLmLossSum } from '../ops/cross-entropy';
import { loadTokenizer } from '../tokenizer/tokenizer';
import { parseIds, parseNumber, UsageError } from './args';
import { modelFromArgs, type ModelArgs } from './model-args';

export type Flags = ModelArgs & Record<string, string | boolean | undefined>;

export type Print = (text: string) => void;

function text(flags: Flags, name: string): string | undefined {
  const v = flags[name];
  return typeof v === 'string' ? v : undefined;
}

export async function info(flags: Flags, print: Print): Promise<void> {
  const { model, backend, gpu } = await modelFromArgs(flags);
  const c = model.config;
  const out = {
    model_type: c.modelType,
    n_layer: c.nLayer,
    n_embd: c.nEmbd,
    n_head: c.nHead,
    vocab_size: c.vocabSize,
    parameters: model.parameterCount(),
    backend,
    gpu,
  };
  if (flags.json) print(JSON.stringify(out));
  else print(Object.entries(out).map(([k, v]) => `${k.padEnd(12)} ${v}`).join('\n'));
}

export async function tokenize(flags: Flags, print: Print): Promise<void> {
  const dir = text(flags, 'model');
  const input = text(flags, 'text');
  if (!dir) throw new UsageError('--model DIR is required');
  if (input === undefined) throw new UsageError('--text STR is required');
  const tok = loadTokenizer(dir);
  const ids = tok.encode(input);
  const decoded = tok.decode(ids);
  print(flags.json ? JSON.stringify({ ids, decoded }) : `${ids.join(' ')}\n${decoded}`);
}

export async function forward(flags: Flags, print: Print): Promise<void> {
  const idsText = text(flags, 'ids');
  if (!idsText) throw new UsageError('--ids 1,2,3 is required');
  const ids = parseIds('--ids', idsText);
  const { model, forward: opts } = await modelFromArgs(flags);
  if (ids.some((id) => id >= model.config.vocabSize)) throw new UsageError(`--ids: every id must be below the vocabulary size ${model.config.vocabSize}`);
  const logits = tf.tidy(() => model.forward(tf.tensor2d([ids], undefined, 'int32'), opts).logits);
  const rows = (logits.arraySync() as number[][][])[0];
  const lse = tf.logSumExp(logits, -1);
  const { sum, tokens } = causalLmLossSum(logits, [ids]);
  const out = {
    logits_first8_per_position: rows.map((r) => r.slice(0, 8)),
    logsumexp_per_position: Array.from(lse.dataSync()),
    argmax_per_position: rows.map(argmax),
    mean_loss: tokens ? sum.dataSync()[0] / tokens : null,
  };
  tf.dispose([logits, lse, sum]);
  if (flags.json) print(JSON.stringify(out));
  else print(`argmax: ${out.argmax_per_position.join(' ')}\nmean loss: ${out.mean_loss}`);
}

export async function generateCommand(flags: Flags, print: Print, stream: (chunk: string) => void): Promise<void> {
  const prompt = text(flags, 'prompt');
  const idsText = text(flags, 'ids');
  if ((prompt === undefined) === (idsText === undefined)) throw new UsageError('give exactly one of --prompt STR or --ids 1,2,3');
  const maxNewTokens = parseNumber('--max-new-tokens', text(flags, 'max-new-tokens'), 32, true);
  const { model, forward: opts } = await modelFromArgs(flags);
  const tok = flags.model ? loadTokenizer(text(flags, 'model')!) : undefined;
  let promptIds: number[];
  if (prompt !== undefined) {
    if (!tok) throw new UsageError('--prompt needs a model folder with a tokenizer; use --ids with --random-init');
    promptIds = tok.encode(prompt);
  } else {
    promptIds = parseIds('--ids', idsText!);
  }
  const eosId = flags['ignore-eos'] ? null : (tok?.special.eos ?? model.config.eosTokenId);
  // Stream decoded text as it grows; decoding the whole tail keeps multi-byte characters intact.
  const fresh: number[] = [];
  let shown = '';
  const newIds = generate(model, promptIds, {
    maxNewTokens,
    eosId,
    greedy: flags.greedy === true,
    temperature: parseNumber('--temperature', text(flags, 'temperature'), 1),
    topK: parseNumber('--top-k', text(flags, 'top-k'), 50, true),
    topP: parseNumber('--top-p', text(flags, 'top-p'), 1),
    repetitionPenalty: parseNumber('--repetition-penalty', text(flags, 'repetition-penalty'), 1),
    seed: parseNumber('--seed', text(flags, 'seed'), 0, true),
    forward: opts,
    onToken: (id) => {
      if (flags.json || !tok) return;
      fresh.push(id);
      const all = tok.decode(fresh, true);
      if (!all.endsWith('\uFFFD')) {
        stream(all.slice(shown.length));
        shown = all;
      }
    },
  });
  const decoded = tok ? tok.decode(newIds, true) : newIds.join(' ');
  if (flags.json) print(JSON.stringify({ new_ids: newIds, text: decoded }));
  else if (!tok) print(decoded);
  else stream(`${decoded.slice(shown.length)}\n`);
}
