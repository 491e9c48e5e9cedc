import path from 'node:path';
import { readJsonFile } from '../checkpoint/model-folder';
import { openStore, TrainingRecorder } from '../store/index';
import { readTrainerState, resolveCheckpoint } from '../train/checkpoint';
import { resolveTrainConfig } from '../train/config';
import type { TrainEvent } from '../train/events';
import { runTraining } from '../train/trainer';
import { UsageError } from './args';
import type { Flags, Print } from './commands';
import { StoppedBySignal, stopOnSignals } from './stop-signals';

/** Paths in a config file are relative to the file, so a config travels with its data. */
function resolvePaths(raw: Record<string, unknown>, dir: string): void {
  const abs = (v: unknown) => (typeof v === 'string' ? path.resolve(dir, v) : v);
  for (const key of ['model', 'output_dir']) if (key in raw) raw[key] = abs(raw[key]);
  const data = raw.data as Record<string, unknown> | undefined;
  if (data && typeof data === 'object') for (const key of ['train', 'validation']) if (key in data) data[key] = abs(data[key]);
  const lora = raw.lora as Record<string, unknown> | undefined;
  if (lora && typeof lora === 'object' && 'init_adapter' in lora) lora.init_adapter = abs(lora.init_adapter);
}

function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '--:--';
  const s = Math.round(seconds);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

/** A one-line progress bar for terminals: step, loss, tokens/s and ETA. */
function progressPrinter(write: (s: string) => void, print: Print): (e: TrainEvent) => void {
  let total = 0;
  let started = 0;
  return (e) => {
    switch (e.event) {
      case 'start':
        total = e.total_steps;
        started = performance.now();
        print(`training ${e.method} on ${e.backend}: ${e.train.examples} examples (${e.train.label_tokens} label tokens, ${e.train.truncated} truncated, ${e.train.skipped} skipped), ${e.total_steps} steps, ${e.trainable_parameters} trainable parameters`);
        break;
      case 'step': {
        const width = 24;
        const filled = Math.round((e.step / total) * width);
        const elapsed = (performance.now() - started) / 1000;
        const eta = (elapsed / e.step) * (total - e.step);
        write(`\r\x1b[2K[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${e.step}/${total} loss ${e.loss.toFixed(4)} ${e.tokens_per_second.toFixed(1)} tok/s ETA ${formatDuration(eta)}`);
        break;
      }
      case 'eval':
        write(`\r\x1b[2K`);
        print(`step ${e.step}: eval loss ${e.eval_loss.toFixed(4)}, perplexity ${e.perplexity.toFixed(2)}`);
        break;
      case 'sample':
        write(`\r\x1b[2K`);
        print(`step ${e.step}: ${JSON.stringify(e.prompt)} → ${JSON.stringify(e.output)}`);
        break;
      case 'checkpoint':
        write(`\r\x1b[2K`);
        print(`step ${e.step}: checkpoint saved to ${e.path}`);
        break;
      case 'done':
        write(`\r\x1b[2K`);
        print(`done in ${formatDuration(e.seconds)}: ${e.step} steps, mean train loss ${e.train_loss.toFixed(4)}, peak memory ${(e.measured_peak_bytes / 2 ** 20).toFixed(0)} MiB; saved to ${e.output_dir}`);
        break;
    }
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
  let config;
  if (file) {
    const raw = readJsonFile(file);
    if (raw && typeof raw === 'object' && !Array.isArray(raw)) resolvePaths(raw as Record<string, unknown>, path.dirname(path.resolve(file)));
    config = resolveTrainConfig(raw, file);
  } else {
    const checkpoint = resolveCheckpoint(resume!);
    config = resolveTrainConfig(readTrainerState(checkpoint).config, path.join(checkpoint, 'trainer_state.json'));
  }
  const json = flags['json-events'] === true;
  const show = json ? (e: TrainEvent) => print(JSON.stringify(e)) : progressPrinter(write, print);
  const store = openStore(typeof flags.store === 'string' ? flags.store : undefined);
  const stop = stopOnSignals();
  try {
    const recorder = TrainingRecorder.begin(store, config, { resume: resume !== undefined });
    if (!json) print(`run ${recorder.runId}, recorded in ${store.file}`);
    // Recorded before shown, so every step a user has seen is in the store once the run ends.
    const sink = (e: TrainEvent) => {
      recorder.record(e);
      show(e);
    };
    try {
      await runTraining(config, sink, { resumeFrom: resume, signal: stop.signal });
    } catch (err) {
      recorder.end(err instanceof StoppedBySignal ? { status: 'stopped' } : { status: 'failed', error: (err as Error).message });
      throw err;
    }
  } finally {
    stop.dispose();
    store.close();
  }
}
