// `tunesmith import`: a Trainer output folder (from a handoff job, or any Trainer run on a
// GPT-2/BLOOM model) becomes a completed run in the store, tagged `imported`, with the curves
// of trainer_state.json. training_args.bin is never read: it is a pickle, and runs code.
import fs from 'node:fs';
import path from 'node:path';
import { readJsonFile } from '../checkpoint/model-folder';
import { initBackend, tf } from '../engine/backend';
import { loadAdapter } from '../models/lora';
import { loadModel } from '../models/load';
import type { ExperimentStore } from '../store/store';
import type { Run } from '../store/types';
import { finalDir } from '../train/checkpoint';
import { ConfigFieldError, resolveTrainConfig, type TrainConfig } from '../train/config';
import { IMPORTED_TAG, parseTrainerState, TrainerStateError, type ImportedState } from './trainer-state';

export { IMPORTED_TAG };

export class ImportError extends Error {}

export interface ImportRequest {
  outputDir: string;
  /** The model folder a config's `model` names (a Hub id resolves through the download cache); default the name itself. */
  modelDir?: (source: string) => string;
  name?: string;
}

/** The run's config and name: job.json's when the job came from Tunesmith, else what the result folder itself says. */
function importedConfig(outputDir: string, state: ImportedState): { config: TrainConfig; name: string } {
  const jobFile = path.join(outputDir, 'job.json');
  if (fs.existsSync(jobFile)) {
    const job = readJsonFile(jobFile) as { config?: unknown; run_name?: unknown };
    const config = resolveTrainConfig(job?.config, `${jobFile}: "config"`);
    return { config: { ...config, output_dir: outputDir }, name: typeof job.run_name === 'string' ? job.run_name : path.basename(outputDir) };
  }
  return { config: configFromResult(outputDir, state), name: path.basename(outputDir) };
}

function configFromResult(outputDir: string, state: ImportedState): TrainConfig {
  const result = finalDir(outputDir);
  const adapterFile = path.join(result, 'adapter_config.json');
  const notRecorded = { train: '(not recorded: imported without job.json)' };
  const shape = { ...(state.trainBatchSize ? { per_device_train_batch_size: state.trainBatchSize } : {}), ...(state.maxSteps ? { max_steps: state.maxSteps } : {}) };
  if (fs.existsSync(adapterFile)) {
    const adapter = readJsonFile(adapterFile) as { base_model_name_or_path?: unknown };
    if (typeof adapter.base_model_name_or_path !== 'string' || adapter.base_model_name_or_path === '') {
      throw new ImportError(`${adapterFile}: "base_model_name_or_path" is missing, so the adapter's base model is unknown`);
    }
    return resolveTrainConfig({ model: adapter.base_model_name_or_path, output_dir: outputDir, method: 'lora', data: notRecorded, ...shape }, adapterFile);
  }
  return resolveTrainConfig({ model: result, output_dir: outputDir, method: 'full', data: notRecorded, ...shape }, path.join(result, 'config.json'));
}

/** The result must load as a Tunesmith model (or base + adapter) before anything is recorded. */
async function checkLoads(config: TrainConfig, result: string, modelDir: (source: string) => string): Promise<void> {
  await initBackend();
  const { model } = loadModel(config.method === 'lora' ? modelDir(config.model) : result);
  try {
    if (config.method === 'lora') tf.dispose([...loadAdapter(result, model).layers.values()].flatMap((p) => [p.a, p.b]));
  } finally {
    model.dispose();
  }
}

export async function importTrainerRun(store: ExperimentStore, req: ImportRequest): Promise<Run> {
  const outputDir = path.resolve(req.outputDir);
  const stateFile = path.join(outputDir, 'trainer_state.json');
  if (!fs.existsSync(stateFile)) throw new ImportError(`${stateFile}: not found; give the folder Trainer wrote (train.py's output/)`);
  const earlier = store.findRunByOutputDir(outputDir);
  if (earlier) throw new ImportError(`${outputDir}: already imported as run ${earlier.id} ("${earlier.name}")`);
  const result = finalDir(outputDir);
  if (!fs.existsSync(result)) throw new ImportError(`${result}: not found; the job's train.py saves the trained model there`);
  let state: ImportedState;
  let config: TrainConfig;
  let name: string;
  try {
    state = parseTrainerState(readJsonFile(stateFile), stateFile);
    ({ config, name } = importedConfig(outputDir, state));
  } catch (err) {
    if (err instanceof TrainerStateError || err instanceof ConfigFieldError) throw new ImportError(err.message);
    throw err;
  }
  try {
    await checkLoads(config, result, req.modelDir ?? ((s) => s));
  } catch (err) {
    throw new ImportError(`${result}: does not load as a ${config.method === 'lora' ? 'LoRA adapter on ' + config.model : 'model'}: ${(err as Error).message}`);
  }
  const run = store.createRun({ name: req.name ?? name, method: config.method, config, model: { source: config.model }, outputDir });
  try {
    store.recordRunStart(run.id, { backend: 'transformers' });
    const metrics = store.metricsWriter(run.id);
    for (const p of state.points) metrics.log(p.step, p.values, p.epoch ?? undefined);
    metrics.flush();
    store.tagRun(run.id, IMPORTED_TAG);
    return store.finishRun(run.id, { status: 'completed', finalMetrics: state.finalMetrics });
  } catch (err) {
    // A half-written import would show as a run; it is removed, the folder left as it was.
    store.deleteRun(run.id);
    throw err;
  }
}
