// Routes `chat-token` / `chat-end` events to the reply they belong to. The host may send a
// stream's first events before the `chat` call that started it has answered (they travel
// on another channel), so events for a stream nobody has claimed yet are held while a call
// is in flight, and handed over when the call answers with that stream's id.
import type { ApiEvent } from '../../../core/api/contract';

export type ChatEnd = Extract<ApiEvent, { type: 'chat-end' }>;
type StreamEvent = Extract<ApiEvent, { type: 'chat-token' | 'chat-end' }>;

export interface StreamHandler {
  token(text: string): void;
  end(event: ChatEnd): void;
}

export class ChatStreams {
  #handlers = new Map<string, StreamHandler>();
  #early = new Map<string, StreamEvent[]>();
  #inFlight = 0;

  /** Call with the `chat` call's promise as soon as it is made; resolves with its answer. */
  async track<T extends { streamId: string }>(started: Promise<T>, handler: StreamHandler): Promise<T> {
    this.#inFlight++;
    try {
      const answer = await started;
      this.#handlers.set(answer.streamId, handler);
      const early = this.#early.get(answer.streamId) ?? [];
      this.#early.delete(answer.streamId);
      for (const event of early) this.#deliver(event);
      return answer;
    } finally {
      // With no call in flight, whatever is still held belongs to another window's chats.
      if (--this.#inFlight === 0) this.#early.clear();
    }
  }

  dispatch(event: ApiEvent): void {
    if (event.type !== 'chat-token' && event.type !== 'chat-end') return;
    if (this.#handlers.has(event.streamId)) {
      this.#deliver(event);
    } else if (this.#inFlight > 0) {
      const held = this.#early.get(event.streamId) ?? [];
      held.push(event);
      this.#early.set(event.streamId, held);
    }
  }

  #deliver(event: StreamEvent): void {
    const handler = this.#handlers.get(event.streamId);
    if (!handler) return;
    if (event.type === 'chat-token') {
      handler.token(event.text);
    } else {
      this.#handlers.delete(event.streamId);
      handler.end(event);
    }
  }
}
