// Everything the wizard knows while someone fills it in: the form, the host's answers
// about it, and what stops each step from going on. It lives beyond the Wizard
// component, so a visit to another screen does not throw away a half-made run.
import type {
  CatalogEntry,
  DataPreviewRequest,
  DownloadProgress,
  MemoryEstimateView,
  ModelSummary,
  RunCheck,
  TrainConfigDraft,
  WarmupResult,
} from '../../../core/api/contract';
import type { Run } from '../../../core/store/types';
import { errorInfo, hostApi } from '../lib/api';
import { FIELDS, isConfigField, STEPS, type ConfigField, type StepId } from './fields';
import { formFromConfig, initialForm, isFolderSource, TRAINER_DEFAULTS, type WizardForm } from './form';
import { LiveQuery } from './live-query.svelte';
import { getPath, withPatch, type FormPatch } from './paths';
import { activePreset, presetPatch, type PresetName } from './presets';
import { rememberPath } from './recent-paths';
import { failingField } from './retry';
import { checkForm, runNameProblem, stepProblems, type Problems } from './validation';

/** How long typing may pause before the host is asked again. */
const QUIET_MS = 350;
/** Examples the data step renders. */
const PREVIEW_EXAMPLES = 3;

/** `config.lora.r` → `lora.r`: where a host error about the sent config belongs in the form. */
function hostFieldProblem(error: unknown): Problems {
  if (!error) return {};
  const info = errorInfo(error);
  const field = info.field?.replace(/^config\./, '');
  return field && isConfigField(field) ? { [field]: info.message } : {};
}

/** The run a "Run again with changes" started from, and the setting its error named. */
export interface RetryOrigin {
  runName: string;
  /** The run's error, first line; null when it did not fail. */
  error: string | null;
  field: ConfigField | null;
  /** The field's value as loaded: the mark stays until it is changed. */
  value: string;
}

export class WizardSession {
  form: WizardForm = $state(initialForm());
  step: StepId = $state('model');
  /** The furthest step visited, so the step list marks only what was seen as done. */
  furthest = $state(0);
  /** Only Electron can show a native file dialog; the web host gets path fields alone. */
  canBrowse = $state(false);
  /** The bf16 kernel when this CPU trains bf16 faster than fp32; the bf16 switch is offered only then. */
  bf16Kernel: string | null = $state(null);

  catalog: CatalogEntry[] | null = $state(null);
  catalogError: unknown = $state(null);
  /** The latest progress of each model's download, by model id. */
  downloads: Record<string, DownloadProgress> = $state({});

  inspect = new LiveQuery((source: string) => hostApi().inspectModel({ source }), QUIET_MS);
  preview = new LiveQuery((req: DataPreviewRequest) => hostApi().previewData(req), QUIET_MS);
  estimate = new LiveQuery((config: TrainConfigDraft) => hostApi().estimateMemory({ config }), QUIET_MS);
  warmup = new LiveQuery((config: TrainConfigDraft) => hostApi().measureWarmup({ config }), 0);
  preflight = new LiveQuery((config: TrainConfigDraft) => hostApi().checkRun({ config }), QUIET_MS);

  retry: RetryOrigin | null = $state(null);
  /** The model whose position table max length was last fitted to. */
  #fittedFor: string | null = null;

  starting = $state(false);
  startError: unknown = $state(null);
  /** The config the failed start sent: its error stops mattering once the config changes. */
  #refused: string | null = $state(null);

  check = $derived(checkForm(this.form));

  /** The pre-flight check's answer for the settings as they are now. */
  runCheck: RunCheck | null = $derived(this.preflight.answers(this.check.draft) ? this.preflight.value : null);

  /** The data file's examples, once all of it was read (a partial preview counts only its start). */
  examples: number | null = $derived(this.preview.value && !this.preview.value.partial ? (this.preview.value.stats?.examples ?? null) : null);
  /** The example count the preset now in the form was fitted to (null: the preset's own intervals). */
  presetExamples: number | null = $state(null);
  /** The preset the form is on, if any. */
  preset: PresetName | null = $derived(activePreset(this.form, this.presetExamples));

  problems: Problems = $derived({
    ...this.#retryProblem(),
    ...hostFieldProblem(this.estimate.error),
    ...hostFieldProblem(this.preflight.error),
    // A warm-up that fails on a setting (the data longer than the model reads) would fail the run too.
    ...(this.warmup.answers(this.check.draft) ? hostFieldProblem(this.warmup.error) : {}),
    ...Object.fromEntries((this.runCheck?.issues ?? []).filter((i) => i.severity === 'error' && isConfigField(i.field)).map((i) => [i.field, i.message])),
    ...(this.#refused === JSON.stringify(this.check.draft) ? hostFieldProblem(this.startError) : {}),
    ...this.check.problems,
    name: runNameProblem(this.form.name) ?? undefined,
  });

  /** The chosen catalog entry; null for a local folder. */
  entry: CatalogEntry | null = $derived(
    this.form.modelOrigin === 'catalog' ? (this.catalog?.find((e) => e.id === this.form.model) ?? null) : null,
  );

  /** What inspectModel can read now: a folder, or a catalog model once it is downloaded. */
  inspectSource: string | null = $derived(
    this.form.modelOrigin === 'folder' ? this.form.model.trim() || null : this.entry?.cachedDir ? this.entry.id : null,
  );

  model: ModelSummary | null = $derived(this.inspect.answers(this.inspectSource) ? this.inspect.value : null);

  previewRequest: DataPreviewRequest | null = $derived(
    this.model && this.form.data.train.trim() && !this.problems['data.max_length'] && !this.problems['data.format']
      ? {
          path: this.form.data.train.trim(),
          model: this.model.source,
          format: this.form.data.format || null,
          template: this.form.data.template,
          maxLength: this.form.data.max_length as number,
          trainOnPrompt: this.form.data.train_on_prompt,
          packing: this.form.data.packing,
          promptColumn: this.form.data.prompt_column || null,
          responseColumn: this.form.data.response_column || null,
          limit: PREVIEW_EXAMPLES,
        }
      : null,
  );

  /** The estimate, and whether it was made for the settings as they are now. */
  memory: { view: MemoryEstimateView | null; current: boolean } = $derived({
    view: this.estimate.value,
    current: this.estimate.answers(this.check.draft) && !this.estimate.pending,
  });

  warmupResult: WarmupResult | null = $derived(this.warmup.answers(this.check.draft) ? this.warmup.value : null);

  blockers: Record<StepId, string[]> = $derived({
    model: this.#modelBlockers(),
    data: [...stepProblems(this.problems, 'data'), ...this.#previewBlockers()],
    method: stepProblems(this.problems, 'method'),
    settings: stepProblems(this.problems, 'settings'),
    review: [...stepProblems(this.problems, 'review'), ...this.#preflightBlockers()],
  });

  /** The furthest step reachable: every step before it is complete. */
  reachable: number = $derived.by(() => {
    const blocked = STEPS.findIndex((s) => this.blockers[s.id].length > 0);
    return blocked === -1 ? STEPS.length - 1 : blocked;
  });

  #modelBlockers(): string[] {
    const { form, entry } = this;
    if (!form.model.trim()) return [form.modelOrigin === 'folder' ? 'Enter the folder that holds the model' : (FIELDS.model.empty as string)];
    if (entry && !entry.cachedDir) {
      return [this.downloads[entry.id]?.state === 'running' ? `Wait for ${entry.id} to finish downloading` : `Download ${entry.id} first, or choose a downloaded model`];
    }
    if (this.inspect.error && this.inspect.answers(this.inspectSource)) return [errorInfo(this.inspect.error).message];
    if (!this.model) return ['Reading the model…'];
    return stepProblems(this.problems, 'model');
  }

  #previewBlockers(): string[] {
    const request = this.previewRequest;
    if (!request) return [];
    if (!this.preview.answers(request) || this.preview.pending) return ['Reading the data…'];
    if (this.preview.error) return [errorInfo(this.preview.error).message];
    const preview = this.preview.value;
    if (preview?.problem && preview.columns) return ['Choose which fields are the prompt and the response'];
    if (preview?.problem) return ['Fix the problem in the data file, shown above'];
    if (preview?.stats?.examples === 0) return ['The data file has no examples to train on'];
    return [];
  }

  #preflightBlockers(): string[] {
    if (!this.check.draft || this.runCheck || this.preflight.error) return [];
    return ['Checking the settings against the model and data…'];
  }

  #retryProblem(): Problems {
    const retry = this.retry;
    if (!retry?.field || !retry.error || JSON.stringify(getPath(this.form, retry.field)) !== retry.value) return {};
    return { [retry.field]: `The last run failed on this setting: ${retry.error}` };
  }

  /** Fills the form from a past run, opened where its error points (or at the review). */
  loadRun(run: Run): void {
    const config = run.config as { model?: string };
    const form = formFromConfig(run.config, run.model ?? config.model ?? '', `${run.name} (again)`);
    const error = run.status === 'failed' ? (run.error?.split('\n')[0] ?? null) : null;
    const field = failingField(error);
    this.reset();
    this.form = form;
    this.retry = { runName: run.name, error, field, value: JSON.stringify(field ? getPath(form, field) : null) };
    this.step = field ? FIELDS[field].step : 'review';
    this.furthest = STEPS.length - 1;
  }

  /** The sample data with the quick preset: a first run in one click once a model is chosen. */
  async useSampleData(): Promise<void> {
    const { path } = await hostApi().sampleData();
    this.applyPatch({ 'data.train': path, 'data.format': '', 'data.prompt_column': '', 'data.response_column': '', 'data.packing': false });
    this.choosePreset('quick');
    this.form.name = '';
  }

  /** A new model reads at most its positions: the untouched default length shrinks to fit. */
  fitToModel(model: ModelSummary): void {
    if (this.#fittedFor === model.source) return;
    this.#fittedFor = model.source;
    const positions = model.maxPositions;
    if (positions !== null && this.form.data.max_length === TRAINER_DEFAULTS.data.max_length && positions < TRAINER_DEFAULTS.data.max_length) {
      this.form.data.max_length = positions;
    }
  }

  /** A setting's label and current problem, spread onto its input. */
  at(field: ConfigField): { label: string; problem: string | undefined } {
    return { label: FIELDS[field].label, problem: this.problems[field] };
  }

  applyPatch(patch: FormPatch): void {
    this.form = withPatch(this.form, patch);
  }

  /** Puts a preset's settings in the form, its intervals fitted to the data's length when that is known. */
  choosePreset(name: PresetName): void {
    this.applyPatch(presetPatch(name, this.form, this.examples));
    this.presetExamples = this.examples;
  }

  /** A form still on a preset follows the data and the method: a new file's length re-fits its intervals. */
  followPreset(): void {
    const preset = this.preset;
    if (preset && this.examples !== this.presetExamples) this.choosePreset(preset);
  }

  async loadCatalog(): Promise<void> {
    this.catalogError = null;
    try {
      this.catalog = await hostApi().listCatalog();
    } catch (error) {
      this.catalogError = error;
    }
  }

  async download(modelId: string): Promise<void> {
    const idle: DownloadProgress = { downloadId: '', modelId, state: 'running', file: null, bytes: 0, totalBytes: 0, bytesPerSecond: 0, etaSeconds: null };
    this.downloads[modelId] = idle;
    try {
      const { downloadId } = await hostApi().pullModel({ modelId });
      // Progress events may have come before the reply; only the id is news.
      this.downloads[modelId] = { ...this.downloads[modelId], downloadId };
    } catch (error) {
      this.downloads[modelId] = { ...idle, state: 'failed', error: errorInfo(error) };
    }
  }

  async cancelDownload(modelId: string): Promise<void> {
    const progress = this.downloads[modelId];
    if (progress?.downloadId) await hostApi().cancelPull({ downloadId: progress.downloadId });
  }

  onDownload(progress: DownloadProgress): void {
    this.downloads[progress.modelId] = progress;
    if (progress.state === 'done' && progress.dir && this.catalog) {
      this.catalog = this.catalog.map((e) => (e.id === progress.modelId ? { ...e, cachedDir: progress.dir ?? null } : e));
    }
  }

  /** Starts the run; its id, or null when the host refused (the reason is in startError). */
  async start(): Promise<string | null> {
    const config = this.check.draft;
    if (!config || this.starting) return null;
    this.starting = true;
    this.startError = null;
    try {
      const run = await hostApi().startRun({ name: this.form.name.trim(), config });
      if (isFolderSource(config.model)) rememberPath('model', config.model);
      rememberPath('data', config.data.train);
      return run.id;
    } catch (error) {
      this.startError = error;
      this.#refused = JSON.stringify(config);
      return null;
    } finally {
      this.starting = false;
    }
  }

  reset(): void {
    this.form = initialForm();
    this.presetExamples = null;
    this.step = 'model';
    this.furthest = 0;
    this.startError = null;
    this.retry = null;
    this.#fittedFor = null;
    for (const query of [this.inspect, this.preview, this.estimate, this.warmup, this.preflight]) query.ask(null);
  }
}

/** The one wizard, kept while the app is open. */
export const session = new WizardSession();
