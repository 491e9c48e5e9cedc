// What the wizard asks before a run starts: what a model is, how a data file will be read,
// templated and tokenized for it, and where the sample data is. They read files only;
// nothing is trained here.
import path from 'node:path';
import type { ApiService, DataPreview, ModelSummary, PreviewExample } from '../api/contract';
import { openWeights } from '../checkpoint/model-folder';
import { readChatTemplate } from '../data/chat-template';
import { datasetFromText } from '../data/dataset';
import { readDataPrefix } from '../data/data-prefix';
import { DataError } from '../data/errors';
import { FieldsError } from '../data/fields';
import { IGNORE_INDEX, type Example } from '../data/records';
import { countParameters } from '../memory/parameters';
import { loadModelConfig } from '../models/load';
import { loadTokenizer, type TextTokenizer } from '../tokenizer/tokenizer';
import { QUICK_DATA_BYTES } from './memory-estimate';
import { existingFile, outsideFolder } from './request-checks';
import type { AppServiceContext } from './service-context';

/**
 * Short instruction pairs written for Tunesmith, for a first run with no data of one's own.
 * The same relative path from core/app (tsx) and from out/main (the app's bundle); the
 * installers pack it (electron-builder.yml).
 */
export const SAMPLE_DATA_FILE = path.resolve(import.meta.dirname, '../../examples/data/sample-instructions.jsonl');

const DEFAULT_EXAMPLES = 5;
const MAX_EXAMPLES = 20;

export function createDataMethods(ctx: Pick<AppServiceContext, 'modelDir' | 'home'>): Pick<ApiService, 'previewData' | 'inspectModel' | 'sampleData'> {
  // The wizard previews again on every change of template or length, mostly with the same model.
  let cached: { dir: string; tokenizer: TextTokenizer } | null = null;
  const tokenizerOf = (dir: string): TextTokenizer => {
    if (cached?.dir !== dir) cached = { dir, tokenizer: loadTokenizer(dir) };
    return cached.tokenizer;
  };

  return {
    async inspectModel({ source }): Promise<ModelSummary> {
      const dir = ctx.modelDir(source);
      const config = loadModelConfig(dir);
      openWeights(dir).close();
      tokenizerOf(dir);
      return {
        source,
        dir,
        architecture: config.modelType,
        parameters: countParameters(config),
        layers: config.nLayer,
        hiddenSize: config.nEmbd,
        heads: config.nHead,
        vocabSize: config.vocabSize,
        maxPositions: config.maxPositions,
        hasChatTemplate: readChatTemplate(dir) !== null,
      };
    },

    sampleData: async () => ({ path: existingFile(SAMPLE_DATA_FILE) }),

    async previewData(req): Promise<DataPreview> {
      const file = existingFile(req.path, 'path');
      outsideFolder(file, ctx.home, "is in Tunesmith's data folder (settings, runs, the store); choose a data file of your own", 'path');
      const dir = ctx.modelDir(req.model);
      const tokenizer = tokenizerOf(dir);
      const limit = Math.max(0, Math.min(req.limit ?? DEFAULT_EXAMPLES, MAX_EXAMPLES));
      try {
        const prefix = readDataPrefix(file, QUICK_DATA_BYTES);
        const dataset = datasetFromText(
          {
            path: file,
            format: req.format,
            template: req.template,
            max_length: req.maxLength,
            packing: req.packing,
            train_on_prompt: req.trainOnPrompt,
            prompt_column: req.promptColumn,
            response_column: req.responseColumn,
            chat_template: req.template === 'model' ? readChatTemplate(dir) : null,
          },
          prefix.text,
          tokenizer,
        );
        return {
          path: req.path,
          format: dataset.format,
          stats: dataset.stats,
          longestTokens: dataset.examples.reduce((n, e) => Math.max(n, e.input_ids.length), 0),
          examples: dataset.examples.slice(0, limit).map((e, i) => previewExample(e, dataset.truncated.has(i), tokenizer)),
          problem: null,
          partial: prefix.partial ?? undefined,
          columns: dataset.columns,
        };
      } catch (err) {
        if (!(err instanceof DataError)) throw err;
        const columns = err instanceof FieldsError ? { available: err.available, prompt: '', input: null, response: '', sure: false } : null;
        return { path: req.path, format: null, stats: null, longestTokens: 0, examples: [], problem: { message: err.message }, columns };
      }
    },
  };
}

/**
 * Cuts an example where its label mask changes, and decodes each run of tokens. Segments
 * are tokenized on their own, so every such cut falls between characters.
 */
function previewExample(example: Example, truncated: boolean, tokenizer: TextTokenizer): PreviewExample {
  const parts: PreviewExample['parts'] = [];
  let trainedTokens = 0;
  let start = 0;
  for (let i = 1; i <= example.labels.length; i++) {
    const trained = example.labels[i - 1] !== IGNORE_INDEX;
    if (trained) trainedTokens++;
    if (i < example.labels.length && (example.labels[i] !== IGNORE_INDEX) === trained) continue;
    parts.push({ text: tokenizer.decode(example.input_ids.slice(start, i)), trained });
    start = i;
  }
  return { parts, tokens: example.input_ids.length, trainedTokens, truncated };
}
