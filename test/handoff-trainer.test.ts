// The handoff job run for real by Hugging Face Trainer (python3 train.py on this machine's
// CPU, fp32), against the Tunesmith run of the same recipe, then imported back. Skips, with
// the reason, where python3 lacks transformers/peft (the core tests in handoff.test.ts do not need them).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { importTrainerRun } from '../core/handoff/import-run';
import { openStore } from '../core/store/index';
import { tempDir } from './helpers';
import { measureParity, parityConfig, pythonTrainerMissing } from './handoff-harness';

const missing = pythonTrainerMissing();

test('a LoRA job repeats Tunesmith: per-step losses, eval loss and result logits within 1e-4, and imports with its curves', { skip: missing ?? false }, async (t) => {
  const dir = tempDir(t);
  const config = parityConfig(dir, 'gpt2-tiny', 'lora', 5);
  const p = await measureParity(dir, config);
  assert.equal(p.trainer.loss.length, 5);
  assert.ok(p.maxDiff.loss <= 1e-4, `losses: ${p.tunesmith.loss} vs ${p.trainer.loss}`);
  assert.ok(p.maxDiff.eval_loss <= 1e-4, `eval losses: ${p.tunesmith.eval_loss} vs ${p.trainer.eval_loss}`);
  assert.deepEqual(p.trainer.tokens_seen, p.tunesmith.tokens_seen);
  assert.ok(p.logitsMaxDiff <= 1e-4, `logits differ by ${p.logitsMaxDiff}`);
  // The adapter moved: a parity that held with nothing trained would prove nothing.
  assert.ok(p.tunesmith.loss[0] - p.tunesmith.loss.at(-1)! > 10 * p.maxDiff.loss);

  const store = openStore(path.join(dir, 'store.db'));
  t.after(() => store.close());
  const run = await importTrainerRun(store, { outputDir: p.trainerOutput });
  assert.deepEqual(store.runCurves(run.id).loss.values, p.trainer.loss);
  assert.ok(fs.existsSync(path.join(p.trainerOutput, 'final', 'adapter_model.safetensors')));
});
