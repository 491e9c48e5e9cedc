// Metric rows: written in one transaction per logging step (one fsync-worthy commit
// instead of one per value), read back as downsampled curves.
import type Database from 'better-sqlite3';
import { downsample } from './downsample';
import type { Point, Series } from './types';

interface MetricRow {
  step: number;
  epoch: number | null;
  name: string;
  value: number | null;
  time: number;
}

/**
 * Collects the values of one logging step and commits them together. Values for a later
 * step flush the earlier one first, so a step is either fully stored or not at all.
 */
export class MetricsWriter {
  private pending: MetricRow[] = [];
  private pendingStep: number | null = null;
  private committed: number | null = null;
  private readonly insertMany: (rows: MetricRow[]) => void;

  constructor(db: Database.Database, readonly runId: string) {
    const insert = db.prepare('INSERT INTO metrics (run_id, step, epoch, name, value, time) VALUES (?, ?, ?, ?, ?, ?)');
    this.insertMany = db.transaction((rows: MetricRow[]) => {
      for (const r of rows) insert.run(runId, r.step, r.epoch, r.name, r.value, r.time);
    });
  }

  /** Buffers `values` for `step`; non-finite values are kept as NULL so a NaN loss does not fail the write. */
  log(step: number, values: Record<string, number>, epoch?: number): void {
    if (!Number.isInteger(step) || step < 0) throw new Error(`metric step must be a whole number >= 0; got ${step}`);
    if (this.pendingStep !== null && step !== this.pendingStep) this.flush();
    this.pendingStep = step;
    const time = Date.now();
    for (const [name, value] of Object.entries(values)) {
      this.pending.push({ step, epoch: epoch ?? null, name, value: Number.isNaN(value) ? null : value, time });
    }
  }

  /** Commits the buffered step; returns the last step known to be on disk. */
  flush(): number | null {
    if (this.pending.length > 0) {
      this.insertMany(this.pending);
      this.committed = this.pendingStep;
    }
    this.pending = [];
    this.pendingStep = null;
    return this.committed;
  }

  /** The last step committed by this writer. */
  get lastCommittedStep(): number | null {
    return this.committed;
  }
}

/** The last step with a stored metric, so a resumed run does not store the steps it repeats twice. */
export function lastMetricStep(db: Database.Database, runId: string): number | null {
  return db.prepare('SELECT max(step) FROM metrics WHERE run_id = ?').pluck().get(runId) as number | null;
}

export function metricNames(db: Database.Database, runId: string): string[] {
  return (db.prepare('SELECT DISTINCT name FROM metrics WHERE run_id = ? ORDER BY name').pluck().all(runId) as string[]);
}

/** Every recorded point of one metric in step order; NaN values (stored as NULL) are left out. */
export function metricPoints(db: Database.Database, runId: string, name: string): Point[] {
  const rows = db
    .prepare('SELECT step, value FROM metrics WHERE run_id = ? AND name = ? AND value IS NOT NULL ORDER BY step')
    .raw()
    .all(runId, name) as [number, number][];
  return rows.map(([step, value]) => ({ step, value }));
}

export function toSeries(points: readonly Point[]): Series {
  return { steps: points.map((p) => p.step), values: points.map((p) => p.value) };
}

/** Every metric of a run, each downsampled to at most `maxPoints` for plotting. */
export function runCurves(db: Database.Database, runId: string, opts: { maxPoints?: number; names?: string[] } = {}): Record<string, Series> {
  const maxPoints = opts.maxPoints ?? 2000;
  const out: Record<string, Series> = {};
  for (const name of opts.names ?? metricNames(db, runId)) out[name] = toSeries(downsample(metricPoints(db, runId, name), maxPoints));
  return out;
}

/** The last recorded value of each metric, for runs that ended without final metrics. */
export function lastMetricValues(db: Database.Database, runId: string): Record<string, number> {
  const rows = db
    .prepare(
      `SELECT name, value FROM metrics m WHERE run_id = ? AND value IS NOT NULL
         AND step = (SELECT max(step) FROM metrics WHERE run_id = m.run_id AND name = m.name AND value IS NOT NULL)`,
    )
    .raw()
    .all(runId) as [string, number][];
  return Object.fromEntries(rows);
}
