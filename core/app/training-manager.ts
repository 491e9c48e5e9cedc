// Runs training workers for the app: one process per training run, short scratch runs
// that time a draft's steps, and merged exports. Turns their reports into ApiEvents, live progress and the
// run's log, and makes sure a run's row never stays "running" after its process is gone.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ApiErrorInfo, GgufQuant, LiveProgress, WarmupResult } from '../api/contract';
import { apiError, errorInfo } from '../api/errors';
import { listCheckpoints } from '../train/checkpoint';
import { totalOptimizerSteps, type TrainConfig } from '../train/config';
import { eventLine } from '../train/event-lines';
import type { TrainEvent } from '../train/events';
import type { WorkerProcess } from './context';
import { advanceProgress, loadingProgress, type ProgressClock } from '../train/live-progress';
import { prepareRunFolder, recordRunEntry } from '../train/run-folder';
import { appendRunLog, RUN_LOG_FILE } from './run-log';
import type { AppServiceContext } from './service-context';
import { backendEnv } from './settings';
import type { TrainingCommand, TrainingOutcome, TrainingReport, TrainingStart } from './training-protocol';

/** Steps a warmup times; the median of three shrugs off the first step's one-off setup. */
export const WARMUP_STEPS = 3;
/**
 * How long shutdown waits for each run's checkpoint before ending its process: the one
 * bound on quitting, so hosts await shutdown() with no limit of their own.
 */
export const SHUTDOWN_WAIT_MS = 30_000;
/** Stderr lines kept to explain a worker that died. */
const STDERR_TAIL = 40;

interface ActiveRun {
  worker: WorkerProcess;
  progress: ProgressClock;
  outcome: TrainingOutcome | null;
  stderrTail: string[];
  /** Settles once the worker has exited and the run's row says how it ended. */
  ended: Promise<void>;
}

function keepTail(tail: string[], line: string): void {
  tail.push(line);
  if (tail.length > STDERR_TAIL) tail.shift();
}

/** Why a worker that exited without reporting how it ended failed, with its last stderr lines. */
const diedError = (job: string, code: number | null, stderrTail: string[]): ApiErrorInfo => ({
  message: `the ${job} process ended unexpectedly (exit code ${code})`,
  detail: stderrTail.join('\n') || undefined,
});

const errorText = (e: ApiErrorInfo) => (e.detail ? `${e.message}\n${e.detail}` : e.message);

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export class TrainingManager {
  private readonly runs = new Map<string, ActiveRun>();
  /** The one warm-up being timed: a newer one or a run start makes its result stale, so it is cancelled. */
  private currentWarmup: { worker: WorkerProcess; cancel(message: string): void } | null = null;
  private closing = false;

  constructor(private readonly ctx: AppServiceContext) {}

  isTraining(runId: string): boolean {
    return this.runs.has(runId);
  }

  live(runId: string): LiveProgress | null {
    return this.runs.get(runId)?.progress.live ?? null;
  }

  /**
   * Trains the run whose row is already `running` with `config`; with `resume`, from the
   * latest checkpoint in its output folder. A run that cannot start is left `failed`.
   */
  start(runId: string, config: TrainConfig, resume: boolean): void {
    const log = (text: string) => {
      for (const line of text.split('\n')) {
        appendRunLog(config.output_dir, line);
        this.ctx.emit({ type: 'run-log', runId, line });
      }
    };
    this.cancelWarmup('warm-up cancelled: a run started');
    let worker: WorkerProcess;
    let resumedStep: number;
    try {
      if (this.closing) throw apiError({ message: 'Tunesmith is shutting down; no run can start now' });
      // The run folder is made (and its log recorded as the run's) here, before the first log line; deleting the run removes both.
      prepareRunFolder(config.output_dir);
      recordRunEntry(config.output_dir, RUN_LOG_FILE);
      log(`${new Date().toISOString()} ${resume ? 'resuming' : 'starting'} training`);
      // The checkpoint the worker will pick, read now: by the time its start event is handled here it may have been pruned.
      resumedStep = resume ? (listCheckpoints(config.output_dir).at(-1)?.step ?? 0) : 0;
      worker = this.ctx.launcher('training', backendEnv(this.ctx.home));
    } catch (err) {
      // No worker owns the row, so nothing else would ever end it.
      const failed = this.ctx.store.finishRun(runId, { status: 'failed', error: errorInfo(err).message });
      this.ctx.emit({ type: 'run-status', runId, status: failed.status, error: failed.error });
      throw err;
    }
    const run: ActiveRun = {
      worker,
      progress: loadingProgress(),
      outcome: null,
      stderrTail: [],
      ended: new Promise((resolve) => {
        worker.onExit((code, signal) => {
          this.runs.delete(runId);
          this.settle(runId, run, code, signal ?? null, log);
          resolve();
        });
      }),
    };
    this.runs.set(runId, run);
    worker.onMessage((message) => {
      const report = message as TrainingReport;
      if (report.type === 'ended') {
        const { type: _, ...outcome } = report;
        run.outcome = outcome;
        return;
      }
      const { event } = report;
      run.progress = advanceProgress(run.progress, event, Date.now(), resumedStep);
      this.ctx.emit({ type: 'run-event', runId, event });
      log(eventLine(event));
    });
    worker.onStderrLine((line) => {
      keepTail(run.stderrTail, line);
      log(line);
    });
    this.ctx.emit({ type: 'run-status', runId, status: 'running', error: null });
    worker.send({ type: 'start', mode: 'run', config, runId, storeFile: this.ctx.store.file, resume } satisfies TrainingCommand);
  }

  /**
   * After the worker exited: a row it could not end itself is ended here, and everyone hears
   * how. A worker ended by a signal (killed, or the system ran out of memory) or by shutdown
   * before it could checkpoint left the run resumable from its last checkpoint: interrupted.
   */
  private settle(runId: string, run: ActiveRun, code: number | null, signal: NodeJS.Signals | null, log: (line: string) => void): void {
    // Ended by shutdown, the worker was killed by Tunesmith itself: no error to report.
    const killed = !this.closing && run.outcome === null && (signal !== null || code === null);
    const failure: ApiErrorInfo | null =
      run.outcome === null
        ? killed
          ? { message: `the training process was killed (${signal ?? 'by a signal'}); resume the run to continue from its last checkpoint`, detail: run.stderrTail.join('\n') || undefined }
          : diedError('training', code, run.stderrTail)
        : run.outcome.status === 'failed'
          ? run.outcome.error
          : null;
    if (failure) log(`${killed ? 'interrupted' : 'failed'}: ${errorText(failure)}`);
    const row = this.ctx.store.getRun(runId);
    if (row?.status === 'running') {
      if ((this.closing && run.outcome === null) || killed) this.ctx.store.setRunStatus(runId, 'interrupted', { error: killed ? errorText(failure!) : undefined });
      else this.ctx.store.finishRun(runId, { status: 'failed', error: errorText(failure ?? { message: 'training ended without saying how' }) });
    }
    const final = this.ctx.store.getRun(runId);
    if (final) this.ctx.emit({ type: 'run-status', runId, status: final.status, error: final.error });
  }

  /** Resolves once the run has stopped after its current step, with a checkpoint there. */
  async stop(runId: string): Promise<void> {
    const run = this.runs.get(runId);
    if (!run) throw apiError({ message: `run "${runId}" is not training`, field: 'runId' });
    run.worker.send({ type: 'stop' } satisfies TrainingCommand);
    await run.ended;
  }

  /**
   * Times WARMUP_STEPS steps of `config` in a scratch folder (nothing recorded) and
   * extrapolates to the whole run: median seconds per step × its total steps.
   */
  async warmup(config: TrainConfig): Promise<WarmupResult> {
    if (this.closing) throw apiError({ message: 'Tunesmith is shutting down' });
    this.cancelWarmup('superseded');
    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'tunesmith-warmup-'));
    const worker = this.ctx.launcher('training', backendEnv(this.ctx.home));
    const exited = new Promise<number | null>((resolve) => worker.onExit(resolve));
    const cancelled = new Promise<never>((_, reject) => {
      this.currentWarmup = {
        worker,
        cancel: (message) => {
          reject(apiError({ message }));
          worker.kill();
        },
      };
    });
    try {
      const timing = this.timeSteps(worker, exited, {
        ...config,
        output_dir: scratch,
        max_steps: WARMUP_STEPS,
        logging_steps: 1,
        eval_steps: 0,
        save_steps: 0,
        early_stopping_patience: null,
        sample_prompts: [],
      });
      const timed = await Promise.race([timing, cancelled]);
      const secondsPerStep = median(timed.intervals);
      const totalSteps = totalOptimizerSteps(config, timed.trainExamples);
      return { secondsPerStep, tokensPerSecond: median(timed.tokensPerSecond), totalSteps, etaSeconds: secondsPerStep * totalSteps };
    } finally {
      // Its steps are timed; whatever it does next (the final evaluation, the export) is not needed.
      worker.kill();
      await exited;
      if (this.currentWarmup?.worker === worker) this.currentWarmup = null;
      fs.rmSync(scratch, { recursive: true, force: true });
    }
  }

  private cancelWarmup(message: string): void {
    this.currentWarmup?.cancel(message);
    this.currentWarmup = null;
  }

  private timeSteps(worker: WorkerProcess, exited: Promise<number | null>, config: TrainConfig) {
    return new Promise<{ intervals: number[]; tokensPerSecond: number[]; trainExamples: number }>((resolve, reject) => {
      const arrivals: number[] = [];
      const tokensPerSecond: number[] = [];
      const tail: string[] = [];
      let trainExamples = 0;
      worker.onStderrLine((line) => keepTail(tail, line));
      worker.onMessage((message) => {
        const report = message as TrainingReport;
        if (report.type === 'ended') {
          if (report.status === 'failed') reject(apiError(report.error));
          return;
        }
        const e: TrainEvent = report.event;
        if (e.event === 'start') trainExamples = e.train.examples;
        if (e.event !== 'start' && e.event !== 'step') return;
        arrivals.push(performance.now());
        if (e.event === 'step') tokensPerSecond.push(e.tokens_per_second);
        if (tokensPerSecond.length === WARMUP_STEPS) {
          resolve({ intervals: arrivals.slice(1).map((t, i) => (t - arrivals[i]) / 1000), tokensPerSecond, trainExamples });
        }
      });
      void exited.then((code) =>
        reject(apiError({ message: `the warmup process ended before ${WARMUP_STEPS} steps (exit code ${code})`, detail: tail.join('\n') || undefined })),
      );
      worker.send({ type: 'start', mode: 'warmup', config } satisfies TrainingCommand);
    });
  }

  /**
   * Writes the run in `runDir` merged (a LoRA run folded into its base) or as GGUF to `out`, in
   * a worker: loading, merging and quantizing a big model would freeze the app for minutes. Callers check the request first
   * (checkExport), as the worker's refusals arrive without their ExportRefusal field.
   */
  exportInWorker(runDir: string, kind: 'merged' | 'gguf', out: string, quant?: GgufQuant): Promise<void> {
    return this.runTask({ type: 'start', mode: 'export', kind, runDir, out, quant }, 'export');
  }

  /** One-off engine work (an export, a handoff job, an import) in a worker of its own, so the app never waits on it. */
  async runTask(start: Extract<TrainingStart, { mode: 'export' | 'handoff' | 'import' }>, what: string): Promise<void> {
    if (this.closing) throw apiError({ message: 'Tunesmith is shutting down' });
    const worker = this.ctx.launcher('training', backendEnv(this.ctx.home));
    const stderrTail: string[] = [];
    worker.onStderrLine((line) => keepTail(stderrTail, line));
    const outcome = await new Promise<TrainingOutcome>((resolve) => {
      let reported: TrainingOutcome | null = null;
      worker.onMessage((message) => {
        const report = message as TrainingReport;
        if (report.type === 'ended') reported = report;
      });
      worker.onExit((code) => resolve(reported ?? { status: 'failed', error: diedError(what, code, stderrTail) }));
      worker.send(start satisfies TrainingCommand);
    });
    if (outcome.status === 'failed') throw apiError(outcome.error);
  }

  /** Stops every run so each leaves a checkpoint; a run that takes longer than `waitMs` is ended. */
  async shutdown(waitMs = SHUTDOWN_WAIT_MS): Promise<void> {
    this.closing = true;
    this.cancelWarmup('Tunesmith is shutting down');
    const runs = [...this.runs.values()];
    for (const r of runs) r.worker.send({ type: 'stop' } satisfies TrainingCommand);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, waitMs)));
    await Promise.race([Promise.all(runs.map((r) => r.ended)), timeout]);
    clearTimeout(timer);
    for (const r of this.runs.values()) r.worker.kill();
    await Promise.all(runs.map((r) => r.ended));
  }
}
