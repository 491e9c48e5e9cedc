// The inference worker's side of chat: one generation at a time, streamed as text pieces,
// stoppable between tokens. Independent of how the process talks to its parent.
import { errorInfo } from '../api/errors';
import { initBackend } from '../engine/backend';
import { generateTokens } from '../generate/generate';
import { chatPromptIds } from './chat-prompt';
import { ChatModelCache } from './inference-models';
import type { GenerateRequest, GenerationTimings, InferenceReply, InferenceRequest } from './inference-protocol';
import { TextStream } from './text-stream';

export interface InferenceChannel {
  send(message: InferenceReply): void;
  onMessage(listener: (message: InferenceRequest) => void): void;
}

export function serveInference(channel: InferenceChannel): void {
  const ready = initBackend();
  const models = new ChatModelCache();
  const pending = new Set<string>();
  const stopped = new Set<string>();
  let queue = Promise.resolve();

  channel.onMessage((message) => {
    if (message.type === 'stop') {
      if (pending.has(message.streamId)) stopped.add(message.streamId);
      return;
    }
    pending.add(message.streamId);
    queue = queue.then(async () => {
      await reply(message);
      pending.delete(message.streamId);
      stopped.delete(message.streamId);
    });
  });

  async function reply(req: GenerateRequest): Promise<void> {
    const timings: GenerationTimings = { loadSeconds: 0, promptTokens: 0, tokens: 0, seconds: 0, tokensPerSecond: 0 };
    const isStopped = () => stopped.has(req.streamId);
    let text: TextStream | null = null;
    const send = (piece: string) => {
      if (piece) channel.send({ type: 'token', streamId: req.streamId, text: piece });
    };
    try {
      if (!isStopped()) {
        await ready;
        const loadStart = performance.now();
        const chat = models.get(req.files);
        timings.loadSeconds = (performance.now() - loadStart) / 1000;
        const promptIds = fitToPositions(chatPromptIds(req.messages, req.template, chat.chatTemplate, chat.tokenizer), chat.model.config.maxPositions, req.sampling.maxNewTokens);
        timings.promptTokens = promptIds.length;
        const stream = (text = new TextStream((ids) => chat.tokenizer.decode(ids, true)));
        const started = performance.now();
        const eosId = chat.tokenizer.special.eos ?? chat.model.config.eosTokenId;
        for (const id of generateTokens(chat.model, promptIds, { ...req.sampling, eosId, forward: chat.forward })) {
          send(stream.push(id));
          // Lets a stop message in; leaving the loop frees the KV cache.
          await nextTurn();
          if (isStopped()) break;
        }
        send(stream.finish());
        timings.seconds = (performance.now() - started) / 1000;
        timings.tokens = stream.tokens;
        timings.tokensPerSecond = timings.seconds > 0 ? stream.tokens / timings.seconds : 0;
      }
      channel.send({ type: 'end', streamId: req.streamId, text: text?.text ?? '', timings, stopped: isStopped(), error: null });
    } catch (err) {
      channel.send({ type: 'end', streamId: req.streamId, text: text?.text ?? '', timings, stopped: isStopped(), error: errorInfo(err) });
    }
  }
}

function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** A conversation longer than the model's positions keeps its end: the latest turns matter most. */
function fitToPositions(ids: number[], maxPositions: number | null, maxNewTokens: number): number[] {
  if (maxPositions === null || ids.length + maxNewTokens <= maxPositions) return ids;
  const room = maxPositions - maxNewTokens;
  if (room < 1) throw new Error(`max new tokens (${maxNewTokens}) must be below this model's ${maxPositions} positions`);
  return ids.slice(-room);
}
