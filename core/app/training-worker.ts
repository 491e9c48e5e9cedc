// Training in a process of its own, so the app stays responsive and a crash in the engine
// cannot take it down. Started by a ProcessLauncher; told what to train (or which run to
// export) by one 'start' message, it reports every TrainEvent and how it ended, then exits.
import { errorInfo } from '../api/errors';
import { importTrainerRun } from '../handoff/import-run';
import { writeHandoffJob } from '../handoff/write-job';
import { openStore, TrainingRecorder } from '../store/index';
import { runRecordedTraining } from '../store/recorded-training';
import { ConfigFieldError } from '../train/config';
import { exportRun } from '../train/export-run';
import type { TrainEvent } from '../train/events';
import { runTraining } from '../train/trainer';
import { configErrorInfo } from './train-draft';
import type { TrainingCommand, TrainingOutcome, TrainingReport, TrainingStart } from './training-protocol';
import { connectToParent } from './worker-port';

const port = connectToParent();
const stop = new AbortController();
const report = (r: TrainingReport) => port.post(r);
// Without the app there is no one to train for; stopping keeps a checkpoint to resume from.
port.onParentGone(() => stop.abort(new Error('the app closed')));

async function importStored(outputDir: string, storeFile: string): Promise<void> {
  const store = openStore(storeFile);
  try {
    await importTrainerRun(store, { outputDir });
  } finally {
    store.close();
  }
}

async function perform(start: TrainingStart): Promise<void> {
  if (start.mode === 'export') return exportRun(start.runDir, start.kind, start.out, start.quant);
  if (start.mode === 'handoff') return void (await writeHandoffJob({ config: start.config, out: start.out, runId: start.runId, name: start.name }));
  if (start.mode === 'import') return void (await importStored(start.outputDir, start.storeFile));
  // An event the app can no longer receive is still in the store, so a lost one is no error.
  const show = (event: TrainEvent) => void report({ type: 'event', event }).catch(() => undefined);
  if (start.mode === 'warmup') return runTraining(start.config, show, { signal: stop.signal });
  const store = openStore(start.storeFile);
  try {
    const recorder = TrainingRecorder.attach(store, start.config, start.runId);
    await runRecordedTraining(recorder, start.config, show, { resumeFrom: start.resume ? start.config.output_dir : undefined, signal: stop.signal, runId: start.runId });
  } finally {
    store.close();
  }
}

async function outcome(start: TrainingStart): Promise<TrainingOutcome> {
  try {
    await perform(start);
    return { status: 'completed' };
  } catch (err) {
    if (stop.signal.aborted && err === stop.signal.reason) return { status: 'stopped' };
    // The trainer finds some config problems only once the data is read (examples longer than the model's positions).
    return { status: 'failed', error: err instanceof ConfigFieldError ? configErrorInfo(err) : errorInfo(err) };
  }
}

port.onMessage((message) => {
  const command = message as TrainingCommand;
  if (command.type === 'stop') {
    stop.abort(new Error('training stopped from the app'));
    return;
  }
  void outcome(command)
    .then((ended) => report({ type: 'ended', ...ended }))
    .finally(() => process.exit(0));
});
