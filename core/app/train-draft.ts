// The wizard's draft as the trainer's config: defaults filled, the run folder set, the
// model found on disk, and every problem reported on the draft field it is about.
import type { TrainConfigDraft } from '../api/contract';
import { apiError } from '../api/errors';
import { ConfigFieldError, resolveTrainConfig, type TrainConfig } from '../train/config';
import { existingFile, existingFolder, withField } from './request-checks';

/** The config key a ConfigFieldError names first (they quote it), as the request's field. */
function fieldOf(message: string): string | undefined {
  const key = /"([\w.]+)"/.exec(message)?.[1];
  return key && `config.${key}`;
}

export function draftToConfig(draft: TrainConfigDraft, outputDir: string, modelDir: (source: string) => string): TrainConfig {
  const model = withField('config.model', () => modelDir(draft.model));
  let config: TrainConfig;
  try {
    config = resolveTrainConfig({ ...draft, model, output_dir: outputDir }, 'training config');
  } catch (err) {
    if (err instanceof ConfigFieldError) throw apiError({ message: err.message, field: fieldOf(err.message) });
    throw err;
  }
  existingFile(config.data.train, 'config.data.train');
  if (config.data.validation) existingFile(config.data.validation, 'config.data.validation');
  if (config.lora.init_adapter) existingFolder(config.lora.init_adapter, 'config.lora.init_adapter');
  return config;
}
