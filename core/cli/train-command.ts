import path from 'node:path';
import { readJsonFile } from '../checkpoint/model-folder';
import { openStore, TrainingRecorder } from '../store/index';
import { runRecordedTraining } from '../store/recorded-training';
import { readTrainerState, resolveCheckpoint } from '../train/checkpoint';
import { resolveTrainConfig, type TrainConfig } from '../train/config';
import { prepareRunFolder } from '../train/run-folder';
import { lockRunFolder, type RunLock } from '../train/run-lock';
import { newRunId } from '../store/runs';
import { eventLine } from '../train/event-lines';
import { formatDuration } from '../units';
import type { TrainEvent } from '../train/events';
import { advanceProgress, loadingProgress } from '../train/live-progress';
import { UsageError } from './args';
import type { Flags, Print } from './commands';
import { stopOnSignals } from './stop-signals';

/** Paths in a config file are relative to the file, so a config travels with its data. */
function resolvePaths(raw: Record<string, unknown>, dir: string): void {
  const abs = (v: unknown) => (typeof v === 'string' ? path.resolve(dir, v) : v);
  for (const key of ['model', 'output_dir']) if (key in raw) raw[key] = abs(raw[key]);
  const data = raw.data as Record<string, unknown> | undefined;
  if (data && typeof data === 'object') for (const key of ['train', 'validation']) if (key in data) data[key] = abs(data[key]);
  const lora = raw.lora as Record<string, unknown> | undefined;
  if (lora && typeof lora === 'object' && 'init_adapter' in lora) lora.init_adapter = abs(lora.init_adapter);
}

/** A config file, its paths resolved against its folder, validated with its defaults filled in. */
export function readTrainConfigFile(file: string): TrainConfig {
  const raw = readJsonFile(file);
  if (raw && typeof raw === 'object' && !Array.isArray(raw)) resolvePaths(raw as Record<string, unknown>, path.dirname(path.resolve(file)));
  return resolveTrainConfig(raw, file);
}

/** A one-line progress bar for terminals (step, loss, tokens/s and ETA); other events on lines of their own. */
export function progressPrinter(write: (s: string) => void, print: Print, resumedStep: number, now = () => performance.now()): (e: TrainEvent) => void {
  let clock = loadingProgress();
  return (e) => {
    clock = advanceProgress(clock, e, now(), resumedStep);
    if (e.event === 'step') {
      const { totalSteps: total, etaSeconds } = clock.live;
      const width = 24;
      const filled = Math.round((e.step / total) * width);
      const eta = etaSeconds === null ? '?' : formatDuration(etaSeconds);
      write(`\r\x1b[2K[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${e.step}/${total} loss ${e.loss.toFixed(4)} ${e.tokens_per_second.toFixed(1)} tok/s ETA ${eta}`);
      return;
    }
    if (e.event !== 'start') write(`\r\x1b[2K`);
    print(eventLine(e));
  };
}

/**
 * `--config FILE` starts a run; `--resume DIR` continues one from its latest checkpoint with
 * the config it was started with, or with `--config` too (e.g. more epochs to extend it).
 * The run is recorded in the experiment store (`--store FILE`, else the default one).
 */
export async function trainCommand(flags: Flags, print: Print, write: (s: string) => void): Promise<void> {
  const file = typeof flags.config === 'string' ? flags.config : undefined;
  const resume = typeof flags.resume === 'string' ? flags.resume : undefined;
  if (!file && !resume) throw new UsageError('--config FILE is required (or --resume DIR to continue a run)');
  // The checkpoint a resume continues from: its step is where this process's pace starts counting.
  const checkpoint = resume ? resolveCheckpoint(resume) : null;
  let config;
  if (file) {
    config = readTrainConfigFile(file);
  } else {
    config = resolveTrainConfig(readTrainerState(checkpoint!).config, path.join(checkpoint!, 'trainer_state.json'));
  }
  const resumedStep = checkpoint ? readTrainerState(checkpoint).step : 0;
  const json = flags['json-events'] === true;
  const show = json ? (e: TrainEvent) => print(JSON.stringify(e)) : progressPrinter(write, print, resumedStep);
  const store = openStore(typeof flags.store === 'string' ? flags.store : undefined);
  let lock: RunLock | undefined;
  const stop = stopOnSignals();
  try {
    // The folder is checked and locked before the run is recorded: a second process on it is refused having written nothing.
    const earlier = resume !== undefined ? store.findRunByOutputDir(config.output_dir) : undefined;
    if (earlier?.status === 'running') throw new Error(`run ${earlier.id} in ${config.output_dir} is still training (pid ${earlier.pid}); stop it before resuming it`);
    const runId = earlier?.id ?? newRunId();
    prepareRunFolder(config.output_dir);
    lock = lockRunFolder(config.output_dir, 'training', runId);
    const recorder = earlier ? TrainingRecorder.attach(store, config, earlier.id) : TrainingRecorder.begin(store, config, runId);
    if (!json) print(`run ${recorder.runId}, recorded in ${store.file}`);
    await runRecordedTraining(recorder, config, show, { resumeFrom: resume, signal: stop.signal, runId });
  } finally {
    stop.dispose();
    lock?.release();
    store.close();
  }
}
