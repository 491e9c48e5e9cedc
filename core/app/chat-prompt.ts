// A conversation as the prompt a model continues: templated and tokenized turn by turn as
// the trainer does (earlier answers end with EOS), cut where the next answer starts.
import type { Message, Sample } from '../data/records';
import { getTemplate } from '../data/templates';
import { encodeSegments } from '../data/tokenize';
import type { TextTokenizer } from '../tokenizer/tokenizer';

export function chatPromptIds(messages: readonly Message[], templateName: string, chatTemplate: string | null, tokenizer: TextTokenizer): number[] {
  const template = getTemplate(templateName, chatTemplate, tokenizer);
  const open: Message[] = [...answeredTurns(messages), { role: 'assistant', content: '' }];
  const segments = samplesFor(templateName, open).flatMap(template);
  const answer = segments.findLastIndex((s) => s.train);
  return encodeSegments(segments.slice(0, answer), tokenizer, false).input_ids;
}

/**
 * The conversation without questions that got no answer (it failed, or was stopped before its
 * first token): such a question is saved with an empty answer, and the model should not read
 * it as answered with nothing, nor as two questions in a row. The last message is the new question.
 */
function answeredTurns(messages: readonly Message[]): Message[] {
  const answered = (m: Message | undefined) => m?.role === 'assistant' && m.content !== '';
  return messages.filter((m, i) => {
    if (m.role === 'assistant') return answered(m);
    return m.role !== 'user' || i === messages.length - 1 || answered(messages[i + 1]);
  });
}

/** Alpaca knows one instruction and its response, so each exchange is a record of its own, back to back. */
function samplesFor(templateName: string, messages: Message[]): Sample[] {
  if (templateName !== 'alpaca') return [{ kind: 'chat', messages }];
  return messages.flatMap((m, i): Sample[] => {
    if (m.role !== 'user') return [];
    const next = messages[i + 1];
    return [{ kind: 'instruction', instruction: m.content, input: '', output: next?.role === 'assistant' ? next.content : '' }];
  });
}

export interface ChatBudget {
  /** How many of the prompt's last tokens are kept. */
  promptTokens: number;
  /** The most tokens the answer may have. */
  newTokens: number;
}

/**
 * Shares a model's positions between the conversation and the answer. GPT-2 reads at most
 * n_positions tokens, so asking for more new tokens than are left would fail (a 128-position
 * model and the default 128 new tokens never fit). The answer gets what the conversation leaves,
 * but at least half the context (when asked for that much): older turns are cut for it,
 * the latest matter most. A model without a position limit (BLOOM's ALiBi) keeps everything.
 */
export function chatBudget(promptLength: number, maxPositions: number | null, maxNewTokens: number): ChatBudget {
  if (maxPositions === null || promptLength + maxNewTokens <= maxPositions) return { promptTokens: promptLength, newTokens: maxNewTokens };
  const answer = Math.min(maxNewTokens, maxPositions - 1, Math.max(maxPositions - promptLength, Math.floor(maxPositions / 2)));
  return { promptTokens: Math.min(promptLength, maxPositions - answer), newTokens: answer };
}
