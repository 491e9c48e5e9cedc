// The training worker's whole job, whichever process it runs in: a Node or Electron utility
// process (training-worker.ts) or the desktop app's GPU window (preload/gpu-worker.ts). Told
// what to train (or which run to export) by one 'start' message, it reports every TrainEvent
// and how it ended, then exits.
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
import type { WorkerPort } from './worker-port';

async function importStored(outputDir: string, storeFile: string): Promise<void> {
  const store = openStore(storeFile);
  try {
    await importTrainerRun(store, { outputDir });
  } finally {
    store.close();
  }
}

async function perform(start: TrainingStart, report: (r: TrainingReport) => Promise<void>, stop: AbortSignal): Promise<void> {
  if (start.mode === 'export') return exportRun(start.runDir, start.kind, start.out, start.quant);
  if (start.mode === 'handoff') return void (await writeHandoffJob({ config: start.config, out: start.out, runId: start.runId, name: start.name }));
  if (start.mode === 'import') return void (await importStored(start.outputDir, start.storeFile));
  // An event the app can no longer receive is still in the store, so a lost one is no error.
  const show = (event: TrainEvent) => void report({ type: 'event', event }).catch(() => undefined);
  if (start.mode === 'warmup') return runTraining(start.config, show, { signal: stop });
  const store = openStore(start.storeFile);
  try {
    const recorder = TrainingRecorder.attach(store, start.config, start.runId);
    await runRecordedTraining(recorder, start.config, show, { resumeFrom: start.resume ? start.config.output_dir : undefined, signal: stop, runId: start.runId });
  } finally {
    store.close();
  }
}

async function outcome(start: TrainingStart, report: (r: TrainingReport) => Promise<void>, stop: AbortController): Promise<TrainingOutcome> {
  try {
    await perform(start, report, stop.signal);
    return { status: 'completed' };
  } catch (err) {
    if (stop.signal.aborted && err === stop.signal.reason) return { status: 'stopped' };
    // The trainer finds some config problems only once the data is read (examples longer than the model's positions).
    return { status: 'failed', error: err instanceof ConfigFieldError ? configErrorInfo(err) : errorInfo(err) };
  }
}

/** Serves one command on `port`; `exit` ends the process (or window) once its outcome has left. */
export function serveTraining(port: WorkerPort, exit: (code: number) => void): void {
  const stop = new AbortController();
  const report = (r: TrainingReport) => port.post(r);
  // Without the app there is no one to train for; stopping keeps a checkpoint to resume from.
  port.onParentGone(() => stop.abort(new Error('the app closed')));
  port.onMessage((message) => {
    const command = message as TrainingCommand;
    if (command.type === 'stop') {
      stop.abort(new Error('training stopped from the app'));
      return;
    }
    void outcome(command, report, stop)
      .then((ended) => report({ type: 'ended', ...ended }))
      .finally(() => exit(0));
  });
}
