// `tunesmith runs list|show|compare|delete|tag|untag`: the experiment store from a terminal.
import readline from 'node:readline/promises';
import { openStore, RUN_STATUSES, type ExperimentStore, type ListRunsOptions, type Run, type RunStatus } from '../store/index';
import { openDamagedForReading, StoreDamaged } from '../store/open';
import { readableRuns } from '../store/runs';
import { UsageError } from './args';
import type { Flags, Print } from './commands';

export const RUNS_USAGE = `usage: tunesmith runs [--store FILE] list [--status S] [--model M] [--method M] [--tag T] [--sort created|started|ended|name|status|metric:NAME] [--order asc|desc] [--json]
       tunesmith runs show ID [--json]
       tunesmith runs compare ID ID [...] [--json]
       tunesmith runs delete ID [--yes] [--keep-files]
       tunesmith runs tag ID TAG [--json]
       tunesmith runs untag ID TAG [--json]`;

function str(flags: Flags, name: string): string | undefined {
  const v = flags[name];
  return typeof v === 'string' ? v : undefined;
}

function when(ms: number | null): string {
  return ms === null ? '-' : new Date(ms).toISOString().slice(0, 16).replace('T', ' ');
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => r.map((cell, c) => cell.padEnd(widths[c])).join('  ').trimEnd()).join('\n');
}

function loss(run: Run): string {
  const m = run.finalMetrics;
  const v = m?.eval_loss ?? m?.train_loss ?? m?.loss;
  return v === undefined ? '-' : v.toFixed(4);
}

function mib(bytes: number | null): string {
  return bytes === null ? '-' : `${(bytes / 2 ** 20).toFixed(0)} MiB`;
}

function cell(v: unknown): string {
  return v === undefined ? '(unset)' : typeof v === 'string' ? v : JSON.stringify(v);
}

function args(rest: string[], count: number, usage: string): string[] {
  if (rest.length !== count) throw new UsageError(`usage: tunesmith runs ${usage}`);
  return rest;
}

async function confirmed(question: string): Promise<boolean> {
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}

function list(store: ExperimentStore, flags: Flags, print: Print): void {
  const status = str(flags, 'status');
  if (status !== undefined && !(RUN_STATUSES as readonly string[]).includes(status)) {
    throw new UsageError(`--status must be one of ${RUN_STATUSES.join(', ')}; got "${status}"`);
  }
  const order = str(flags, 'order');
  if (order !== undefined && order !== 'asc' && order !== 'desc') throw new UsageError(`--order must be asc or desc; got "${order}"`);
  const runs = store.listRuns({
    status: status as RunStatus | undefined,
    model: str(flags, 'model'),
    method: str(flags, 'method'),
    tag: str(flags, 'tag'),
    sort: str(flags, 'sort') as ListRunsOptions['sort'],
    order,
  });
  printRuns(runs, flags, print);
}

function printRuns(runs: Run[], flags: Flags, print: Print): void {
  if (flags.json) return print(JSON.stringify(runs));
  if (runs.length === 0) return print('no runs');
  const rows = runs.map((r) => [r.id, r.name, r.status, r.method, r.model ?? '-', r.backend ?? '-', when(r.startedAt), loss(r), mib(r.measuredPeakBytes), r.tags.join(',')]);
  print(table([['ID', 'NAME', 'STATUS', 'METHOD', 'MODEL', 'BACKEND', 'STARTED', 'LOSS', 'PEAK RSS', 'TAGS'], ...rows]));
}

function show(store: ExperimentStore, id: string, flags: Flags, print: Print): void {
  const run = store.getRun(id);
  if (!run) throw new Error(`no run with id "${id}"`);
  const checkpoints = store.listCheckpoints(id);
  const lastMetrics = store.lastMetricValues(id);
  if (flags.json) return print(JSON.stringify({ run, checkpoints, lastMetrics }));
  const lines = [
    ['id', run.id],
    ['name', run.name],
    ['status', run.status + (run.error ? ` (${run.error})` : '')],
    ['method', run.method],
    ['model', run.model ?? '-'],
    ['dataset', run.dataset ?? '-'],
    ['backend', run.backend ?? '-'],
    ['started', when(run.startedAt)],
    ['ended', when(run.endedAt)],
    ['output', run.outputDir ?? '-'],
    ['peak memory', `${mib(run.measuredPeakBytes)} RSS (${mib(run.measuredTensorPeakBytes)} in tensors) measured, ${mib(run.estimatedPeakBytes)} estimated`],
    ['tags', run.tags.join(', ') || '-'],
    ['notes', run.notes || '-'],
  ];
  const parts = [table(lines)];
  const metrics = run.finalMetrics ?? lastMetrics;
  if (Object.keys(metrics).length) {
    parts.push(`\n${run.finalMetrics ? 'final metrics' : 'last logged metrics'}:\n${table(Object.entries(metrics).map(([k, v]) => [`  ${k}`, String(v)]))}`);
  }
  if (checkpoints.length) {
    parts.push(`\ncheckpoints:\n${table(checkpoints.map((c) => [`  step ${c.step}`, c.path, c.evalLoss === null ? '' : `eval_loss ${c.evalLoss.toFixed(4)}`, c.isBest ? 'best' : '']))}`);
  }
  print(parts.join('\n'));
}

function compare(store: ExperimentStore, ids: string[], flags: Flags, print: Print): void {
  const c = store.compareRuns(ids);
  if (flags.json) return print(JSON.stringify(c));
  const head = ['', ...c.runs.map((r) => `${r.id} (${r.name})`)];
  const parts = [
    c.config.differencesOnly.length
      ? `config differences:\n${table([head, ...c.config.differencesOnly.map((r) => [r.key, ...r.values.map(cell)])])}`
      : 'config: identical',
  ];
  if (c.finalMetrics.length) {
    parts.push(`\nfinal metrics:\n${table([head, ...c.finalMetrics.map((m) => [m.name, ...m.values.map((v) => (v === null ? '-' : String(v)))])])}`);
  }
  for (const s of c.samples) {
    parts.push(`\nprompt: ${JSON.stringify(s.prompt)}`);
    s.outputs.forEach((o, i) => parts.push(`  ${c.runs[i].id}${o ? ` @ step ${o.step}: ${JSON.stringify(o.output)}` : ': (no sample)'}`));
  }
  print(parts.join('\n'));
}

async function remove(store: ExperimentStore, id: string, flags: Flags, print: Print): Promise<void> {
  const run = store.getRun(id);
  if (!run) throw new Error(`no run with id "${id}"`);
  const removeFiles = flags['keep-files'] !== true;
  // Only what the run recorded writing; the rest of its folder (data, the user's files) stays.
  const files = removeFiles ? store.runFilesToDelete(id) : [];
  if (!flags.yes) {
    if (!process.stdin.isTTY) throw new UsageError(`refusing to delete run "${id}" without confirmation: stdin is not a terminal; pass --yes`);
    print(files.length ? `Deleting run ${id} (${run.name}) removes:\n${files.map((f) => `  ${f}`).join('\n')}` : `Deleting run ${id} (${run.name}) removes no files.`);
    if (!(await confirmed(`Delete run ${id}? [y/N] `))) return print('not deleted');
  }
  const removed = store.deleteRun(id, { removeFiles });
  print(`deleted run ${id}${removed.length ? `; removed:\n${removed.map((f) => `  ${f}`).join('\n')}` : ''}`);
}

function tag(store: ExperimentStore, id: string, name: string, add: boolean, flags: Flags, print: Print): void {
  if (add) store.tagRun(id, name);
  else store.untagRun(id, name);
  const tags = store.getRun(id)!.tags;
  print(flags.json ? JSON.stringify({ id, tags }) : `run ${id} tags: ${tags.join(', ') || '(none)'}`);
}

/** `args` are the words after `runs`, e.g. ['show', ID]. */
export async function runsCommand(words: string[], flags: Flags, print: Print): Promise<void> {
  const [sub, ...rest] = words;
  if (!sub) throw new UsageError(RUNS_USAGE);
  let store: ExperimentStore;
  try {
    store = openStore(str(flags, 'store'));
  } catch (err) {
    // A damaged store is never written into; `list` still shows what can be read from it, then fails.
    if (err instanceof StoreDamaged && sub === 'list') {
      const db = openDamagedForReading(err.file);
      try {
        printRuns(readableRuns(db), flags, print);
      } finally {
        db.close();
      }
    }
    throw err;
  }
  try {
    switch (sub) {
      case 'list':
        args(rest, 0, 'list [--status S] ...');
        return list(store, flags, print);
      case 'show':
        return show(store, args(rest, 1, 'show ID')[0], flags, print);
      case 'compare':
        if (rest.length < 2) throw new UsageError('usage: tunesmith runs compare ID ID [...]');
        return compare(store, rest, flags, print);
      case 'delete':
        return await remove(store, args(rest, 1, 'delete ID [--yes]')[0], flags, print);
      case 'tag':
      case 'untag': {
        const [id, name] = args(rest, 2, `${sub} ID TAG`);
        return tag(store, id, name, sub === 'tag', flags, print);
      }
      default:
        throw new UsageError(`unknown runs command "${sub}"\n${RUNS_USAGE}`);
    }
  } finally {
    store.close();
  }
}
