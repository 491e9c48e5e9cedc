// One training step's loss and gradients on a fixture, for the bf16 tests: imported by them, and
// run as a script in a child process on TUNESMITH_BACKEND=cpu, where bf16 is the plain-tfjs
// emulation (every product's inputs rounded, fp32 accumulation), the reference they compare to.
import { initBackend } from '../core/engine/backend';
import { loadModel } from '../core/models/load';
import { loadAdapter } from '../core/models/lora';
import { projectionParameters } from '../core/memory/parameters';
import { accumulateGradients } from '../core/train/step';
import { keepFrozenBaseInBf16, makeFullTrainable, makeLoraTrainable } from '../core/train/trainables';
import { fixture, REFERENCE } from './helpers';

export interface StepResult {
  loss: number;
  grads: Record<string, number[]>;
  /** Bytes the frozen base gave back by being kept in bf16 (0: kept in fp32). */
  freedBytes: number;
  /** The model's projection parameters, to check freedBytes against. */
  projectionParameters: number;
}

/** With `keepBaseInBf16`, a LoRA step keeps the frozen base in bf16, as the trainer does in a bf16 run. */
export function stepGradients(model: string, method: 'full' | 'lora', bf16: boolean, keepBaseInBf16 = false): StepResult {
  const { model: lm } = loadModel(fixture(model));
  const batch = REFERENCE[model as keyof typeof REFERENCE].instruction_batch.batch;
  const forward: Parameters<typeof accumulateGradients>[3] = { bf16 };
  let params;
  let freedBytes = 0;
  if (method === 'full') params = makeFullTrainable(lm);
  else {
    // The trained adapter: PEFT's fresh one has B = 0, which would leave A's gradient zero.
    const { layers: lora } = loadAdapter(fixture(`${model}-lora-trained`), lm);
    params = makeLoraTrainable(lora);
    if (keepBaseInBf16) freedBytes = keepFrozenBaseInBf16(lm);
    Object.assign(forward, { lora, loraDropout: 0 });
  }
  const { loss, grads } = accumulateGradients(lm, params, [batch], forward);
  const grad = Object.fromEntries([...grads].map(([name, g]) => [name, Array.from(g.dataSync())]));
  return { loss, grads: grad, freedBytes, projectionParameters: projectionParameters(lm.config) };
}

if (process.argv[1] === import.meta.filename) {
  const [model, method, bf16] = process.argv.slice(2);
  await initBackend();
  process.stdout.write(JSON.stringify(stepGradients(model, method as 'full' | 'lora', bf16 === 'bf16')));
}
