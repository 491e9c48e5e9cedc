export { ExperimentStore, openStore } from './store';
export { defaultStorePath } from './open';
export { LATEST_VERSION, MIGRATIONS, migrate, type Migration } from './migrations';
export { MetricsWriter } from './metrics';
export { downsample } from './downsample';
export { flattenConfig, TOKENS_METRIC, type AlignedSeries, type ConfigRow, type RunComparison } from './compare';
export type { ListRunsOptions, RunResult } from './runs';
export type { ChatMessage, ChatRole, ChatSession } from './chat';
export * from './types';
