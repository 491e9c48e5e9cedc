// Tunesmith against Hugging Face transformers/peft on the reference fixtures. Runs on the
// default backend and again on plain `cpu` (scripts/run-tests.mjs sets TUNESMITH_BACKEND).
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { initBackend, tf } from '../core/engine/backend';
import { generate } from '../core/generate/generate';
import { argmax } from '../core/generate/sampling';
import { loadAdapter, mergeAdapter } from '../core/models/lora';
import { loadModel } from '../core/models/load';
import { CausalLM } from '../core/models/causal-lm';
import { causalLmLossSum } from '../core/ops/cross-entropy';
import { loadTokenizer } from '../core/tokenizer/tokenizer';
import { fixture, maxAbsDiff, REFERENCE } from './helpers';

const CASES = [
  { dir: 'gpt2-tiny', ref: REFERENCE['gpt2-tiny'] },
  { dir: 'gpt2-tiny-legacy', ref: REFERENCE['gpt2-tiny'] },
  { dir: 'bloom-tiny', ref: REFERENCE['bloom-tiny'] },
];

before(async () => {
  const { name } = await initBackend();
  console.log(`# backend: ${name}`);
});

for (const { dir, ref } of CASES) {
  describe(`${dir} matches transformers`, () => {
    test('tokenizer ids and decoding are exact', () => {
      const tok = loadTokenizer(fixture(dir));
      for (const row of ref.tokenizer) {
        const ids = tok.encode(row.text);
        assert.deepEqual(ids, row.ids, `ids of ${JSON.stringify(row.text)}`);
        assert.equal(tok.decode(ids), row.decoded);
      }
    });

    test('forward logits, logsumexp, argmax and loss', () => {
      const { model } = loadModel(fixture(dir));
      const f = ref.forward;
      const logits = tf.tidy(() => model.forward(tf.tensor2d([f.input_ids], undefined, 'int32')).logits);
      const rows = (logits.arraySync() as number[][][])[0];
      rows.forEach((row, i) => assert.ok(maxAbsDiff(row.slice(0, 8), f.logits_first8_per_position[i]) < 1e-4, `logits at position ${i}`));
      const lse = tf.logSumExp(logits, -1);
      assert.ok(maxAbsDiff(lse.dataSync(), f.logsumexp_per_position) < 1e-4);
      assert.deepEqual(rows.map(argmax), f.argmax_per_position);
      assert.ok(Math.abs(model.meanLoss([f.input_ids]) - f.mean_loss) < 1e-4);
      tf.dispose([logits, lse]);
      model.dispose();
    });

    test('padded instruction batch loss (attention mask, ignored labels)', () => {
      const { model } = loadModel(fixture(dir));
      const { batch } = ref.instruction_batch;
      const loss = tf.tidy(() => {
        const { logits } = model.forward(tf.tensor2d(batch.input_ids, undefined, 'int32'), {
          attentionMask: tf.tensor2d(batch.attention_mask, undefined, 'int32'),
        });
        const { sum, tokens } = causalLmLossSum(logits, batch.labels);
        return sum.dataSync()[0] / tokens;
      });
      assert.ok(Math.abs(loss - ref.instruction_batch.loss) < 1e-4, `${loss} vs ${ref.instruction_batch.loss}`);
      model.dispose();
    });

    test('greedy decoding, with and without the KV cache', () => {
      const { model } = loadModel(fixture(dir));
      const { prompt_ids, max_new_tokens, new_ids } = ref.greedy;
      const opts = { maxNewTokens: max_new_tokens, greedy: true, eosId: null };
      assert.deepEqual(generate(model, prompt_ids, opts), new_ids);
      assert.deepEqual(generate(model, prompt_ids, { ...opts, noCache: true }), new_ids);
      model.dispose();
    });

    test('trained LoRA adapter, applied and merged', () => {
      const { model } = loadModel(fixture(dir));
      const base = ref.forward.mean_loss;
      const adapter = loadAdapter(fixture(ref.lora.trained_adapter), model);
      const after = model.meanLoss([ref.forward.input_ids], { lora: adapter.layers });
      // The tolerance must be smaller than the adapter's own effect (bloom-tiny's is ~9e-5).
      const effect = Math.abs(ref.lora.forward_mean_loss_after - base);
      const tol = Math.min(1e-4, 0.2 * effect);
      assert.ok(Math.abs(after - ref.lora.forward_mean_loss_after) < tol, `adapter: ${after} vs ${ref.lora.forward_mean_loss_after} (tol ${tol})`);
      const merged = new CausalLM(model.config, mergeAdapter(model.weights, adapter));
      const mergedLoss = merged.meanLoss([ref.forward.input_ids]);
      assert.ok(Math.abs(mergedLoss - ref.lora.merged_forward_mean_loss) < tol, `merged: ${mergedLoss} vs ${ref.lora.merged_forward_mean_loss}`);
      model.dispose();
    });

    test('an untrained adapter (B = 0) leaves the logits unchanged', () => {
      const { model } = loadModel(fixture(dir));
      const adapter = loadAdapter(fixture(ref.lora.init_adapter), model);
      const ids = [ref.forward.input_ids];
      assert.ok(Math.abs(model.meanLoss(ids, { lora: adapter.layers }) - ref.forward.mean_loss) < 1e-5);
      model.dispose();
    });
  });
}
