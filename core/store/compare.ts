// Side-by-side view of several runs: curves on a shared x axis, the config keys that
// differ, final metrics, and what each run generated for the same prompts.
import type Database from 'better-sqlite3';
import { downsample } from './downsample';
import { metricNames, metricPoints } from './metrics';
import { listSamples, requireRun } from './runs';
import type { Run } from './types';

/** Curves of several runs on one x axis; `values[i]` is run i, null where it has no point at that x. */
export interface AlignedSeries {
  x: number[];
  values: (number | null)[][];
}

export interface ConfigRow {
  key: string;
  /** One per run; undefined where the run's config lacks the key. */
  values: unknown[];
  differs: boolean;
}

export interface RunComparison {
  runs: Pick<Run, 'id' | 'name' | 'status' | 'method' | 'model' | 'dataset'>[];
  curves: {
    byStep: Record<string, AlignedSeries>;
    /** x is the run's 'tokens_seen' metric at each step; runs without it have only nulls. */
    byTokens: Record<string, AlignedSeries>;
  };
  config: { all: ConfigRow[]; differencesOnly: ConfigRow[] };
  finalMetrics: { name: string; values: (number | null)[] }[];
  samples: { prompt: string; outputs: ({ step: number; output: string } | null)[] }[];
}

export const TOKENS_METRIC = 'tokens_seen';

/** Nested objects become dotted keys; arrays and other values are leaves. */
export function flattenConfig(value: unknown, prefix = '', out: Record<string, unknown> = {}): Record<string, unknown> {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const entries = Object.entries(value);
    if (entries.length === 0 && prefix) out[prefix] = {};
    for (const [k, v] of entries) flattenConfig(v, prefix ? `${prefix}.${k}` : k, out);
  } else if (prefix) {
    out[prefix] = value;
  }
  return out;
}

function align(series: { x: number; value: number }[][]): AlignedSeries {
  const x = [...new Set(series.flatMap((s) => s.map((p) => p.x)))].sort((a, b) => a - b);
  const index = new Map(x.map((v, i) => [v, i]));
  const values = series.map((s) => {
    const row: (number | null)[] = new Array(x.length).fill(null);
    for (const p of s) row[index.get(p.x)!] = p.value;
    return row;
  });
  return { x, values };
}

export function compareRuns(db: Database.Database, ids: string[], opts: { maxPoints?: number } = {}): RunComparison {
  if (ids.length < 2) throw new Error(`compare needs at least two run ids; got ${ids.length}`);
  const maxPoints = opts.maxPoints ?? 2000;
  const runs = ids.map((id) => requireRun(db, id));

  const names = [...new Set(ids.flatMap((id) => metricNames(db, id)))].filter((n) => n !== TOKENS_METRIC).sort();
  const tokensAt = ids.map((id) => new Map(metricPoints(db, id, TOKENS_METRIC).map((p) => [p.step, p.value])));
  const byStep: Record<string, AlignedSeries> = {};
  const byTokens: Record<string, AlignedSeries> = {};
  for (const name of names) {
    // Downsampled per run before aligning, so the union of x values stays near maxPoints per run.
    const perRun = ids.map((id) => downsample(metricPoints(db, id, name), maxPoints));
    byStep[name] = align(perRun.map((pts) => pts.map((p) => ({ x: p.step, value: p.value }))));
    if (tokensAt.some((m) => m.size > 0)) {
      byTokens[name] = align(
        perRun.map((pts, i) => pts.filter((p) => tokensAt[i].has(p.step)).map((p) => ({ x: tokensAt[i].get(p.step)!, value: p.value }))),
      );
    }
  }

  const flat = runs.map((r) => flattenConfig(r.config));
  const keys = [...new Set(flat.flatMap((f) => Object.keys(f)))].sort();
  const all = keys.map((key) => {
    const values = flat.map((f) => f[key]);
    const first = JSON.stringify(values[0]);
    return { key, values, differs: values.some((v) => JSON.stringify(v) !== first) };
  });

  const metricKeys = [...new Set(runs.flatMap((r) => Object.keys(r.finalMetrics ?? {})))].sort();
  const finalMetrics = metricKeys.map((name) => ({ name, values: runs.map((r) => r.finalMetrics?.[name] ?? null) }));

  // The latest output per run for each prompt, prompts in the order they were first used.
  const latest = ids.map((id) => {
    const byPrompt = new Map<string, { step: number; output: string }>();
    for (const s of listSamples(db, id)) byPrompt.set(s.prompt, { step: s.step, output: s.output });
    return byPrompt;
  });
  const prompts = [...new Set(latest.flatMap((m) => [...m.keys()]))];
  const samples = prompts.map((prompt) => ({ prompt, outputs: latest.map((m) => m.get(prompt) ?? null) }));

  return {
    runs: runs.map(({ id, name, status, method, model, dataset }) => ({ id, name, status, method, model, dataset })),
    curves: { byStep, byTokens },
    // Every run writes to a folder of its own, so output_dir always differs and says nothing.
    config: { all, differencesOnly: all.filter((r) => r.differs && r.key !== 'output_dir') },
    finalMetrics,
    samples,
  };
}
