// The inference worker's side of chat: one generation at a time, streamed as text pieces,
// stoppable between tokens. Independent of how the process talks to its parent.
import { errorInfo } from '../api/errors';
import { initBackend } from '../engine/backend';
import { generateTokens } from '../generate/generate';
import { stopStrings } from '../data/templates';
import { chatBudget, chatPromptIds } from './chat-prompt';
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
    const timings: GenerationTimings = { loadSeconds: 0, promptTokens: 0, contextLimit: 0, tokens: 0, seconds: 0, tokensPerSecond: 0 };
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
        const conversation = chatPromptIds(req.messages, req.template, chat.chatTemplate, chat.tokenizer);
        const contextLimit = chat.model.config.maxPositions;
        const budget = chatBudget(conversation.length, contextLimit, req.sampling.maxNewTokens);
        const promptIds = conversation.slice(conversation.length - budget.promptTokens);
        timings.promptTokens = promptIds.length;
        timings.contextLimit = contextLimit ?? 0;
        const stream = (text = new TextStream((ids) => chat.tokenizer.decode(ids, true), stopStrings(req.template)));
        const started = performance.now();
        const eosId = chat.tokenizer.special.eos ?? chat.model.config.eosTokenId;
        for (const id of generateTokens(chat.model, promptIds, { ...req.sampling, maxNewTokens: budget.newTokens, eosId, forward: chat.forward })) {
          send(stream.push(id));
          if (stream.stopped) break;
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
