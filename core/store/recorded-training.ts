// A training run recorded in the store, however it ends: what `tunesmith train` and the
// app's training worker both do. Kept out of store/index so that opening a store does not
// load the training engine.
import type { EventSink, RunOptions } from '../train/trainer';
import { runTraining } from '../train/trainer';
import type { TrainConfig } from '../train/config';
import type { TrainingRecorder } from './training-recorder';

/**
 * Trains, recording each event before `show` gets it, so every step a user has seen is in
 * the store once the run ends. A stop through `options.signal` ends the run `stopped`, any
 * other error `failed` with its message; either way the error is rethrown.
 */
export async function runRecordedTraining(recorder: TrainingRecorder, config: TrainConfig, show: EventSink, options: RunOptions = {}): Promise<void> {
  const sink: EventSink = (e) => {
    recorder.record(e);
    show(e);
  };
  try {
    await runTraining(config, sink, options);
  } catch (err) {
    const stopped = options.signal?.aborted === true && err === options.signal.reason;
    recorder.end(stopped ? { status: 'stopped' } : { status: 'failed', error: (err as Error).message });
    throw err;
  }
}
