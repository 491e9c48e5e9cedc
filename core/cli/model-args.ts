import { describeGpu, initBackend } from '../engine/backend';
import { loadAdapter } from '../models/lora';
import { loadModel, randomModel } from '../models/load';
import type { CausalLM } from '../models/causal-lm';
import type { ForwardOptions } from '../models/weights';
import { UsageError } from './args';

export interface ModelArgs {
  model?: string;
  'random-init'?: string;
  adapter?: string;
}

/** The model a command runs on: a folder, or random weights in a public model's shape. */
export async function modelFromArgs(args: ModelArgs): Promise<{ model: CausalLM; forward: ForwardOptions; backend: string; gpu: string }> {
  const choice = await initBackend();
  const backend = choice.name;
  if (args.model && args['random-init']) throw new UsageError('give either --model or --random-init, not both');
  if (!args.model && !args['random-init']) throw new UsageError('--model DIR is required (or --random-init gpt2|gpt2-medium|bloom-560m)');
  const model = args.model ? loadModel(args.model).model : randomModel(args['random-init']!);
  const forward: ForwardOptions = {};
  if (args.adapter) {
    const adapter = loadAdapter(args.adapter, model);
    forward.lora = adapter.layers;
  }
  return { model, forward, backend, gpu: describeGpu(choice) };
}
