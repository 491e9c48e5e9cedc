// The weights a chat worker keeps in memory: the last model folder used and the LoRA
// adapters loaded on it, so moving between runs of one base model reads only adapters.
// One folder at a time bounds memory by the largest model chatted with. Each is kept with the
// stamp of its files, so a folder rewritten since (extendRun rewrites <run>/final) is read again.
import fs from 'node:fs';
import path from 'node:path';
import { readChatTemplate } from '../data/chat-template';
import type { CausalLM } from '../models/causal-lm';
import { loadModel } from '../models/load';
import { loadAdapter } from '../models/lora';
import type { ForwardOptions, LoraLayers } from '../models/weights';
import { loadTokenizer, type TextTokenizer } from '../tokenizer/tokenizer';
import type { ModelFiles } from './inference-protocol';

export interface ChatModel {
  model: CausalLM;
  tokenizer: TextTokenizer;
  /** For the "model" template. */
  chatTemplate: string | null;
  forward: ForwardOptions;
}

interface LoadedFolder {
  dir: string;
  stamp: string;
  model: CausalLM;
  tokenizer: TextTokenizer;
  chatTemplate: string | null;
  adapters: Map<string, { stamp: string; lora: LoraLayers }>;
}

/** Changes when any file in `dir` is replaced or rewritten. */
function folderStamp(dir: string): string {
  return fs
    .readdirSync(dir)
    .sort()
    .map((name) => {
      const stat = fs.statSync(path.join(dir, name));
      return `${name}:${stat.size}:${stat.mtimeMs}:${stat.ino}`;
    })
    .join('|');
}

function disposeLayers(lora: LoraLayers): void {
  for (const pair of lora.values()) [pair.a, pair.b].forEach((t) => t.dispose());
}

export class ChatModelCache {
  private folder: LoadedFolder | null = null;

  get(files: ModelFiles): ChatModel {
    const folder = this.folderFor(files.modelDir);
    const forward: ForwardOptions = {};
    if (files.adapterDir !== null) {
      const stamp = folderStamp(files.adapterDir);
      let adapter = folder.adapters.get(files.adapterDir);
      if (adapter?.stamp !== stamp) {
        if (adapter) disposeLayers(adapter.lora);
        adapter = { stamp, lora: loadAdapter(files.adapterDir, folder.model).layers };
        folder.adapters.set(files.adapterDir, adapter);
      }
      forward.lora = adapter.lora;
    }
    return { model: folder.model, tokenizer: folder.tokenizer, chatTemplate: folder.chatTemplate, forward };
  }

  dispose(): void {
    if (!this.folder) return;
    this.folder.model.dispose();
    for (const adapter of this.folder.adapters.values()) disposeLayers(adapter.lora);
    this.folder = null;
  }

  private folderFor(dir: string): LoadedFolder {
    const stamp = folderStamp(dir);
    if (this.folder?.dir === dir && this.folder.stamp === stamp) return this.folder;
    this.dispose();
    const tokenizer = loadTokenizer(dir);
    const chatTemplate = readChatTemplate(dir);
    const { model } = loadModel(dir);
    this.folder = { dir, stamp, model, tokenizer, chatTemplate, adapters: new Map() };
    return this.folder;
  }
}
