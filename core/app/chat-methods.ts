// Chat with a base model or a run's result: the conversation is saved in the store, the
// answer is generated in the inference worker and streamed as chat-token events, ending
// with chat-end, after which the answer is saved with its timings.
import { randomUUID } from 'node:crypto';
import type { ApiService, ChatRequest, ChatStarted, Conversation, ConversationSummary } from '../api/contract';
import { TEMPLATES } from '../data/templates';
import { conversationTarget, listChatTargets, resolveChatTarget, sameTarget, type ResolvedTarget } from './chat-targets';
import { InferenceClient, type StreamEnd } from './inference-client';
import type { AppServiceContext } from './service-context';
import { backendEnv } from './settings';

type ChatContext = Pick<AppServiceContext, 'home' | 'store' | 'emit' | 'launcher' | 'modelDir'>;

export type ChatMethods = Pick<ApiService, 'listChatTargets' | 'chat' | 'stopChat' | 'listConversations' | 'getConversation'> & { dispose(): void };

export function createChatMethods(ctx: ChatContext): ChatMethods {
  const inference = new InferenceClient(() => ctx.launcher('inference', backendEnv(ctx.home)));

  function openConversation(req: ChatRequest, target: ResolvedTarget): number {
    if (req.conversationId === null) {
      return ctx.store.createChatSession({
        modelSource: target.modelSource,
        adapterPath: target.files.adapterDir ?? undefined,
        runId: req.target.kind === 'run' ? req.target.runId : undefined,
        sampling: { ...req.sampling, template: req.template },
      });
    }
    const session = ctx.store.getChatSession(req.conversationId);
    if (!session) throw new Error(`no conversation with id ${req.conversationId}`);
    const was = conversationTarget(ctx.store, session);
    if (!sameTarget(was.target, req.target)) throw new Error(`conversation ${req.conversationId} is with ${was.label}; start a new conversation to chat with ${target.label}`);
    return session.id;
  }

  function finishAnswer(conversationId: number, streamId: string, end: StreamEnd): void {
    // Saved even when empty (a failure, or a stop before the first token), so every question has its answer.
    ctx.store.addChatMessage(conversationId, { role: 'assistant', text: end.text, timings: end.timings });
    const { tokens, seconds, promptTokens, contextLimit } = end.timings;
    ctx.emit({ type: 'chat-end', streamId, text: end.text, tokens, seconds, promptTokens, contextLimit: contextLimit > 0 ? contextLimit : null, error: end.error });
  }

  return {
    async listChatTargets() {
      return listChatTargets(ctx);
    },

    async chat(req): Promise<ChatStarted> {
      if (!(TEMPLATES as readonly string[]).includes(req.template)) throw new Error(`unknown template "${req.template}" (expected one of ${TEMPLATES.join(', ')})`);
      const target = resolveChatTarget(ctx, req.target);
      const conversationId = openConversation(req, target);
      ctx.store.addChatMessage(conversationId, { role: 'user', text: req.text });
      const messages = ctx.store.getChatSession(conversationId)!.messages.map((m) => ({ role: m.role, content: m.text }));
      const streamId = randomUUID();
      inference.generate(
        { type: 'generate', streamId, files: target.files, messages, template: req.template, sampling: req.sampling },
        {
          onToken: (text) => ctx.emit({ type: 'chat-token', streamId, text }),
          onEnd: (end) => finishAnswer(conversationId, streamId, end),
        },
      );
      const trained = target.trainedTemplate;
      const templateWarning =
        trained !== null && trained !== req.template ? `${target.label} was trained with the "${trained}" template; with "${req.template}" its answers may be worse` : null;
      return { conversationId, streamId, templateWarning };
    },

    async stopChat({ streamId }) {
      inference.stop(streamId);
    },

    async listConversations(): Promise<ConversationSummary[]> {
      return ctx.store.listChatSessions().map((s) => {
        const { target, label } = conversationTarget(ctx.store, s);
        return { id: s.id, target, label, createdAt: s.createdAt, messageCount: s.messageCount, firstMessage: s.firstMessage };
      });
    },

    async getConversation({ conversationId }): Promise<Conversation> {
      const session = ctx.store.getChatSession(conversationId);
      if (!session) throw new Error(`no conversation with id ${conversationId}`);
      const { target, label } = conversationTarget(ctx.store, session);
      const firstUser = session.messages.find((m) => m.role === 'user');
      return {
        id: session.id,
        target,
        label,
        createdAt: session.createdAt,
        messageCount: session.messages.length,
        firstMessage: firstUser?.text ?? '',
        messages: session.messages.map(({ role, text, createdAt, timings }) => ({ role, text, createdAt, timings })),
        sampling: session.sampling,
      };
    },

    dispose() {
      inference.dispose();
    },
  };
}
