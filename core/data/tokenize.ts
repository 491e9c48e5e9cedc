// Segments to token ids and labels. Each segment is encoded on its own and the ids are
// concatenated, as the reference recipe tokenizes prompt and response separately.
import type { TextTokenizer } from '../tokenizer/tokenizer';
import { IGNORE_INDEX, type Example } from './records';
import type { Segment } from './templates';

export function encodeSegments(segments: readonly Segment[], tokenizer: TextTokenizer, trainOnPrompt: boolean): Example {
  const input_ids: number[] = [];
  const labels: number[] = [];
  for (const segment of segments) {
    const ids = tokenizer.encode(segment.text);
    if (segment.eos) ids.push(eosId(tokenizer));
    const trained = segment.train || trainOnPrompt;
    for (const id of ids) {
      input_ids.push(id);
      labels.push(trained ? id : IGNORE_INDEX);
    }
  }
  return { input_ids, labels };
}

export function eosId(tokenizer: TextTokenizer): number {
  const eos = tokenizer.special.eos;
  if (eos === null) throw new Error(`${tokenizer.source}: the tokenizer has no EOS token, which marks where an answer or document ends`);
  return eos;
}

/** Keeps the first `maxLength` tokens: the prompt survives and the answer's tail is lost. */
export function truncate(example: Example, maxLength: number): Example {
  if (example.input_ids.length <= maxLength) return example;
  return { input_ids: example.input_ids.slice(0, maxLength), labels: example.labels.slice(0, maxLength) };
}

export function labelTokens(example: Example): number {
  return example.labels.reduce((n, label) => n + (label === IGNORE_INDEX ? 0 : 1), 0);
}
