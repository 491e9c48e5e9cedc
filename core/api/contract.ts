// The one contract between the renderer and whatever hosts it: Electron's main process
// (over IPC) and the web host (over HTTP + WebSocket on loopback). Both expose
// `TunesmithApi`, so the UI never learns which one it is talking to. Keep it free of
// Electron and Node types for that reason: only type imports from core, erased at build.
//
// Every member takes at most one request object and returns a Promise, because each
// call crosses a process boundary. Requests are validated by the host before they reach
// a service (core/api/validate.ts); results are plain JSON.
import type { DataFormat } from '../data/formats';
import type { DatasetStats } from '../data/dataset';
import type { FieldGuess } from '../data/fields';
import type { SamplingOptions } from '../generate/sampling';
import type { Band } from '../memory/band';
import type { MemoryComponents } from '../memory/estimate';
import type { Preflight } from '../memory/preflight';
import type { RunComparison } from '../store/compare';
import type { ChatRole } from '../store/chat';
import type { Checkpoint, Run, RunStatus, Sample, Series } from '../store/types';
import type { TrainConfig } from '../train/config';
import type { TrainEvent } from '../train/events';

/** What the About line and bug reports need to identify a running install. */
export interface AppInfo {
  name: string;
  version: string;
  /** The TensorFlow.js backend that actually started, which decides training speed. */
  backend: string;
  /** The bf16 kernel when this CPU trains `"bf16": true` faster than fp32 (offer the switch only then), else null. */
  bf16Kernel: string | null;
  /** The GPU in use (adapter and memory limits) or why none is; absent where a host does not say. */
  gpu?: string;
  platform: string;
  /** `electron` and `chrome` are absent when a plain Node host serves the UI. */
  versions: { node: string; electron?: string; chrome?: string };
  /** Which host serves the UI: only Electron can open native file dialogs. */
  host: 'electron' | 'web';
}

/** A failure in plain words, with the technical detail one click away. */
export interface ApiErrorInfo {
  message: string;
  /** Stack, stderr tail or the underlying error's text. */
  detail?: string;
  /** The request field it is about, dotted (`config.lora.r`), when there is one. */
  field?: string;
}

/** How every host carries a call's outcome; clients turn `ok: false` into a thrown ApiError. */
export type ApiResult<T> = { ok: true; value: T } | { ok: false; error: ApiErrorInfo };

// ---------------------------------------------------------------- models

export type Architecture = 'gpt2' | 'bloom';

/** A model the wizard can start from: a catalog entry, a cached Hub model or a local folder. */
export interface ModelSummary {
  /** Hub id (`gpt2`, `bigscience/bloom-560m`) or an absolute folder path. */
  source: string;
  /** Where its files are on disk; null when it is a Hub model not downloaded yet. */
  dir: string | null;
  architecture: Architecture;
  parameters: number;
  layers: number;
  hiddenSize: number;
  heads: number;
  vocabSize: number;
  /** null: no position table (BLOOM's ALiBi). */
  maxPositions: number | null;
  /** The tokenizer ships a chat template, so template "model" is available. */
  hasChatTemplate: boolean;
}

export interface CatalogEntry {
  id: string;
  architecture: Architecture;
  parameters: number;
  /** Download size of the files Tunesmith fetches. */
  diskBytes: number;
  description: string;
  /** Estimated training peak at batch 1, seq 512, on this machine's backend. */
  memory: { loraBytes: number; fullBytes: number };
  /** Local folder when it is in the Hugging Face cache, else null. */
  cachedDir: string | null;
}

export interface DownloadProgress {
  downloadId: string;
  modelId: string;
  state: 'running' | 'done' | 'failed' | 'cancelled';
  /** The file being fetched now; null before the first and after the last. */
  file: string | null;
  bytes: number;
  totalBytes: number;
  bytesPerSecond: number;
  etaSeconds: number | null;
  /** Set when done: the snapshot folder. */
  dir?: string;
  error?: ApiErrorInfo;
}

// ---------------------------------------------------------------- data

export interface DataPreviewRequest {
  /** Absolute path of the data file. */
  path: string;
  /** Model source whose tokenizer counts tokens (and whose chat template "model" uses). */
  model: string;
  /** null: detect from the extension and the first row. */
  format: string | null;
  template: string;
  maxLength: number;
  trainOnPrompt: boolean;
  packing: boolean;
  /** data.prompt_column / data.response_column; null or absent finds the usual names. */
  promptColumn?: string | null;
  responseColumn?: string | null;
  /** Examples to render; the host caps it. */
  limit?: number;
}

/** One templated example, cut where training and prompt tokens meet. */
export interface PreviewExample {
  parts: { text: string; trained: boolean }[];
  tokens: number;
  trainedTokens: number;
  truncated: boolean;
}

export interface DataPreview {
  path: string;
  /** Detected (or given) format; null when the file could not be read at all. */
  format: DataFormat | null;
  stats: DatasetStats | null;
  /** Tokens in the longest example, after truncation. */
  longestTokens: number;
  examples: PreviewExample[];
  /** The first problem found, naming the line or row; the wizard shows it under the file. */
  problem: ApiErrorInfo | null;
  /** Set when the file is too big to read at each change: stats and examples cover its first `bytesRead` bytes. */
  partial?: { bytesRead: number; totalBytes: number };
  /**
   * Prompt/response data: which fields were read as what, and every field there is. With
   * no prompt or response found, the names alone (prompt and response empty), so the
   * wizard can ask.
   */
  columns: FieldGuess | null;
}

// ---------------------------------------------------------------- training configs

/**
 * What the wizard sends: a training config without `output_dir` (the host puts every run
 * under its data folder), each field optional except those the trainer requires.
 */
export type TrainConfigDraft = Omit<Partial<TrainConfig>, 'output_dir' | 'lora' | 'data'> & {
  model: string;
  lora?: Partial<TrainConfig['lora']>;
  data: Partial<TrainConfig['data']> & { train: string };
};

export interface EstimateSuggestion {
  change: string;
  /** Fields to merge into the draft to apply it (dotted keys, e.g. `data.max_length`). */
  patch: Record<string, string | number | boolean>;
  totalBytes: number;
  band: Band;
}

export interface MemoryEstimateView {
  backend: string;
  band: Band;
  totalBytes: number;
  ramBytes: number;
  /**
   * Where the run trains on a GPU (backend webgpu): the band against its memory, or its binding
   * limit where its memory is unknown, in words (core/memory/device.ts). Null on the CPU, and
   * for a software adapter, whose buffers are in RAM.
   */
  gpu: string | null;
  components: MemoryComponents;
  trainableParameters: number;
  /** The sequence length estimated for: max_length, or the data's longest example if shorter. */
  seq: number;
  /** The micro-batch estimated for: the batch size, or the training examples if fewer. */
  batch: number;
  suggestions: EstimateSuggestion[];
}

/**
 * The pre-flight check of a draft against its model and data (core/memory/preflight.ts):
 * errors stop Start, warnings are shown beside it. `examples` is null when the data is too
 * big to count while the wizard waits.
 */
export interface RunCheck extends Preflight {
  examples: number | null;
}

export interface WarmupResult {
  /** Median seconds per optimizer step over the measured steps. */
  secondsPerStep: number;
  tokensPerSecond: number;
  totalSteps: number;
  etaSeconds: number;
}

// ---------------------------------------------------------------- runs

/** Progress of a run that is training now, as the run page shows it. */
export interface LiveProgress {
  step: number;
  totalSteps: number;
  epoch: number;
  tokensPerSecond: number;
  etaSeconds: number | null;
}

export interface RunSummary extends Run {
  lastMetrics: Record<string, number>;
  live: LiveProgress | null;
}

export interface RunDetail {
  run: Run;
  /** train loss `loss`, `eval_loss`, `learning_rate`, `grad_norm`, `perplexity`, `tokens_seen`... */
  curves: Record<string, Series>;
  samples: Sample[];
  checkpoints: Checkpoint[];
  /** The run's log, last lines first dropped when long. */
  log: string[];
  live: LiveProgress | null;
  /** Present once finished: the exports this run can give. */
  exports: ExportKind[];
  /** About how many bytes each GGUF choice writes; present once finished. */
  ggufSizes?: Record<GgufQuant, number>;
}

/** The one list of export kinds: the hosts' validation, the service and the CLI all read it. */
export const EXPORT_KINDS = ['hf', 'peft', 'merged', 'gguf'] as const;
export type ExportKind = (typeof EXPORT_KINDS)[number];

/** GGUF's quantization choices (llama.cpp's file types MOSTLY_F16, MOSTLY_Q8_0, MOSTLY_Q4_K_M). */
export const GGUF_QUANTS = ['f16', 'q8_0', 'q4_k_m'] as const;
export type GgufQuant = (typeof GGUF_QUANTS)[number];

// ---------------------------------------------------------------- chat

/** What to chat with: a base model, or a run's result (adapter or full weights). */
export type ChatTarget = { kind: 'model'; source: string } | { kind: 'run'; runId: string };

export interface ChatTargetInfo {
  target: ChatTarget;
  label: string;
  /** The template the run trained with; null for a base model. */
  trainedTemplate: string | null;
}

export interface ChatRequest {
  /** null starts a new conversation. */
  conversationId: number | null;
  target: ChatTarget;
  /** The new user message. */
  text: string;
  template: string;
  sampling: SamplingOptions & { maxNewTokens: number; seed?: number };
}

export interface ChatStarted {
  conversationId: number;
  /** Tokens arrive as `chat-token` events with this id. */
  streamId: string;
  /** Set when the template differs from the one the run trained with. */
  templateWarning: string | null;
}

export interface ConversationSummary {
  id: number;
  target: ChatTarget;
  label: string;
  createdAt: number;
  messageCount: number;
  firstMessage: string;
}

export interface Conversation extends ConversationSummary {
  messages: { role: ChatRole; text: string; createdAt: number; timings: Record<string, number> | null }[];
  sampling: Record<string, unknown>;
}

// ---------------------------------------------------------------- settings

/** Choices of the two settings, read by the hosts' validation and the settings file's own check. */
export const BACKEND_SETTINGS = ['auto', 'webgpu', 'native', 'tensorflow', 'wasm', 'cpu'] as const;
export const THEME_SETTINGS = ['system', 'light', 'dark'] as const;

export interface Settings {
  /** Where runs, the store and downloads live. */
  dataDir: string;
  /** `auto` follows the backend order; others force one (TUNESMITH_BACKEND). */
  backend: (typeof BACKEND_SETTINGS)[number];
  theme: (typeof THEME_SETTINGS)[number];
  /** Whether a Hugging Face token is saved (the token itself never goes to the renderer). */
  hasHubToken: boolean;
}

export interface SettingsPatch {
  backend?: Settings['backend'];
  theme?: Settings['theme'];
  /** Empty string removes it. */
  hubToken?: string;
}

// ---------------------------------------------------------------- events

export type ApiEvent =
  | { type: 'run-event'; runId: string; event: TrainEvent }
  | { type: 'run-status'; runId: string; status: RunStatus; error: string | null }
  | { type: 'run-log'; runId: string; line: string }
  | { type: 'chat-token'; streamId: string; text: string }
  | {
      type: 'chat-end';
      streamId: string;
      text: string;
      tokens: number;
      seconds: number;
      /** The conversation's tokens the model read, and its positions (null: no limit): the context in use. */
      promptTokens: number;
      contextLimit: number | null;
      error: ApiErrorInfo | null;
    }
  | { type: 'download'; progress: DownloadProgress };

/** Where a handoff job comes from: the wizard's draft (Review step) or a recorded run. */
export type HandoffSource = { kind: 'draft'; name: string; config: TrainConfigDraft } | { kind: 'run'; runId: string };

/** A job folder for Hugging Face Trainer (see core/handoff): where it is, and what differs from training here. */
export interface HandoffJob {
  path: string;
  totalSteps: number;
  notes: string[];
}

// ---------------------------------------------------------------- the API

export interface TunesmithApi {
  appInfo(): Promise<AppInfo>;

  listCatalog(): Promise<CatalogEntry[]>;
  /** Reads a local folder's or cached Hub model's config; rejects naming what is missing. */
  inspectModel(req: { source: string }): Promise<ModelSummary>;
  pullModel(req: { modelId: string; revision?: string }): Promise<{ downloadId: string }>;
  cancelPull(req: { downloadId: string }): Promise<void>;

  previewData(req: DataPreviewRequest): Promise<DataPreview>;
  /** The built-in sample dataset (a few hundred short instruction pairs), for a first run. */
  sampleData(): Promise<{ path: string }>;
  /** Checks the draft (errors name the field) and estimates its training peak. */
  estimateMemory(req: { config: TrainConfigDraft }): Promise<MemoryEstimateView>;
  /** The pre-flight check: what would make the run fail or differ from what was asked, by field. */
  checkRun(req: { config: TrainConfigDraft }): Promise<RunCheck>;
  /** Runs a few steps in a scratch process to time them; nothing is recorded. */
  measureWarmup(req: { config: TrainConfigDraft }): Promise<WarmupResult>;

  startRun(req: { name: string; config: TrainConfigDraft }): Promise<RunSummary>;
  /** Stops after the current step, leaving a checkpoint to resume from. */
  stopRun(req: { runId: string }): Promise<void>;
  resumeRun(req: { runId: string }): Promise<RunSummary>;
  /** Continues a finished run for more epochs from its last checkpoint. */
  extendRun(req: { runId: string; extraEpochs: number }): Promise<RunSummary>;
  /** `quant` is for kind gguf (default f16): the folder then holds NAME-QUANT.gguf and its Ollama Modelfile. */
  exportRun(req: { runId: string; kind: ExportKind; destination: string; quant?: GgufQuant }): Promise<{ path: string }>;
  /** Writes a job folder that runs the recipe under Hugging Face Trainer on GPUs or a cluster (a new folder). */
  handOffRun(req: { from: HandoffSource; destination: string }): Promise<HandoffJob>;
  /** Records a Trainer output folder (trainer_state.json + final/) as a completed run, tagged imported. */
  importRun(req: { folder: string }): Promise<RunSummary>;

  listRuns(): Promise<RunSummary[]>;
  getRun(req: { runId: string }): Promise<RunDetail>;
  compareRuns(req: { runIds: string[] }): Promise<RunComparison>;
  tagRun(req: { runId: string; tag: string }): Promise<void>;
  untagRun(req: { runId: string; tag: string }): Promise<void>;
  /** What deleteRun with removeFiles would remove: only what the run recorded writing, and the folders it made once empty. */
  runFiles(req: { runId: string }): Promise<string[]>;
  deleteRun(req: { runId: string; removeFiles: boolean }): Promise<void>;

  listChatTargets(): Promise<ChatTargetInfo[]>;
  chat(req: ChatRequest): Promise<ChatStarted>;
  stopChat(req: { streamId: string }): Promise<void>;
  listConversations(): Promise<ConversationSummary[]>;
  getConversation(req: { conversationId: number }): Promise<Conversation>;

  getSettings(): Promise<Settings>;
  updateSettings(req: SettingsPatch): Promise<Settings>;
  /** Electron: a native open dialog. Web host: always null (the UI offers a path field). */
  pickPath(req: { kind: 'file' | 'folder'; title: string }): Promise<string | null>;
  /** Electron: opens a folder in the system's file manager, true once shown. Web host: always false. */
  showFolder(req: { path: string }): Promise<boolean>;

  /** Subscribes to every event; returns the unsubscribe function. Not a request. */
  onEvent(listener: (event: ApiEvent) => void): () => void;
}

/** The request/response members: everything but the event subscription. */
export type ApiMethod = Exclude<keyof TunesmithApi, 'onEvent'>;

/** The request object a member takes (`undefined` for none). */
export type ApiRequest<M extends ApiMethod> = Parameters<TunesmithApi[M]>[0];
export type ApiResponse<M extends ApiMethod> = Awaited<ReturnType<TunesmithApi[M]>>;

/** What a host serves: every request member; events go out through the host's own channel. */
export type ApiService = Pick<TunesmithApi, ApiMethod>;

/** Every request member, in one list, so hosts and bridges cannot miss one. */
export const API_METHODS = [
  'appInfo',
  'listCatalog',
  'inspectModel',
  'pullModel',
  'cancelPull',
  'previewData',
  'sampleData',
  'estimateMemory',
  'checkRun',
  'measureWarmup',
  'startRun',
  'stopRun',
  'resumeRun',
  'extendRun',
  'exportRun',
  'handOffRun',
  'importRun',
  'listRuns',
  'getRun',
  'compareRuns',
  'tagRun',
  'untagRun',
  'runFiles',
  'deleteRun',
  'listChatTargets',
  'chat',
  'stopChat',
  'listConversations',
  'getConversation',
  'getSettings',
  'updateSettings',
  'pickPath',
  'showFolder',
] as const satisfies readonly ApiMethod[];

// A member missing from API_METHODS fails to compile here.
type MissingMethods = Exclude<ApiMethod, (typeof API_METHODS)[number]>;
const allMethodsListed: MissingMethods extends never ? true : MissingMethods = true;
void allMethodsListed;

/** IPC channel prefix; keeps our channels apart from any a library might register. */
export const CHANNEL_PREFIX = 'tunesmith:';
/** The one channel events travel on, main → renderer. */
export const EVENT_CHANNEL = 'tunesmith:event';
