// Parity of a handoff job with the Tunesmith run it came from: the same recipe trained by
// Tunesmith and by Hugging Face Trainer (python3 train.py, fp32, on this machine's device),
// per-step losses, grad norms and eval losses, and the logits of both results. Target 1e-4.
//   npm run bench:handoff -- [--steps 6] [--models gpt2-tiny,bloom-tiny] [--methods full,lora]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { measureParity, parityConfig, pythonTrainerMissing } from '../test/handoff-harness';

const { values } = parseArgs({ options: { steps: { type: 'string', default: '6' }, models: { type: 'string', default: 'gpt2-tiny,bloom-tiny' }, methods: { type: 'string', default: 'full,lora' } } });
const missing = pythonTrainerMissing();
if (missing) {
  console.error(`bench:handoff needs the Trainer side: ${missing}`);
  process.exit(1);
}
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tunesmith-handoff-'));
try {
  console.log(`steps ${values.steps}; max |Δ| between Tunesmith and Trainer (target 1e-4)`);
  console.log(['model', 'method', 'loss', 'grad_norm', 'lr', 'tokens', 'eval_loss', 'logits'].map((s) => s.padEnd(11)).join(''));
  for (const model of values.models!.split(',')) {
    for (const method of values.methods!.split(',') as ('full' | 'lora')[]) {
      const p = await measureParity(dir, parityConfig(dir, model, method, Number(values.steps)));
      const d = p.maxDiff;
      const cells = [d.loss, d.grad_norm, d.learning_rate, d.tokens_seen, d.eval_loss, p.logitsMaxDiff].map((v) => v.toExponential(2).padEnd(11));
      console.log([model.padEnd(11), method.padEnd(11), ...cells].join(''));
      console.log(`  losses tunesmith ${p.tunesmith.loss.map((v) => v.toFixed(6)).join(' ')}`);
      console.log(`  losses trainer   ${p.trainer.loss.map((v) => v.toFixed(6)).join(' ')}`);
    }
  }
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
