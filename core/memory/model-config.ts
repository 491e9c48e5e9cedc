// The estimator's view of a model: config.json alone, so a Hub model can be sized before
// its weights are downloaded.
import { parseModelConfig, type ModelConfig } from '../models/config';
import { loadModelConfig } from '../models/load';

/**
 * A model folder (only its config.json is read) or an already parsed config.json; errors
 * name the file and the missing field or unsupported model_type.
 */
export function modelConfigForEstimate(source: string | Record<string, unknown>, file = 'config.json'): ModelConfig {
  return typeof source === 'string' ? loadModelConfig(source) : parseModelConfig(source, file);
}
