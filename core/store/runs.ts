// Run records: creation, status changes, listing, tags, deletion, and finding runs
// whose training process died without saying so.
import { randomBytes, randomUUID } from 'node:crypto';
import path from 'node:path';
import type Database from 'better-sqlite3';
import { OWN_IDENTITY, processIdentity, stillRunning } from '../process-identity';
import { lockHolder } from '../train/run-lock';
import { removeRunFiles, runFiles } from '../train/run-folder';
import { RUN_STATUSES, type Checkpoint, type DatasetInput, type ModelInput, type NewRun, type Run, type RunStatus, type Sample } from './types';

/**
 * A running row's owner: a UUID for this process start, then the process's start identity
 * (process-identity.ts), so another process can tell the owner from a later one with its pid.
 */
export const PROCESS_OWNER = `${randomUUID()} ${OWN_IDENTITY}`;

/** The owner recorded for a run that `pid` trains. */
function ownerOf(pid: number): string {
  return pid === process.pid ? PROCESS_OWNER : `${randomUUID()} ${processIdentity(pid) ?? ''}`;
}

/** The start identity in an owner; null for rows written before owners held one. */
function ownerIdentity(owner: string | null): string | null {
  const space = owner?.indexOf(' ') ?? -1;
  return space < 0 ? null : owner!.slice(space + 1) || null;
}

interface RunRow {
  id: string;
  name: string;
  status: RunStatus;
  method: string;
  model: string | null;
  dataset: string | null;
  config: string;
  created_at: number;
  started_at: number | null;
  ended_at: number | null;
  estimated_peak_bytes: number | null;
  measured_peak_bytes: number | null;
  measured_tensor_peak_bytes: number | null;
  backend: string | null;
  final_metrics: string | null;
  output_dir: string | null;
  pid: number | null;
  error: string | null;
  notes: string;
  tags: string | null;
}

const RUN_SELECT = `
  SELECT r.*, m.source AS model, d.path AS dataset,
    (SELECT group_concat(tag, char(10)) FROM (SELECT tag FROM run_tags t WHERE t.run_id = r.id ORDER BY tag)) AS tags
  FROM runs r
  LEFT JOIN models m ON m.id = r.model_id
  LEFT JOIN datasets d ON d.id = r.dataset_id`;

function toRun(row: RunRow): Run {
  return {
    id: row.id,
    name: row.name,
    status: row.status,
    method: row.method,
    model: row.model,
    dataset: row.dataset,
    config: JSON.parse(row.config),
    createdAt: row.created_at,
    startedAt: row.started_at,
    endedAt: row.ended_at,
    estimatedPeakBytes: row.estimated_peak_bytes,
    measuredPeakBytes: row.measured_peak_bytes,
    measuredTensorPeakBytes: row.measured_tensor_peak_bytes,
    backend: row.backend,
    finalMetrics: row.final_metrics === null ? null : JSON.parse(row.final_metrics),
    outputDir: row.output_dir,
    pid: row.pid,
    error: row.error,
    notes: row.notes,
    tags: row.tags ? row.tags.split('\n') : [],
  };
}

function checkStatus(status: string): asserts status is RunStatus {
  if (!(RUN_STATUSES as readonly string[]).includes(status)) {
    throw new Error(`run status must be one of ${RUN_STATUSES.join(', ')}; got "${status}"`);
  }
}

/** Sortable by time and readable in a terminal, unlike a UUID. Callers that must know a run's id before creating it (its folder is named after it) take one here. */
export function newRunId(now = Date.now()): string {
  const stamp = new Date(now).toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${stamp}-${randomBytes(2).toString('hex')}`;
}

export function getRun(db: Database.Database, id: string): Run | undefined {
  const row = db.prepare(`${RUN_SELECT} WHERE r.id = ?`).get(id) as RunRow | undefined;
  return row && toRun(row);
}

export function requireRun(db: Database.Database, id: string): Run {
  const run = getRun(db, id);
  if (!run) throw new Error(`no run with id "${id}"`);
  return run;
}

function upsertModel(db: Database.Database, m: ModelInput, now: number): number {
  db.prepare(
    `INSERT INTO models (source, config_summary, parameter_count, created_at) VALUES (?, ?, ?, ?)
     ON CONFLICT (source) DO UPDATE SET config_summary = excluded.config_summary,
       parameter_count = coalesce(excluded.parameter_count, parameter_count)`,
  ).run(m.source, JSON.stringify(m.configSummary ?? {}), m.parameterCount ?? null, now);
  return (db.prepare('SELECT id FROM models WHERE source = ?').get(m.source) as { id: number }).id;
}

function upsertDataset(db: Database.Database, d: DatasetInput, now: number): number {
  db.prepare(
    `INSERT INTO datasets (path, format, content_hash, stats, created_at) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (path, content_hash) DO UPDATE SET format = excluded.format, stats = excluded.stats`,
  ).run(d.path, d.format, d.contentHash, JSON.stringify(d.stats ?? {}), now);
  return (db.prepare('SELECT id FROM datasets WHERE path = ? AND content_hash = ?').get(d.path, d.contentHash) as { id: number }).id;
}

export function createRun(db: Database.Database, input: NewRun): Run {
  const now = Date.now();
  const id = input.id ?? newRunId(now);
  const status = input.status ?? 'queued';
  checkStatus(status);
  const running = status === 'running';
  db.transaction(() => {
    const modelId = input.model ? upsertModel(db, input.model, now) : null;
    const datasetId = input.dataset ? upsertDataset(db, input.dataset, now) : null;
    db.prepare(
      `INSERT INTO runs (id, name, status, method, model_id, dataset_id, config, created_at, started_at,
         estimated_peak_bytes, output_dir, pid, owner)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      id, input.name, status, input.method, modelId, datasetId, JSON.stringify(input.config ?? null), now,
      running ? now : null, input.estimatedPeakBytes ?? null, input.outputDir ?? null,
      running ? (input.pid ?? process.pid) : null, running ? ownerOf(input.pid ?? process.pid) : null,
    );
  })();
  return requireRun(db, id);
}

/** Moves a run to `status`; 'running' records the owning process, terminal states the end time. */
export function setRunStatus(db: Database.Database, id: string, status: RunStatus, opts: { pid?: number; error?: string } = {}): Run {
  checkStatus(status);
  const now = Date.now();
  const info =
    status === 'running'
      ? db.prepare('UPDATE runs SET status = ?, started_at = coalesce(started_at, ?), ended_at = NULL, pid = ?, owner = ? WHERE id = ?')
          .run(status, now, opts.pid ?? process.pid, ownerOf(opts.pid ?? process.pid), id)
      : status === 'queued'
        ? db.prepare('UPDATE runs SET status = ? WHERE id = ?').run(status, id)
        : db.prepare('UPDATE runs SET status = ?, ended_at = ?, error = coalesce(?, error) WHERE id = ?').run(status, now, opts.error ?? null, id);
  if (info.changes === 0) throw new Error(`no run with id "${id}"`);
  return requireRun(db, id);
}

/** The latest run that wrote into `outputDir`: the one a `--resume` of that folder continues. */
export function findRunByOutputDir(db: Database.Database, outputDir: string): Run | undefined {
  const row = db.prepare(`${RUN_SELECT} WHERE r.output_dir = ? ORDER BY r.created_at DESC, r.rowid DESC LIMIT 1`).get(outputDir) as RunRow | undefined;
  return row && toRun(row);
}

/** Makes a finished or interrupted run running again in this process, with the config it continues under. */
export function resumeRun(db: Database.Database, id: string, config: unknown): Run {
  return db.transaction(() => {
    if (db.prepare('UPDATE runs SET config = ?, error = NULL WHERE id = ?').run(JSON.stringify(config ?? null), id).changes === 0) {
      throw new Error(`no run with id "${id}"`);
    }
    return setRunStatus(db, id, 'running');
  })();
}

/** What is known once training has loaded everything: the backend, and the dataset as it was read. */
export function recordRunStart(db: Database.Database, id: string, start: { backend: string; dataset?: DatasetInput; estimatedPeakBytes?: number }): void {
  db.transaction(() => {
    const datasetId = start.dataset ? upsertDataset(db, start.dataset, Date.now()) : null;
    const info = db
      .prepare('UPDATE runs SET backend = ?, dataset_id = coalesce(?, dataset_id), estimated_peak_bytes = coalesce(?, estimated_peak_bytes) WHERE id = ?')
      .run(start.backend, datasetId, start.estimatedPeakBytes ?? null, id);
    if (info.changes === 0) throw new Error(`no run with id "${id}"`);
  })();
}

export interface RunResult {
  status: 'completed' | 'failed' | 'stopped';
  finalMetrics?: Record<string, number>;
  measuredPeakBytes?: number;
  measuredTensorPeakBytes?: number;
  estimatedPeakBytes?: number;
  error?: string;
}

export function finishRun(db: Database.Database, id: string, result: RunResult): Run {
  if (!['completed', 'failed', 'stopped'].includes(result.status)) {
    throw new Error(`finishRun status must be completed, failed or stopped; got "${result.status}"`);
  }
  // A resumed run's peak is the highest of its processes', so a measurement only ever raises it.
  const info = db
    .prepare(
      `UPDATE runs SET status = @status, ended_at = @now, final_metrics = coalesce(@metrics, final_metrics),
         measured_peak_bytes = max(coalesce(@rss, measured_peak_bytes), coalesce(measured_peak_bytes, @rss)),
         measured_tensor_peak_bytes = max(coalesce(@tensors, measured_tensor_peak_bytes), coalesce(measured_tensor_peak_bytes, @tensors)),
         estimated_peak_bytes = coalesce(@estimated, estimated_peak_bytes), error = @error WHERE id = @id`,
    )
    .run({
      id,
      status: result.status,
      now: Date.now(),
      metrics: result.finalMetrics ? JSON.stringify(result.finalMetrics) : null,
      rss: result.measuredPeakBytes ?? null,
      tensors: result.measuredTensorPeakBytes ?? null,
      estimated: result.estimatedPeakBytes ?? null,
      error: result.error ?? null,
    });
  if (info.changes === 0) throw new Error(`no run with id "${id}"`);
  return requireRun(db, id);
}

interface RunningRow {
  id: string;
  pid: number | null;
  owner: string | null;
  output_dir: string | null;
}

/**
 * Whether a 'running' row's process still trains it. Its pid must still be the process that
 * recorded itself (not a zombie, not a later process with the pid); a row written before
 * owners kept a start identity must also have its run folder locked by that pid.
 */
function stillTraining(r: RunningRow): boolean {
  if (r.pid === null) return false;
  if (r.pid === process.pid) return r.owner === PROCESS_OWNER;
  const identity = ownerIdentity(r.owner);
  if (identity !== null) return stillRunning(r.pid, identity);
  return stillRunning(r.pid, null) && r.output_dir !== null && lockHolder(r.output_dir)?.pid === r.pid;
}

/** Marks 'running' runs whose process is gone as 'interrupted'; returns their ids. */
export function markInterruptedRuns(db: Database.Database): string[] {
  const running = db.prepare("SELECT id, pid, owner, output_dir FROM runs WHERE status = 'running'").all() as RunningRow[];
  const dead = running.filter((r) => !stillTraining(r));
  if (dead.length === 0) return [];
  const mark = db.prepare("UPDATE runs SET status = 'interrupted', ended_at = coalesce(ended_at, ?) WHERE id = ? AND status = 'running'");
  const now = Date.now();
  db.transaction(() => {
    for (const r of dead) mark.run(now, r.id);
  })();
  return dead.map((r) => r.id);
}

export interface ListRunsOptions {
  status?: RunStatus;
  /** Matches any part of the model's hub id or path. */
  model?: string;
  method?: string;
  tag?: string;
  /** A column, or "metric:NAME" to sort by a final metric. */
  sort?: 'created' | 'started' | 'ended' | 'name' | 'status' | `metric:${string}`;
  order?: 'asc' | 'desc';
}

const SORT_COLUMNS: Record<string, string> = {
  created: 'r.created_at',
  started: 'r.started_at',
  ended: 'r.ended_at',
  name: 'r.name',
  status: 'r.status',
};

export function listRuns(db: Database.Database, opts: ListRunsOptions = {}): Run[] {
  const where: string[] = [];
  const params: unknown[] = [];
  if (opts.status !== undefined) {
    checkStatus(opts.status);
    where.push('r.status = ?');
    params.push(opts.status);
  }
  if (opts.model !== undefined) {
    where.push('instr(m.source, ?) > 0');
    params.push(opts.model);
  }
  if (opts.method !== undefined) {
    where.push('r.method = ?');
    params.push(opts.method);
  }
  if (opts.tag !== undefined) {
    where.push('EXISTS (SELECT 1 FROM run_tags t WHERE t.run_id = r.id AND t.tag = ?)');
    params.push(opts.tag);
  }
  const sort = opts.sort ?? 'created';
  let orderBy: string;
  if (sort.startsWith('metric:')) {
    orderBy = "json_extract(r.final_metrics, '$.\"' || ? || '\"')";
    params.push(sort.slice('metric:'.length));
  } else if (sort in SORT_COLUMNS) {
    orderBy = SORT_COLUMNS[sort];
  } else {
    throw new Error(`sort must be one of ${Object.keys(SORT_COLUMNS).join(', ')} or metric:NAME; got "${sort}"`);
  }
  const order = opts.order ?? (sort === 'name' || sort.startsWith('metric:') ? 'asc' : 'desc');
  if (order !== 'asc' && order !== 'desc') throw new Error(`order must be asc or desc; got "${order}"`);
  const sql = `${RUN_SELECT} ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
    ORDER BY ${orderBy} IS NULL, ${orderBy} ${order.toUpperCase()}, r.created_at DESC, r.id`;
  // The sort expression appears twice, so its parameter does too.
  const all = sort.startsWith('metric:') ? [...params, params[params.length - 1]] : params;
  return (db.prepare(sql).all(...all) as RunRow[]).map(toRun);
}

/** The runs of a damaged store that can still be read, row by row where a whole listing fails. */
export function readableRuns(db: Database.Database): Run[] {
  try {
    return listRuns(db);
  } catch {
    let rowids: number[];
    try {
      rowids = db.prepare('SELECT rowid FROM runs ORDER BY rowid').pluck().all() as number[];
    } catch {
      return [];
    }
    return rowids.flatMap((rowid) => {
      try {
        const row = db.prepare(`${RUN_SELECT} WHERE r.rowid = ?`).get(rowid) as RunRow | undefined;
        return row ? [toRun(row)] : [];
      } catch {
        return [];
      }
    });
  }
}

export function tagRun(db: Database.Database, id: string, tag: string): void {
  const clean = tag.trim();
  if (!clean || clean.includes('\n')) throw new Error(`tag must be non-empty text on one line; got ${JSON.stringify(tag)}`);
  requireRun(db, id);
  db.prepare('INSERT OR IGNORE INTO run_tags (run_id, tag) VALUES (?, ?)').run(id, clean);
}

export function untagRun(db: Database.Database, id: string, tag: string): boolean {
  requireRun(db, id);
  return db.prepare('DELETE FROM run_tags WHERE run_id = ? AND tag = ?').run(id, tag.trim()).changes > 0;
}

export function setRunNotes(db: Database.Database, id: string, notes: string): void {
  if (db.prepare('UPDATE runs SET notes = ? WHERE id = ?').run(notes, id).changes === 0) throw new Error(`no run with id "${id}"`);
}

export function recordCheckpoint(db: Database.Database, runId: string, ckpt: { step: number; path: string; evalLoss?: number; isBest?: boolean }): void {
  db.transaction(() => {
    // Only one checkpoint per run can be the best one.
    if (ckpt.isBest) db.prepare('UPDATE checkpoints SET is_best = 0 WHERE run_id = ?').run(runId);
    db.prepare(
      `INSERT INTO checkpoints (run_id, step, path, eval_loss, is_best, created_at) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (run_id, step) DO UPDATE SET path = excluded.path, eval_loss = excluded.eval_loss,
         is_best = excluded.is_best, created_at = excluded.created_at`,
    ).run(runId, ckpt.step, ckpt.path, ckpt.evalLoss ?? null, ckpt.isBest ? 1 : 0, Date.now());
  })();
}

interface CheckpointRow {
  run_id: string;
  step: number;
  path: string;
  eval_loss: number | null;
  is_best: number;
  created_at: number;
}

const toCheckpoint = (r: CheckpointRow): Checkpoint => ({
  runId: r.run_id,
  step: r.step,
  path: r.path,
  evalLoss: r.eval_loss,
  isBest: r.is_best === 1,
  createdAt: r.created_at,
});

export function listCheckpoints(db: Database.Database, runId: string): Checkpoint[] {
  return (db.prepare('SELECT * FROM checkpoints WHERE run_id = ? ORDER BY step').all(runId) as CheckpointRow[]).map(toCheckpoint);
}

/** The checkpoint to resume an interrupted run from. */
export function lastCheckpoint(db: Database.Database, runId: string): Checkpoint | undefined {
  const row = db.prepare('SELECT * FROM checkpoints WHERE run_id = ? ORDER BY step DESC LIMIT 1').get(runId) as CheckpointRow | undefined;
  return row && toCheckpoint(row);
}

export function recordSample(db: Database.Database, runId: string, sample: { step: number; prompt: string; output: string }): void {
  db.prepare('INSERT INTO samples (run_id, step, prompt, output, created_at) VALUES (?, ?, ?, ?, ?)').run(runId, sample.step, sample.prompt, sample.output, Date.now());
}

/** The last step with a sample, so a resumed run does not store the ones it repeats twice. */
export function lastSampleStep(db: Database.Database, runId: string): number | null {
  return db.prepare('SELECT max(step) FROM samples WHERE run_id = ?').pluck().get(runId) as number | null;
}

export function listSamples(db: Database.Database, runId: string): Sample[] {
  const rows = db.prepare('SELECT run_id, step, prompt, output, created_at FROM samples WHERE run_id = ? ORDER BY step, id').all(runId) as {
    run_id: string; step: number; prompt: string; output: string; created_at: number;
  }[];
  return rows.map((r) => ({ runId: r.run_id, step: r.step, prompt: r.prompt, output: r.output, createdAt: r.created_at }));
}

/** What deleting the run with its files would remove: only what it recorded writing, and folders it created once they are empty. */
export function runFilesToDelete(db: Database.Database, id: string): string[] {
  const run = requireRun(db, id);
  if (!run.outputDir) return [];
  const { paths, folders } = runFiles(run.outputDir);
  return [...paths, ...folders.map((f) => `${f}${path.sep} (if left empty)`)];
}

/** Deletes a run's rows (metrics, checkpoints, samples and tags cascade) and, if asked, the files it wrote; returns the paths removed. */
export function deleteRun(db: Database.Database, id: string, opts: { removeFiles?: boolean } = {}): string[] {
  const run = requireRun(db, id);
  if (run.status === 'running') throw new Error(`run "${id}" is still running; stop it before deleting it`);
  // Files go first: if that fails the row remains, so the delete can be retried.
  const removed = opts.removeFiles && run.outputDir ? removeRunFiles(run.outputDir) : [];
  db.prepare('DELETE FROM runs WHERE id = ?').run(id);
  return removed;
}
