// The messages between the app and a training worker (core/app/training-worker.ts), which
// also does the other heavy engine work: folding an adapter into its base model, writing GGUF.
import type { ApiErrorInfo, GgufQuant } from '../api/contract';
import type { TrainConfig } from '../train/config';
import type { TrainEvent } from '../train/events';

export type TrainingStart =
  /** A run recorded in the store; the app has created (or resumed) its row already. */
  | { type: 'start'; mode: 'run'; config: TrainConfig; runId: string; storeFile: string; resume: boolean }
  /** Steps timed for an ETA: nothing recorded, the output folder is scratch. */
  | { type: 'start'; mode: 'warmup'; config: TrainConfig }
  /** A finished run exported where loading the model takes minutes for a big one: merged, or GGUF (quantized). */
  | { type: 'start'; mode: 'export'; kind: 'merged' | 'gguf'; runDir: string; out: string; quant?: GgufQuant }
  /** A handoff job folder: loads the model and tokenizes the data, which can take a while. */
  | { type: 'start'; mode: 'handoff'; config: TrainConfig; out: string; runId: string | null; name: string }
  /** A Trainer output checked to load and recorded in the store as a run. */
  | { type: 'start'; mode: 'import'; outputDir: string; storeFile: string };

/** A stop ends training after the current step, with a checkpoint there. */
export type TrainingCommand = TrainingStart | { type: 'stop' };

export type TrainingOutcome = { status: 'completed' | 'stopped' } | { status: 'failed'; error: ApiErrorInfo };

export type TrainingReport = { type: 'event'; event: TrainEvent } | ({ type: 'ended' } & TrainingOutcome);
