// Packing plain text for language modelling, as GPT-2's recipe and HF's `group_texts`
// do: every document followed by EOS, all joined, then cut into equal blocks.
import type { TextTokenizer } from '../tokenizer/tokenizer';
import type { Example } from './records';
import { eosId } from './tokenize';

/** The last partial block is dropped, so every example is exactly `blockSize` long. */
export function packDocuments(documents: readonly string[], tokenizer: TextTokenizer, blockSize: number): Example[] {
  const eos = eosId(tokenizer);
  const ids = documents.flatMap((doc) => [...tokenizer.encode(doc), eos]);
  const blocks: Example[] = [];
  for (let start = 0; start + blockSize <= ids.length; start += blockSize) {
    const block = ids.slice(start, start + blockSize);
    blocks.push({ input_ids: block, labels: [...block] });
  }
  return blocks;
}
