// The shapes data takes between a file and the trainer: samples as the user wrote them,
// then examples as token ids.

export type Role = 'system' | 'user' | 'assistant';

export interface Message {
  role: Role;
  content: string;
}

export interface Instruction {
  kind: 'instruction';
  instruction: string;
  /** '' when the record has none. */
  input: string;
  output: string;
}

export interface Chat {
  kind: 'chat';
  messages: Message[];
}

export type Sample = Instruction | Chat;

/** A one-turn conversation; the input follows the instruction on its own line. */
export function asMessages(sample: Sample): Message[] {
  if (sample.kind === 'chat') return sample.messages;
  const user = sample.input ? `${sample.instruction}\n${sample.input}` : sample.instruction;
  return [
    { role: 'user', content: user },
    { role: 'assistant', content: sample.output },
  ];
}

/** Labels use -100 where no loss is taken, as PyTorch's cross-entropy `ignore_index`. */
export { IGNORE_INDEX } from '../ops/cross-entropy';

/** One training sequence; `labels` is aligned with `input_ids` (the loss shifts them). */
export interface Example {
  input_ids: number[];
  labels: number[];
}

/** A value with where it came from in the file ("data.jsonl:12", "data.csv: row 3"). */
export interface Located<T> {
  where: string;
  value: T;
}
