// The Playground's state lives as long as the window, not the page: leaving for the runs
// list and coming back finds the panes, their conversations, the settings and a half-typed
// message as they were, and a reply still streaming keeps arriving while the page is away.
import { hostApi } from '../lib/api';
import { ChatStreams } from './chat-streams';
import type { PaneState } from './pane';
import { DEFAULT_SAMPLING_FORM, type SamplingForm } from './sampling-form';

export const session: { panes: PaneState[]; form: SamplingForm; draft: string; nextPaneId: number; samplingOpen: boolean } = $state({
  panes: [],
  form: { ...DEFAULT_SAMPLING_FORM },
  draft: '',
  nextPaneId: 1,
  samplingOpen: false,
});

let streams: ChatStreams | null = null;

/** One listener for the window's life: replies are routed to their pane even while the page is closed. */
export function chatStreams(): ChatStreams {
  if (!streams) {
    const created = new ChatStreams();
    hostApi().onEvent((event) => created.dispatch(event));
    streams = created;
  }
  return streams;
}
