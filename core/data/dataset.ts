// A data file to training examples: read, parse, template, tokenize, truncate. Any
// problem in the file is a DataError naming where it is, raised before training starts.
import { readTextFile } from '../read-text-file';
import type { TextTokenizer } from '../tokenizer/tokenizer';
import { DataError } from './errors';
import type { FieldGuess } from './fields';
import { parseData, type DataFormat, type ParseOptions } from './formats';
import { packDocuments } from './packing';
import type { Example } from './records';
import { getTemplate } from './templates';
import { encodeSegments, labelTokens, truncate } from './tokenize';

export interface DatasetOptions extends ParseOptions {
  path: string;
  /** null or absent: from the extension, and for JSON from the first row's fields. */
  format?: string | null;
  /** Default human_assistant. Ignored by the text and tokenized formats. */
  template?: string;
  max_length: number;
  /** Text format only: pack documents into full max_length blocks. */
  packing?: boolean;
  train_on_prompt?: boolean;
  /** The model's chat template (readChatTemplate), which template "model" needs. */
  chat_template?: string | null;
}

export interface DatasetStats {
  examples: number;
  tokens: number;
  /** Tokens with a label, i.e. that the loss is taken on. */
  label_tokens: number;
  /** Rows cut at max_length (skipped ones included). */
  truncated: number;
  /** Rows left with no label to learn from, e.g. a prompt that fills max_length. */
  skipped: number;
}

export interface Dataset {
  format: DataFormat;
  examples: Example[];
  /** Indices into `examples` of those cut at max_length, so a preview can mark them. */
  truncated: ReadonlySet<number>;
  stats: DatasetStats;
  /** Which fields became prompt, input and response; null for text, chat and token data. */
  columns: FieldGuess | null;
}

export function loadDataset(options: DatasetOptions, tokenizer: TextTokenizer): Dataset {
  return datasetFromText(options, readTextFile(options.path, (message) => new DataError(message)), tokenizer);
}

/** loadDataset on text already read from `options.path`, e.g. only its start. */
export function datasetFromText(options: DatasetOptions, fileText: string, tokenizer: TextTokenizer): Dataset {
  const file = options.path;
  const text = dataText(file, fileText);
  const data = parseData(file, text, options.format ?? null, options);
  if (options.packing && data.format !== 'text') {
    throw new DataError(`${file}: packing applies to the text format only, and this is ${data.format} data`);
  }

  let rows: Example[];
  if (data.format === 'text' && options.packing) {
    rows = packDocuments(data.documents, tokenizer, options.max_length);
    if (rows.length === 0) throw new DataError(`${file}: the text is shorter than one block of max_length (${options.max_length}) tokens`);
  } else if (data.format === 'text') {
    rows = data.documents.map((doc) => encodeDocument(doc, tokenizer, options.max_length));
  } else if (data.format === 'tokenized') {
    rows = data.examples;
  } else {
    const template = getTemplate(options.template ?? 'human_assistant', options.chat_template ?? null, tokenizer);
    const trainOnPrompt = options.train_on_prompt ?? false;
    rows = data.samples.map(({ where, value }) => {
      try {
        return encodeSegments(template(value), tokenizer, trainOnPrompt);
      } catch (err) {
        throw new DataError(`${where}: ${(err as Error).message}`);
      }
    });
  }

  const dataset = { format: data.format, columns: 'columns' in data ? data.columns : null, ...finish(rows, options.max_length) };
  if (dataset.examples.length === 0) {
    const why = dataset.stats.skipped > 0 ? `all ${dataset.stats.skipped} rows have no trainable tokens within max_length` : 'the file has no rows';
    throw new DataError(`${file}: no usable examples (${why})`);
  }
  return dataset;
}

/** Characters tried per token before a long document is tokenized whole. */
const CHARS_PER_TOKEN_GUESS = 16;

/**
 * A text document as one example. One far longer than max_length (a 50 MB single line) is
 * cut at a space before tokenizing, with the cut grown until more than max_length tokens
 * come out: the byte-level pre-tokenizers start a piece at each space, so the tokens before
 * the cut are those of the whole document, and the rest would be truncated anyway.
 */
function encodeDocument(doc: string, tokenizer: TextTokenizer, maxLength: number): Example {
  for (let chars = maxLength * CHARS_PER_TOKEN_GUESS; chars < doc.length; chars *= 4) {
    const cut = doc.lastIndexOf(' ', chars);
    if (cut <= 0) continue;
    const head = encodeSegments([{ text: doc.slice(0, cut), train: true, eos: false }], tokenizer, false);
    if (head.input_ids.length > maxLength) return head;
  }
  return encodeSegments([{ text: doc, train: true, eos: true }], tokenizer, false);
}

function dataText(file: string, text: string): string {
  if (text.trim() === '') throw new DataError(`${file}: the file is empty`);
  // Spreadsheet and Windows editors start UTF-8 files with a byte-order mark.
  return text.replace(/^\uFEFF/, '');
}

/** Truncates, drops rows with nothing to learn, and counts. */
function finish(rows: Example[], maxLength: number): Omit<Dataset, 'format' | 'columns'> {
  const stats: DatasetStats = { examples: 0, tokens: 0, label_tokens: 0, truncated: 0, skipped: 0 };
  const examples: Example[] = [];
  const truncated = new Set<number>();
  for (const row of rows) {
    const example = truncate(row, maxLength);
    if (example !== row) stats.truncated++;
    const labelled = labelTokens(example);
    if (labelled === 0) {
      stats.skipped++;
      continue;
    }
    if (example !== row) truncated.add(examples.length);
    examples.push(example);
    stats.tokens += example.input_ids.length;
    stats.label_tokens += labelled;
  }
  stats.examples = examples.length;
  return { examples, truncated, stats };
}
