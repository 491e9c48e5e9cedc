// The wizard's draft as the trainer's config: defaults filled, the run folder set, the
// model found on disk, and every problem reported on the draft field it is about.
import type { ApiErrorInfo, TrainConfigDraft } from '../api/contract';
import { apiError } from '../api/errors';
import { ConfigFieldError, resolveTrainConfig, type TrainConfig } from '../train/config';
import { existingFile, existingFolder, withField } from './request-checks';

/** A ConfigFieldError about the request's `config`: the key it names first (they quote it) is the field. */
export function configErrorInfo(err: ConfigFieldError): ApiErrorInfo {
  const key = /"([\w.]+)"/.exec(err.message)?.[1];
  return { message: err.message, field: key && `config.${key}` };
}

export function draftToConfig(draft: TrainConfigDraft, outputDir: string, modelDir: (source: string) => string): TrainConfig {
  const model = withField('config.model', () => modelDir(draft.model));
  let config: TrainConfig;
  try {
    config = resolveTrainConfig({ ...draft, model, output_dir: outputDir }, 'training config');
  } catch (err) {
    if (err instanceof ConfigFieldError) throw apiError(configErrorInfo(err));
    throw err;
  }
  // The checked paths (`~/` expanded) are what the run records and trains from.
  return {
    ...config,
    data: {
      ...config.data,
      train: existingFile(config.data.train, 'config.data.train'),
      validation: config.data.validation && existingFile(config.data.validation, 'config.data.validation'),
    },
    lora: { ...config.lora, init_adapter: config.lora.init_adapter && existingFolder(config.lora.init_adapter, 'config.lora.init_adapter') },
  };
}
