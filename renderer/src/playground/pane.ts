// One Playground pane's state: what it chats with and the conversation so far.
import type { ChatTargetInfo, Conversation } from '../../../core/api/contract';
import type { ChatRole } from '../../../core/store/chat';
import { findTarget, targetKey } from './targets';
import { templateFor } from './templates';

export interface ChatTurn {
  role: ChatRole;
  text: string;
  /** True while tokens are still arriving. */
  streaming: boolean;
  /** e.g. "24 tokens · 12.3 tokens/s", once the reply is done. */
  rate: string | null;
  error: unknown;
}

export interface PaneState {
  /** Stable across reorders, for keyed lists and element ids. */
  id: number;
  /** '' while no target is chosen. */
  targetKey: string;
  template: string;
  /** null until the first message starts one in the store. */
  conversationId: number | null;
  /** The reply being streamed now, if any. */
  streamId: string | null;
  /** The host's word on the template, from the last `chat` answer. */
  templateWarning: string | null;
  turns: ChatTurn[];
  /** A note about the pane itself (e.g. a reopened conversation's target is gone). */
  notice: string | null;
  /** The tokens the last reply's model read and wrote, against its positions (null: no limit); null before a reply. */
  context: { used: number; limit: number | null } | null;
}

export function newPane(id: number, info: ChatTargetInfo | undefined): PaneState {
  return {
    id,
    targetKey: info ? targetKey(info.target) : '',
    template: templateFor(info),
    conversationId: null,
    streamId: null,
    templateWarning: null,
    turns: [],
    notice: null,
    context: null,
  };
}

/** null for an empty reply (one that failed before its first token). */
export function formatRate(tokens: number, seconds: number): string | null {
  if (tokens === 0) return null;
  const count = `${tokens} token${tokens === 1 ? '' : 's'}`;
  if (!(seconds > 0)) return count;
  return `${count} · ${(tokens / seconds).toFixed(1)} tokens/s`;
}

export function turnsFromConversation(conversation: Conversation): ChatTurn[] {
  return conversation.messages.map((m) => {
    const rate = m.timings?.tokensPerSecond;
    // An empty answer is saved when a reply failed or was stopped before its first token.
    const error = m.role === 'assistant' && m.text === '' ? new Error('No answer: the reply failed or was stopped before it began') : null;
    return { role: m.role, text: m.text, streaming: false, rate: rate === undefined ? null : `${rate.toFixed(1)} tokens/s`, error };
  });
}

/** A saved conversation in pane `id`, ready to continue unless its target is gone. */
export function paneFromConversation(id: number, conversation: Conversation, targets: readonly ChatTargetInfo[]): PaneState {
  const info = findTarget(targets, targetKey(conversation.target));
  const pane = newPane(id, info);
  pane.turns = turnsFromConversation(conversation);
  if (info) pane.conversationId = conversation.id;
  else pane.notice = `${conversation.label} is no longer available. Pick a target to chat on; that starts a new conversation.`;
  return pane;
}

export function isStreaming(pane: PaneState): boolean {
  return pane.turns.some((t) => t.streaming);
}

/** The pane's context line, e.g. "Context: 54 of 128 tokens"; null before the first reply. */
export function contextLine(context: PaneState['context']): { text: string; full: boolean } | null {
  if (!context) return null;
  if (context.limit === null) return { text: `Context: ${context.used} tokens (this model has no fixed limit)`, full: false };
  const full = context.used >= context.limit;
  const text = `Context: ${context.used} of ${context.limit} tokens`;
  return { text: full ? `${text}: full, so the oldest turns are left out of what the model reads` : text, full };
}
