// `tunesmith handoff`: writes a self-contained job folder that Hugging Face Trainer runs
// unchanged on a GPU box or a cluster, with the run's data exactly as Tunesmith prepared it.
import fs from 'node:fs';
import path from 'node:path';
import pkg from '../../package.json' with { type: 'json' };
import { initBackend, tf } from '../engine/backend';
import { createLoraLayers, loadAdapter } from '../models/lora';
import { loadModel } from '../models/load';
import { loadTokenizer } from '../tokenizer/tokenizer';
import type { TrainConfig } from '../train/config';
import { exportAdapterFolder } from '../train/export';
import { loadTrainingData } from '../train/trainer';
import { CHECKED_WITH, deepspeedConfig, jobReadme, requirementsTxt } from './job-files';
import { epochRows, HandoffRefusal, hyperparameters, reproducibilityNotes, stepsPerEpoch } from './plan';
import { trainScript } from './train-script';
import { writeFolderWhole, writeJsonWhole, writeTextWhole } from '../durable-write';

export interface HandoffRequest {
  config: TrainConfig;
  out: string;
  /** The store's run this job repeats, when there is one. */
  runId?: string | null;
  /** Default the output folder's name. */
  name?: string;
  /** The model folder config.model names (a Hub id resolves through the download cache); default config.model itself. */
  modelDir?: string;
}

export interface HandoffResult {
  out: string;
  files: string[];
  totalSteps: number;
  notes: string[];
}

/** A folder in the Hugging Face cache names its repo and commit: the GPU box fetches the same snapshot. */
export function hubSnapshot(dir: string): { id: string; revision: string } | null {
  const m = /(?:^|[\\/])models--([^\\/]+)[\\/]snapshots[\\/]([0-9a-f]{40})[\\/]?$/.exec(dir);
  return m ? { id: m[1].split('--').join('/'), revision: m[2] } : null;
}

/** A job file, in its folder; complete or absent, as every file Tunesmith writes. */
function writeText(file: string, text: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  writeTextWhole(file, text);
}

const jsonl = (rows: readonly object[]) => rows.map((r) => JSON.stringify(r)).join('\n') + (rows.length ? '\n' : '');

export async function writeHandoffJob(req: HandoffRequest): Promise<HandoffResult> {
  const { config, out } = req;
  const modelDir = req.modelDir ?? config.model;
  if (fs.existsSync(out) && fs.readdirSync(out).length > 0) throw new HandoffRefusal(`${out}: not empty; give a new folder for the job, so nothing in it is overwritten`);
  if (!fs.existsSync(path.join(modelDir, 'config.json'))) throw new HandoffRefusal(`${modelDir}: not a model folder (no config.json); the job needs the run's model`);
  await initBackend();
  const { model } = loadModel(modelDir);
  const tokenizer = loadTokenizer(modelDir);
  try {
    const data = loadTrainingData(config, tokenizer);
    const positions = model.config.maxPositions;
    const longest = [...data.train, ...data.validation].reduce((n, e) => Math.max(n, e.input_ids.length), 0);
    if (positions !== null && longest > positions) {
      throw new HandoffRefusal(`"data.max_length": examples up to ${longest} tokens result, but this model has only ${positions} positions`);
    }
    const arch = { modelType: model.config.modelType, defaultLoraTarget: model.arch.loraTargets[0], fanInFanOut: model.arch.fanInFanOut };
    const padId = tokenizer.padId ?? model.config.eosTokenId ?? 0;

    // Built in a temporary folder beside it and renamed whole: a full disk or a kill leaves no half-written job.
    fs.mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
    const written = writeFolderWhole(out, (dir) => {
      let lora: { r: number; alpha: number; targetModules: string[] | string } | null = null;
      if (config.method === 'lora') {
        // The adapter Tunesmith's trainer would start from, so both sides begin at the same weights.
        const initDir = path.join(dir, 'init_adapter');
        if (config.lora.init_adapter) {
          const init = loadAdapter(config.lora.init_adapter, model);
          // A string is PEFT's regex over whole module names, a list its suffixes: passed on as the adapter has it.
          lora = { r: init.r, alpha: init.alpha, targetModules: init.targetModules };
          tf.dispose([...init.layers.values()].flatMap((p) => [p.a, p.b]));
          fs.cpSync(config.lora.init_adapter, initDir, { recursive: true });
        } else {
          const targets = config.lora.target_modules ?? [arch.defaultLoraTarget];
          const layers = createLoraLayers(model, targets, config.lora.r, config.lora.alpha, config.seed);
          lora = { r: config.lora.r, alpha: config.lora.alpha, targetModules: targets };
          exportAdapterFolder(layers, { r: lora.r, alpha: lora.alpha, targetModules: targets, dropout: config.lora.dropout, fanInFanOut: arch.fanInFanOut, baseModel: config.model }, initDir);
          tf.dispose([...layers.values()].flatMap((p) => [p.a, p.b]));
        }
      }
      const hp = hyperparameters(config, arch, data.train.length, data.validation.length > 0, lora);
      const rows = epochRows(config, data.train);
      const snapshot = hubSnapshot(path.resolve(modelDir));
      // A Hub model is fetched there by id and commit; any other folder travels in the job.
      const modelInJob = snapshot === null;
      if (modelInJob) fs.cpSync(modelDir, path.join(dir, 'model'), { recursive: true });
      const notes = reproducibilityNotes(config, Math.max(model.config.embdDropout, model.config.residDropout, model.config.attnDropout));
      const epochs = Math.ceil(hp.totalSteps / stepsPerEpoch(config, data.train.length));

      writeText(path.join(dir, 'data', 'train.jsonl'), jsonl(rows));
      writeText(path.join(dir, 'data', 'validation.jsonl'), jsonl(data.validation.map(({ input_ids, labels }) => ({ input_ids, labels }))));
      writeText(
        path.join(dir, 'train.py'),
        trainScript({
          model: modelInJob ? 'model' : snapshot.id,
          revision: snapshot?.revision ?? null,
          method: config.method,
          padId,
          dropoutOverrides: hp.dropoutOverrides,
          trainingArguments: hp.trainingArguments,
          loraConfig: hp.loraConfig,
          earlyStoppingPatience: config.early_stopping_patience,
        }),
      );
      writeText(path.join(dir, 'requirements.txt'), requirementsTxt());
      writeJsonWhole(path.join(dir, 'ds_zero2.json'), deepspeedConfig(2));
      writeJsonWhole(path.join(dir, 'ds_zero3.json'), deepspeedConfig(3));
      const runName = req.name ?? path.basename(config.output_dir);
      writeText(
        path.join(dir, 'README.md'),
        jobReadme({ runName, method: config.method, model: snapshot?.id ?? config.model, modelInJob, trainExamples: data.train.length, epochs, totalSteps: hp.totalSteps, notes }),
      );
      const job = {
        tunesmith_run_id: req.runId ?? null,
        run_name: runName,
        created_at: new Date().toISOString(),
        config,
        model: { source: config.model, hub_id: snapshot?.id ?? null, revision: snapshot?.revision ?? null, in_job: modelInJob },
        data: { train_examples: data.train.length, validation_examples: data.validation.length, epochs, total_steps: hp.totalSteps, pad_id: padId, format: data.format },
        versions: { tunesmith: pkg.version, ...CHECKED_WITH },
        notes,
      };
      writeJsonWhole(path.join(dir, 'job.json'), job);
      return { totalSteps: hp.totalSteps, notes };
    });
    return { out, files: fs.readdirSync(out).sort(), totalSteps: written.totalSteps, notes: written.notes };
  } finally {
    model.dispose();
  }
}
