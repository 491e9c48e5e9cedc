// One object for callers that hold a store open (the app, the CLI): each method
// delegates to the module that does that one job.
import type Database from 'better-sqlite3';
import { addChatMessage, createChatSession, deleteChatSession, getChatSession, listChatSessions, type ChatRole } from './chat';
import { compareRuns } from './compare';
import { lastMetricStep, lastMetricValues, MetricsWriter, runCurves } from './metrics';
import { openDatabase } from './open';
import * as runs from './runs';
import type { DatasetInput, NewRun, RunStatus } from './types';

export class ExperimentStore {
  constructor(readonly db: Database.Database) {}

  get file(): string {
    return this.db.name;
  }

  close(): void {
    this.db.close();
  }

  createRun(input: NewRun) {
    return runs.createRun(this.db, input);
  }
  setRunStatus(id: string, status: RunStatus, opts?: { pid?: number; error?: string }) {
    return runs.setRunStatus(this.db, id, status, opts);
  }
  finishRun(id: string, result: runs.RunResult) {
    return runs.finishRun(this.db, id, result);
  }
  resumeRun(id: string, config: unknown) {
    return runs.resumeRun(this.db, id, config);
  }
  recordRunStart(id: string, start: { backend: string; dataset?: DatasetInput; estimatedPeakBytes?: number }) {
    runs.recordRunStart(this.db, id, start);
  }
  getRun(id: string) {
    return runs.getRun(this.db, id);
  }
  findRunByOutputDir(outputDir: string) {
    return runs.findRunByOutputDir(this.db, outputDir);
  }
  listRuns(opts?: runs.ListRunsOptions) {
    return runs.listRuns(this.db, opts);
  }
  deleteRun(id: string, opts?: { removeFiles?: boolean }) {
    return runs.deleteRun(this.db, id, opts);
  }
  runFilesToDelete(id: string) {
    return runs.runFilesToDelete(this.db, id);
  }
  tagRun(id: string, tag: string) {
    runs.tagRun(this.db, id, tag);
  }
  untagRun(id: string, tag: string) {
    return runs.untagRun(this.db, id, tag);
  }
  setRunNotes(id: string, notes: string) {
    runs.setRunNotes(this.db, id, notes);
  }
  markInterruptedRuns() {
    return runs.markInterruptedRuns(this.db);
  }

  metricsWriter(runId: string) {
    return new MetricsWriter(this.db, runId);
  }
  runCurves(runId: string, opts?: { maxPoints?: number; names?: string[] }) {
    return runCurves(this.db, runId, opts);
  }
  lastMetricValues(runId: string) {
    return lastMetricValues(this.db, runId);
  }
  lastMetricStep(runId: string) {
    return lastMetricStep(this.db, runId);
  }
  compareRuns(ids: string[], opts?: { maxPoints?: number }) {
    return compareRuns(this.db, ids, opts);
  }

  recordCheckpoint(runId: string, ckpt: { step: number; path: string; evalLoss?: number; isBest?: boolean }) {
    runs.recordCheckpoint(this.db, runId, ckpt);
  }
  listCheckpoints(runId: string) {
    return runs.listCheckpoints(this.db, runId);
  }
  lastCheckpoint(runId: string) {
    return runs.lastCheckpoint(this.db, runId);
  }
  recordSample(runId: string, sample: { step: number; prompt: string; output: string }) {
    runs.recordSample(this.db, runId, sample);
  }
  listSamples(runId: string) {
    return runs.listSamples(this.db, runId);
  }
  lastSampleStep(runId: string) {
    return runs.lastSampleStep(this.db, runId);
  }

  createChatSession(s: { modelSource: string; adapterPath?: string; runId?: string; sampling?: Record<string, unknown> }) {
    return createChatSession(this.db, s);
  }
  addChatMessage(sessionId: number, m: { role: ChatRole; text: string; timings?: Record<string, number> }) {
    return addChatMessage(this.db, sessionId, m);
  }
  getChatSession(id: number) {
    return getChatSession(this.db, id);
  }
  listChatSessions() {
    return listChatSessions(this.db);
  }
  deleteChatSession(id: number) {
    deleteChatSession(this.db, id);
  }
}

/**
 * Opens the store (default `~/.tunesmith/tunesmith.db`, or under `$TUNESMITH_HOME`) and marks
 * runs whose training process is gone as interrupted.
 */
export function openStore(file?: string): ExperimentStore {
  const store = new ExperimentStore(openDatabase(file));
  store.markInterruptedRuns();
  return store;
}
