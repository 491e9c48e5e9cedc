// Messages between the app service and its inference worker process.
import type { ApiErrorInfo, ChatRequest } from '../api/contract';
import type { Message } from '../data/records';

/** Where a chat target's weights are: a model folder (with its tokenizer), and a LoRA adapter on it or not. */
export interface ModelFiles {
  modelDir: string;
  adapterDir: string | null;
}

export interface GenerateRequest {
  type: 'generate';
  streamId: string;
  files: ModelFiles;
  /** The conversation so far, ending with the user's new message. */
  messages: Message[];
  template: string;
  sampling: ChatRequest['sampling'];
}

export type InferenceRequest = GenerateRequest | { type: 'stop'; streamId: string };

/** A type, not an interface, so it is a Record<string, number> as the store's message timings are. */
export type GenerationTimings = {
  /** Reading the weights; 0 when the model was already loaded. */
  loadSeconds: number;
  /** The conversation's tokens the model read (older turns cut when it had too many). */
  promptTokens: number;
  /** The model's positions (n_positions); 0 when it has no limit (BLOOM). */
  contextLimit: number;
  tokens: number;
  /** From the first forward pass to the last token. */
  seconds: number;
  tokensPerSecond: number;
};

export type InferenceReply =
  | { type: 'token'; streamId: string; text: string }
  /** `text` is every token piece joined; with an error, what was generated before it. */
  | { type: 'end'; streamId: string; text: string; timings: GenerationTimings; stopped: boolean; error: ApiErrorInfo | null };
