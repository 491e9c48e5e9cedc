// The request schema of every TunesmithApi member. Hosts run these before a service sees a
// payload, so services can trust types and sizes. Value ranges of a training config stay
// with resolveTrainConfig, the one place that knows them; here only their types are checked.
import type { DataSettings, LoraSettings } from '../train/config';
import { SCHEDULES } from '../train/schedules';
import { BACKEND_SETTINGS, EXPORT_KINDS, GGUF_QUANTS, THEME_SETTINGS, type ApiMethod, type ApiRequest, type ChatRequest, type DataPreviewRequest, type SettingsPatch, type TrainConfigDraft } from './contract';
import { array, boolean, count, integer, none, nullable, number, object, oneOf, optional, string, variant, type Schema, type ShapeOf } from './schema';

/** Ids, names, tags, template names: short by nature; a long one is a bug or an attack. */
const MAX_SHORT = 256;
/** Longer than any OS allows, so a real path is never refused for length. */
const MAX_PATH = 4096;
/** A chat message or sample prompt: generous, but bounded so one request cannot hog memory. */
const MAX_TEXT = 100_000;
const MAX_LIST = 1000;

const short = string(MAX_SHORT);
const filePath = string(MAX_PATH);
const text = string(MAX_TEXT);

const lora = object({
  r: optional(number),
  alpha: optional(number),
  dropout: optional(number),
  target_modules: optional(nullable(array(short, MAX_LIST))),
  init_adapter: optional(nullable(filePath)),
} satisfies ShapeOf<Partial<LoraSettings>>);

const data = object({
  train: filePath,
  validation: optional(nullable(filePath)),
  validation_split: optional(number),
  format: optional(nullable(short)),
  template: optional(short),
  max_length: optional(number),
  packing: optional(boolean),
  train_on_prompt: optional(boolean),
  prompt_column: optional(nullable(short)),
  response_column: optional(nullable(short)),
} satisfies ShapeOf<Partial<DataSettings> & { train: string }>);

const trainConfigDraft = object({
  model: filePath,
  method: optional(oneOf(['full', 'lora'])),
  lora: optional(lora),
  data,
  num_train_epochs: optional(number),
  max_steps: optional(number),
  per_device_train_batch_size: optional(number),
  per_device_eval_batch_size: optional(number),
  gradient_accumulation_steps: optional(number),
  learning_rate: optional(number),
  lr_scheduler_type: optional(oneOf(SCHEDULES)),
  warmup_steps: optional(number),
  warmup_ratio: optional(number),
  weight_decay: optional(number),
  max_grad_norm: optional(number),
  adam_beta1: optional(number),
  adam_beta2: optional(number),
  adam_epsilon: optional(number),
  dropout: optional(nullable(number)),
  shuffle: optional(boolean),
  seed: optional(number),
  logging_steps: optional(number),
  eval_steps: optional(number),
  save_steps: optional(number),
  save_total_limit: optional(nullable(number)),
  early_stopping_patience: optional(nullable(number)),
  load_best_model_at_end: optional(boolean),
  sample_prompts: optional(array(text, MAX_LIST)),
  bf16: optional(boolean),
  save_dtype: optional(oneOf(['fp32', 'bf16'])),
} satisfies ShapeOf<TrainConfigDraft>);

const withConfig = object({ config: trainConfigDraft });
const runRef = object({ runId: short });
const runTag = object({ runId: short, tag: short });

const previewRequest = object({
  path: filePath,
  model: filePath,
  format: nullable(short),
  template: short,
  maxLength: number,
  trainOnPrompt: boolean,
  packing: boolean,
  promptColumn: optional(nullable(short)),
  responseColumn: optional(nullable(short)),
  limit: optional(count),
} satisfies ShapeOf<DataPreviewRequest>);

const chatTarget = variant('kind', {
  model: object({ kind: oneOf(['model']), source: filePath }),
  run: object({ kind: oneOf(['run']), runId: short }),
});

const sampling = object({
  greedy: boolean,
  temperature: number,
  topK: number,
  topP: number,
  repetitionPenalty: number,
  maxNewTokens: number,
  seed: optional(number),
} satisfies ShapeOf<ChatRequest['sampling']>);

const chatRequest = object({
  conversationId: nullable(integer),
  target: chatTarget,
  text,
  template: short,
  sampling,
} satisfies ShapeOf<ChatRequest>);

const settingsPatch = object({
  backend: optional(oneOf(BACKEND_SETTINGS)),
  theme: optional(oneOf(THEME_SETTINGS)),
  hubToken: optional(short),
} satisfies ShapeOf<SettingsPatch>);

const handoffSource = variant('kind', {
  draft: object({ kind: oneOf(['draft']), name: short, config: trainConfigDraft }),
  run: object({ kind: oneOf(['run']), runId: short }),
});

const REQUESTS = {
  appInfo: none,
  listCatalog: none,
  inspectModel: object({ source: filePath }),
  pullModel: object({ modelId: short, revision: optional(short) }),
  cancelPull: object({ downloadId: short }),
  previewData: previewRequest,
  sampleData: none,
  estimateMemory: withConfig,
  checkRun: withConfig,
  measureWarmup: withConfig,
  startRun: object({ name: short, config: trainConfigDraft }),
  stopRun: runRef,
  resumeRun: runRef,
  extendRun: object({ runId: short, extraEpochs: number }),
  exportRun: object({ runId: short, kind: oneOf(EXPORT_KINDS), destination: filePath, quant: optional(oneOf(GGUF_QUANTS)) }),
  handOffRun: object({ from: handoffSource, destination: filePath }),
  importRun: object({ folder: filePath }),
  listRuns: none,
  getRun: runRef,
  compareRuns: object({ runIds: array(short, MAX_LIST) }),
  tagRun: runTag,
  untagRun: runTag,
  runFiles: runRef,
  deleteRun: object({ runId: short, removeFiles: boolean }),
  listChatTargets: none,
  chat: chatRequest,
  stopChat: object({ streamId: short }),
  listConversations: none,
  getConversation: object({ conversationId: integer }),
  getSettings: none,
  updateSettings: settingsPatch,
  pickPath: object({ kind: oneOf(['file', 'folder']), title: short }),
  showFolder: object({ path: filePath }),
} satisfies { [M in ApiMethod]: Schema<ApiRequest<M>> };

/** The payload, checked and copied (unknown keys refused); throws an apiError naming the field. */
export function validateRequest<M extends ApiMethod>(method: M, payload: unknown): ApiRequest<M> {
  return (REQUESTS[method] as Schema<ApiRequest<M>>)(payload, '');
}
