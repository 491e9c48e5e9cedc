// The weights a chat worker keeps in memory: the last model folder used and the LoRA
// adapters loaded on it, so moving between runs of one base model reads only adapters.
// One folder at a time bounds memory by the largest model chatted with.
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
  model: CausalLM;
  tokenizer: TextTokenizer;
  chatTemplate: string | null;
  adapters: Map<string, LoraLayers>;
}

export class ChatModelCache {
  private folder: LoadedFolder | null = null;

  get(files: ModelFiles): ChatModel {
    const folder = this.folderFor(files.modelDir);
    const forward: ForwardOptions = {};
    if (files.adapterDir !== null) {
      let lora = folder.adapters.get(files.adapterDir);
      if (!lora) {
        lora = loadAdapter(files.adapterDir, folder.model).layers;
        folder.adapters.set(files.adapterDir, lora);
      }
      forward.lora = lora;
    }
    return { model: folder.model, tokenizer: folder.tokenizer, chatTemplate: folder.chatTemplate, forward };
  }

  dispose(): void {
    if (!this.folder) return;
    this.folder.model.dispose();
    for (const layers of this.folder.adapters.values()) {
      for (const pair of layers.values()) [pair.a, pair.b].forEach((t) => t.dispose());
    }
    this.folder = null;
  }

  private folderFor(dir: string): LoadedFolder {
    if (this.folder?.dir === dir) return this.folder;
    this.dispose();
    const tokenizer = loadTokenizer(dir);
    const chatTemplate = readChatTemplate(dir);
    const { model } = loadModel(dir);
    this.folder = { dir, model, tokenizer, chatTemplate, adapters: new Map() };
    return this.folder;
  }
}
