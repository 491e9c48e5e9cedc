// One training step's loss and gradients on a fixture, for the bf16 tests: imported by them, and
// run as a script in a child process on TUNESMITH_BACKEND=cpu, where bf16 is the plain-tfjs
// emulation (every product's inputs rounded, fp32 accumulation), the reference they compare to.
import { initBackend } from '../core/engine/backend';
import { loadModel } from '../core/models/load';
import { loadAdapter } from '../core/models/lora';
import { accumulateGradients } from '../core/train/step';
import { makeFullTrainable, makeLoraTrainable } from '../core/train/trainables';
import { fixture, REFERENCE } from './helpers';

export interface StepResult {
  loss: number;
  grads: Record<string, number[]>;
}

export function stepGradients(model: string, method: 'full' | 'lora', bf16: boolean): StepResult {
  const { model: lm } = loadModel(fixture(model));
  const batch = REFERENCE[model as keyof typeof REFERENCE].instruction_batch.batch;
  const forward: Parameters<typeof accumulateGradients>[3] = { bf16 };
  let params;
  if (method === 'full') params = makeFullTrainable(lm);
  else {
    // The trained adapter: PEFT's fresh one has B = 0, which would leave A's gradient zero.
    const { layers: lora } = loadAdapter(fixture(`${model}-lora-trained`), lm);
    params = makeLoraTrainable(lora);
    Object.assign(forward, { lora, loraDropout: 0 });
  }
  const { loss, grads } = accumulateGradients(lm, params, [batch], forward);
  return { loss, grads: Object.fromEntries([...grads].map(([name, g]) => [name, Array.from(g.dataSync())])) };
}

if (process.argv[1] === import.meta.filename) {
  const [model, method, bf16] = process.argv.slice(2);
  await initBackend();
  process.stdout.write(JSON.stringify(stepGradients(model, method as 'full' | 'lora', bf16 === 'bf16')));
}
