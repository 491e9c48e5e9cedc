// Prompt templates: how a sample becomes text, split into the parts the model is trained
// on (the answers) and the parts it only reads. Each part is tokenized on its own, so a
// prompt's tokens never merge with the answer's and the label mask falls on a token edge.
import type { TextTokenizer } from '../tokenizer/tokenizer';
import { modelTemplate } from './chat-template';
import { DataError } from './errors';
import { asMessages, type Sample } from './records';

export const TEMPLATES = ['human_assistant', 'alpaca', 'chatml', 'none', 'model'] as const;
export type TemplateName = (typeof TEMPLATES)[number];

export interface Segment {
  text: string;
  /** Whether its tokens get labels; the rest get -100 unless training on the prompt. */
  train: boolean;
  /** Append the EOS id after this segment's tokens, so the model learns to stop there. */
  eos: boolean;
}

export type Template = (sample: Sample) => Segment[];

// Python's str.isspace() set, so `strip()` here cuts exactly what the reference recipe's does.
const PY_SPACE = '[\\t-\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]+';
const PY_STRIP = new RegExp(`^${PY_SPACE}|${PY_SPACE}$`, 'g');

function pythonStrip(s: string): string {
  return s.replace(PY_STRIP, '');
}

/** How a turn-by-turn template writes each role; the answer text is what gets trained. */
interface TurnFormat {
  system(content: string): string;
  user(content: string): string;
  assistant(content: string): { prompt: string; answer: string };
}

function turnTemplate(format: TurnFormat): Template {
  return (sample) =>
    asMessages(sample).flatMap((m): Segment[] => {
      if (m.role !== 'assistant') return [{ text: format[m.role](m.content), train: false, eos: false }];
      const { prompt, answer } = format.assistant(m.content);
      return [
        { text: prompt, train: false, eos: false },
        { text: answer, train: true, eos: true },
      ];
    });
}

const humanAssistant = turnTemplate({
  system: (content) => `${content}\n\n`,
  // For an instruction this is the reference recipe's `"Human: {instruction}\n{input}".strip()`.
  user: (content) => `${pythonStrip(`Human: ${content}`)}\n\nAssistant: `,
  assistant: (answer) => ({ prompt: '', answer }),
});

const chatml = turnTemplate({
  system: (content) => `<|im_start|>system\n${content}<|im_end|>\n`,
  user: (content) => `<|im_start|>user\n${content}<|im_end|>\n`,
  assistant: (content) => ({ prompt: '<|im_start|>assistant\n', answer: `${content}<|im_end|>\n` }),
});

/** The data already holds whatever text the prompt needs. */
const none = turnTemplate({
  system: (content) => content,
  user: (content) => content,
  assistant: (answer) => ({ prompt: '', answer }),
});

const ALPACA_WITH_INPUT =
  'Below is an instruction that describes a task, paired with an input that provides further context. ' +
  'Write a response that appropriately completes the request.\n\n### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n### Response:\n';
const ALPACA_NO_INPUT =
  'Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n' +
  '### Instruction:\n{instruction}\n\n### Response:\n';

const alpaca: Template = (sample) => {
  if (sample.kind !== 'instruction') {
    throw new DataError('the alpaca template needs instruction data (instruction/input/output); for chat data use human_assistant, chatml, none or model');
  }
  // A function replacement, so "$&" and the like in the data stay literal.
  const prompt = (sample.input ? ALPACA_WITH_INPUT : ALPACA_NO_INPUT)
    .replace('{instruction}', () => sample.instruction)
    .replace('{input}', () => sample.input);
  return [
    { text: prompt, train: false, eos: false },
    { text: sample.output, train: true, eos: true },
  ];
};

/**
 * Text that starts the next turn in a template, where a reply has gone past its answer. The
 * trained answer ends with EOS, but ChatML's end marker is plain text in GPT-2's and BLOOM's
 * vocabularies (the model writes `<|im_end|>` before its EOS), and a model that has not
 * learned to stop goes on with the next question. A model's own Jinja template and `none`
 * have no marker known here: EOS alone ends them.
 */
const STOP_STRINGS: Record<TemplateName, readonly string[]> = {
  human_assistant: ['\nHuman:'],
  alpaca: ['### Instruction:'],
  chatml: ['<|im_end|>', '<|im_start|>'],
  none: [],
  model: [],
};

export function stopStrings(name: string): readonly string[] {
  return Object.hasOwn(STOP_STRINGS, name) ? STOP_STRINGS[name as TemplateName] : [];
}

const BUILT_IN: Record<Exclude<TemplateName, 'model'>, Template> = { human_assistant: humanAssistant, alpaca, chatml, none };

/** `chatTemplate` is the model's Jinja chat template (see readChatTemplate), used by `model`. */
export function getTemplate(name: string, chatTemplate: string | null, tokenizer: TextTokenizer): Template {
  if (name === 'model') {
    if (chatTemplate === null) {
      throw new DataError('template "model" uses the model\'s chat template, and this model has none; choose human_assistant, alpaca, chatml or none');
    }
    return modelTemplate(chatTemplate, tokenizer);
  }
  if (Object.hasOwn(BUILT_IN, name)) return BUILT_IN[name as keyof typeof BUILT_IN];
  throw new DataError(`unknown template "${name}" (expected one of ${TEMPLATES.join(', ')})`);
}
