// A run's prompt template written for the chat apps that read GGUF: as the Jinja
// `tokenizer.chat_template` llama.cpp and LM Studio render, and as the Go template of an
// Ollama Modelfile, with the stop strings that end an answer. Both spell out the same
// turns core/data/templates.ts trains on, answer followed by the EOS token.
import { stopStrings as templateStops } from '../../data/templates';
import { DEFAULT_SAMPLING } from '../../generate/sampling';

/** Text around each role's content, as the trainer lays a conversation out. */
interface Turns {
  system: [string, string];
  user: [string, string];
  assistant: [string, string];
}

const ALPACA_PREFIX = 'Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n### Instruction:\n';

/** The built-in templates that lay out chat turns; "none" adds no text and "model" already is Jinja. */
const TURNS: Record<string, Turns> = {
  human_assistant: { system: ['', '\n\n'], user: ['Human: ', '\n\nAssistant: '], assistant: ['', ''] },
  chatml: {
    system: ['<|im_start|>system\n', '<|im_end|>\n'],
    user: ['<|im_start|>user\n', '<|im_end|>\n'],
    assistant: ['<|im_start|>assistant\n', '<|im_end|>\n'],
  },
  // Chat apps send a message, not an instruction/input pair: the message is the instruction.
  alpaca: { system: ['', ''], user: [ALPACA_PREFIX, '\n\n### Response:\n'], assistant: ['', ''] },
};

const jinjaString = (s: string) => JSON.stringify(s);

/**
 * The Jinja chat template for a run's template, or null when there is none to write
 * ("none"). "model" keeps the model's own template.
 */
export function jinjaChatTemplate(template: string, modelTemplate: string | null): string | null {
  if (template === 'model') return modelTemplate;
  const t = TURNS[template];
  if (!t) return null;
  const role = (r: keyof Turns) => `${jinjaString(t[r][0])} + message['content'] + ${jinjaString(t[r][1])}`;
  return (
    "{% for message in messages %}" +
    `{% if message['role'] == 'system' %}{{ ${role('system')} }}` +
    `{% elif message['role'] == 'user' %}{{ ${role('user')} }}` +
    `{% else %}{{ ${role('assistant')} + eos_token }}{% endif %}` +
    "{% endfor %}" +
    `{% if add_generation_prompt %}{{ ${jinjaString(t.assistant[0])} }}{% endif %}`
  );
}

const goString = (s: string) => s.replace(/\{\{/g, '{{ "{{" }}');

/** The Ollama TEMPLATE (Go text/template over .System and .Messages) for the same turns, or null. */
export function ollamaTemplate(template: string): string | null {
  const t = TURNS[template];
  if (!t) return null;
  const [sys, user, asst] = [t.system, t.user, t.assistant].map(([a, b]) => [goString(a), goString(b)]);
  return (
    `{{- if .System }}${sys[0]}{{ .System }}${sys[1]}{{ end }}` +
    '{{- range $i, $m := .Messages }}' +
    `{{- if eq $m.Role "user" }}${user[0]}{{ $m.Content }}${user[1]}${asst[0]}` +
    `{{- else if eq $m.Role "assistant" }}{{ $m.Content }}${asst[1]}{{ end }}` +
    '{{- end }}'
  );
}

/** The strings that end an answer in a chat app: EOS, and the template's own markers (the Playground stops at the same). */
export function stopStrings(template: string, eosToken: string | null): string[] {
  return [...(eosToken ? [eosToken] : []), ...templateStops(template)];
}

/** A Modelfile that `ollama create NAME -f Modelfile` turns into a model, with the Playground's sampling defaults. */
export function modelfile(ggufFileName: string, template: string, eosToken: string | null, maxNewTokens: number): string {
  const lines = [`FROM ./${ggufFileName}`];
  const go = ollamaTemplate(template);
  if (go) lines.push(`TEMPLATE """${go}"""`);
  for (const stop of stopStrings(template, eosToken)) lines.push(`PARAMETER stop ${JSON.stringify(stop)}`);
  lines.push(
    `PARAMETER temperature ${DEFAULT_SAMPLING.temperature}`,
    `PARAMETER top_k ${DEFAULT_SAMPLING.topK}`,
    `PARAMETER top_p ${DEFAULT_SAMPLING.topP}`,
    `PARAMETER repeat_penalty ${DEFAULT_SAMPLING.repetitionPenalty}`,
    `PARAMETER num_predict ${maxNewTokens}`,
  );
  return `${lines.join('\n')}\n`;
}
