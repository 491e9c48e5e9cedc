// Shapes shared by the store modules and their callers (CLI, Electron main).

export const RUN_STATUSES = ['queued', 'running', 'completed', 'failed', 'stopped', 'interrupted'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

export interface ModelInput {
  /** Hub id (e.g. "gpt2") or local folder path. */
  source: string;
  configSummary?: Record<string, unknown>;
  parameterCount?: number;
}

export interface DatasetInput {
  path: string;
  format: string;
  contentHash: string;
  stats?: Record<string, unknown>;
}

export interface NewRun {
  id?: string;
  name: string;
  method: string;
  /** The fully resolved training config, as the trainer will use it. */
  config: unknown;
  model?: ModelInput;
  dataset?: DatasetInput;
  outputDir?: string;
  estimatedPeakBytes?: number;
  status?: 'queued' | 'running';
  /** Only with status 'running'; defaults to this process. */
  pid?: number;
}

export interface Run {
  id: string;
  name: string;
  status: RunStatus;
  method: string;
  model: string | null;
  dataset: string | null;
  config: unknown;
  createdAt: number;
  startedAt: number | null;
  endedAt: number | null;
  estimatedPeakBytes: number | null;
  /** Process peak RSS of the training run. */
  measuredPeakBytes: number | null;
  /** Peak bytes held by tensors, the part of the RSS that the model, gradients and optimizer take. */
  measuredTensorPeakBytes: number | null;
  /** The TensorFlow.js backend that trained it. */
  backend: string | null;
  finalMetrics: Record<string, number> | null;
  outputDir: string | null;
  pid: number | null;
  error: string | null;
  notes: string;
  tags: string[];
}

export interface Checkpoint {
  runId: string;
  step: number;
  path: string;
  evalLoss: number | null;
  isBest: boolean;
  createdAt: number;
}

export interface Sample {
  runId: string;
  step: number;
  prompt: string;
  output: string;
  createdAt: number;
}

export interface Point {
  step: number;
  value: number;
}

/** One metric over steps, as parallel arrays so charts can take them directly. */
export interface Series {
  steps: number[];
  values: number[];
}
