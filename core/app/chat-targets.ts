// What the chat page can talk to: base models that runs started from, and completed runs,
// whose result is a LoRA adapter on the base model or a full model folder.
import fs from 'node:fs';
import path from 'node:path';
import type { ChatTarget, ChatTargetInfo } from '../api/contract';
import type { ExperimentStore } from '../store/index';
import type { Run } from '../store/types';
import { finalDir } from '../train/checkpoint';
import { ConfigFieldError, resolveTrainConfig, type TrainConfig } from '../train/config';
import type { ModelFiles } from './inference-protocol';
import type { AppServiceContext } from './service-context';

type TargetContext = Pick<AppServiceContext, 'store' | 'modelDir'>;

export interface ResolvedTarget extends ChatTargetInfo {
  files: ModelFiles;
  /** The base model as the run or the user named it: what a conversation records. */
  modelSource: string;
}

/** Completed runs, newest first, then the base models they started from that are still on disk. */
export function listChatTargets(ctx: TargetContext): ChatTargetInfo[] {
  const runs = ctx.store.listRuns({ sort: 'created', order: 'desc' }).flatMap((run) => {
    const config = readableConfig(run);
    return config ? [{ run, config }] : [];
  });
  const completed = runs.filter(({ run }) => run.status === 'completed').map(({ run, config }) => runTargetInfo(run, config));
  const sources = [...new Set(runs.map(({ config }) => config.model))];
  const models = sources.filter((source) => onDisk(ctx, source)).map((source) => modelTargetInfo(source));
  return [...completed, ...models];
}

export function resolveChatTarget(ctx: TargetContext, target: ChatTarget): ResolvedTarget {
  if (target.kind === 'model') {
    return { ...modelTargetInfo(target.source), modelSource: target.source, files: { modelDir: ctx.modelDir(target.source), adapterDir: null } };
  }
  const run = ctx.store.getRun(target.runId);
  if (!run) throw new Error(`no run with id "${target.runId}"`);
  if (run.status !== 'completed') throw new Error(`run "${run.name}" is ${run.status}; only a completed run has a result to chat with`);
  const config = runConfig(run);
  const result = finalDir(run.outputDir ?? config.output_dir);
  if (!fs.existsSync(result)) throw new Error(`${result}: missing; run "${run.name}" has no exported result to chat with`);
  const files = config.method === 'lora' ? { modelDir: ctx.modelDir(config.model), adapterDir: result } : { modelDir: result, adapterDir: null };
  return { ...runTargetInfo(run, config), modelSource: config.model, files };
}

/** The target a saved conversation was with: its run while that exists, else the base model. */
export function conversationTarget(store: ExperimentStore, session: { runId: string | null; modelSource: string }): ChatTargetInfo {
  const run = session.runId === null ? undefined : store.getRun(session.runId);
  return run ? runTargetInfo(run, readableConfig(run)) : modelTargetInfo(session.modelSource);
}

export function sameTarget(a: ChatTarget, b: ChatTarget): boolean {
  return a.kind === 'model' ? b.kind === 'model' && a.source === b.source : b.kind === 'run' && a.runId === b.runId;
}

/** `config` null: the run's config is unreadable here, so its template is unknown. */
function runTargetInfo(run: Run, config: TrainConfig | null): ChatTargetInfo {
  return { target: { kind: 'run', runId: run.id }, label: run.name, trainedTemplate: config && trainedTemplate(config) };
}

function modelTargetInfo(source: string): ChatTargetInfo {
  return { target: { kind: 'model', source }, label: modelLabel(source), trainedTemplate: null };
}

/** A Hub id as it is; a folder by its name, or for a Hub cache snapshot by the id it holds. */
function modelLabel(source: string): string {
  if (!path.isAbsolute(source)) return source;
  const cached = /models--([^/\\]+)[/\\]snapshots[/\\]/.exec(source);
  return cached ? cached[1].replaceAll('--', '/') : path.basename(source);
}

function runConfig(run: Run): TrainConfig {
  return resolveTrainConfig(run.config, `run "${run.name}" config`);
}

/** null when this version cannot read the config (e.g. one a newer CLI wrote), so one such run hides no other. */
function readableConfig(run: Run): TrainConfig | null {
  try {
    return runConfig(run);
  } catch (err) {
    if (err instanceof ConfigFieldError) return null;
    throw err;
  }
}

/** Plain text is trained on as it is, so no template is what matches it. */
function trainedTemplate(config: TrainConfig): string {
  const plainText = config.data.format === 'text' || (config.data.format === null && path.extname(config.data.train).toLowerCase() === '.txt');
  return plainText ? 'none' : config.data.template;
}

function onDisk(ctx: TargetContext, source: string): boolean {
  try {
    return fs.existsSync(ctx.modelDir(source));
  } catch {
    // A Hub model that is not downloaded: nothing to chat with until it is.
    return false;
  }
}
