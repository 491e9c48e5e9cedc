// The prompt templates a pane can chat with. core/data/templates.ts owns them, but it also
// pulls in the Jinja renderer and Node's fs, so the page keeps the names and the compiler
// checks that the two lists match.
import type { ChatTargetInfo } from '../../../core/api/contract';
import type { TemplateName } from '../../../core/data/templates';

export const TEMPLATE_LABELS = {
  human_assistant: 'Human / Assistant',
  alpaca: 'Alpaca',
  chatml: 'ChatML',
  none: 'None (plain text)',
  model: 'The model’s own chat template',
} as const satisfies Record<TemplateName, string>;

// A template core adds without a label here fails to compile.
type Unlabelled = Exclude<TemplateName, keyof typeof TEMPLATE_LABELS>;
const allLabelled: Unlabelled extends never ? true : Unlabelled = true;
void allLabelled;

export const TEMPLATE_NAMES = Object.keys(TEMPLATE_LABELS) as TemplateName[];

/** What training uses unless told otherwise, so a base model is prompted the way runs start. */
export const DEFAULT_TEMPLATE: TemplateName = 'human_assistant';

export function templateFor(info: ChatTargetInfo | undefined): string {
  return info?.trainedTemplate ?? DEFAULT_TEMPLATE;
}

function labelOf(template: string): string {
  return (TEMPLATE_LABELS as Record<string, string>)[template] ?? template;
}

/** A warning when the pane prompts a run differently from how it was trained; null otherwise. */
export function templateMismatch(info: ChatTargetInfo | undefined, template: string): string | null {
  const trained = info?.trainedTemplate;
  if (!trained || trained === template) return null;
  return `This run was trained with the ${labelOf(trained)} template; with ${labelOf(template)} its replies may be worse.`;
}
