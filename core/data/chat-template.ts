// The `model` template: the Jinja chat template a model ships in tokenizer_config.json
// (or, from newer transformers, chat_template.jinja), rendered as `apply_chat_template` does.
import fs from 'node:fs';
import path from 'node:path';
import { Template as Jinja } from '@huggingface/jinja';
import { readJsonFile } from '../checkpoint/model-folder';
import type { TextTokenizer } from '../tokenizer/tokenizer';
import { DataError } from './errors';
import { asMessages, type Message } from './records';
import type { Segment, Template } from './templates';

/** The model folder's default chat template, or null when it has none. */
export function readChatTemplate(modelDir: string): string | null {
  const jinjaFile = path.join(modelDir, 'chat_template.jinja');
  if (fs.existsSync(jinjaFile)) return fs.readFileSync(jinjaFile, 'utf8');
  const configFile = path.join(modelDir, 'tokenizer_config.json');
  if (!fs.existsSync(configFile)) return null;
  const value = (readJsonFile(configFile) as Record<string, unknown>).chat_template;
  if (typeof value === 'string') return value;
  // Some models list named templates; `apply_chat_template` uses the one called "default".
  if (Array.isArray(value)) {
    const named = value.find((t) => t?.name === 'default');
    if (typeof named?.template === 'string') return named.template;
  }
  return null;
}

/**
 * Renders the conversation cut after each assistant turn, with and without that turn,
 * to find where each answer starts and ends in the full text. Needs a template whose
 * output for a shorter conversation is a prefix of the longer one's, as most are.
 */
export function modelTemplate(source: string, tokenizer: TextTokenizer): Template {
  let jinja: Jinja;
  try {
    jinja = new Jinja(source);
  } catch (err) {
    throw new DataError(`the model's chat template does not parse (${(err as Error).message})`);
  }
  const tokens = specialTokenStrings(tokenizer);
  const render = (messages: Message[], addGenerationPrompt: boolean): string =>
    jinja.render({ ...tokens, messages, add_generation_prompt: addGenerationPrompt });

  return (sample) => {
    const messages = asMessages(sample);
    const full = render(messages, false);
    const segments: Segment[] = [];
    let done = 0;
    messages.forEach((m, i) => {
      if (m.role !== 'assistant') return;
      const before = render(messages.slice(0, i), true);
      const through = render(messages.slice(0, i + 1), false);
      if (before.length < done || !through.startsWith(before) || !full.startsWith(through)) {
        throw new DataError("the model's chat template does not render a conversation turn by turn, so its answers cannot be found; choose another template");
      }
      segments.push(
        { text: full.slice(done, before.length), train: false, eos: false },
        { text: full.slice(before.length, through.length), train: true, eos: false },
      );
      done = through.length;
    });
    segments.push({ text: full.slice(done), train: false, eos: false });
    return segments;
  };
}

/** Templates write `{{ bos_token }}` and the like; their text, as the tokenizer spells them. */
function specialTokenStrings(tokenizer: TextTokenizer): Record<string, string> {
  const strings: Record<string, string> = {};
  for (const [key, id] of Object.entries(tokenizer.special)) {
    if (id !== null) strings[`${key}_token`] = tokenizer.decode([id]);
  }
  return strings;
}
