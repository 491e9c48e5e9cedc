// The CLI contract that checks outside the repo rely on: command names, flags, JSON fields,
// and one clear line on stderr with a non-zero exit for bad input.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fixture, maxAbsDiff, REFERENCE, tempDir, tunesmith as run } from './helpers';

function json(...args: string[]) {
  const r = run(...args, '--json');
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

describe('tunesmith CLI', () => {
  test('info', () => {
    const out = json('info', '--model', fixture('bloom-tiny'));
    assert.deepEqual(Object.keys(out).sort(), ['backend', 'gpu', 'model_type', 'n_embd', 'n_head', 'n_layer', 'parameters', 'vocab_size']);
    assert.equal(out.model_type, 'bloom');
    assert.equal(out.vocab_size, 2000);
    assert.equal(json('info', '--random-init', 'gpt2').parameters, 124439808, 'GPT-2 small as transformers counts it');
  });

  test('tokenize', () => {
    const row = REFERENCE['gpt2-tiny'].tokenizer[0];
    assert.deepEqual(json('tokenize', '--model', fixture('gpt2-tiny-legacy'), '--text', row.text), { ids: row.ids, decoded: row.decoded });
  });

  test('forward, with and without an adapter', () => {
    const ref = REFERENCE['gpt2-tiny'];
    const ids = ref.forward.input_ids.join(',');
    const out = json('forward', '--model', fixture('gpt2-tiny'), '--ids', ids);
    assert.ok(maxAbsDiff(out.logsumexp_per_position, ref.forward.logsumexp_per_position) < 1e-4);
    assert.deepEqual(out.argmax_per_position, ref.forward.argmax_per_position);
    assert.ok(maxAbsDiff(out.logits_first8_per_position.flat(), ref.forward.logits_first8_per_position.flat()) < 1e-4);
    const adapted = json('forward', '--model', fixture('gpt2-tiny'), '--ids', ids, '--adapter', fixture(ref.lora.trained_adapter));
    assert.ok(Math.abs(adapted.mean_loss - ref.lora.forward_mean_loss_after) < 1e-4);
  });

  test('generate greedy ids and text', () => {
    const ref = REFERENCE['bloom-tiny'].greedy;
    const out = json('generate', '--model', fixture('bloom-tiny'), '--ids', ref.prompt_ids.join(','), '--max-new-tokens', String(ref.max_new_tokens), '--greedy', '--ignore-eos');
    assert.deepEqual(out.new_ids, ref.new_ids);
    assert.equal(typeof out.text, 'string');
  });

  test('generate with sampling is reproducible by seed and streams text without --json', () => {
    const args = ['generate', '--model', fixture('gpt2-tiny'), '--prompt', 'Hello', '--max-new-tokens', '6', '--temperature', '0.8', '--top-k', '20', '--top-p', '0.9', '--repetition-penalty', '1.2', '--seed', '3', '--ignore-eos'];
    const a = json(...args);
    assert.deepEqual(json(...args).new_ids, a.new_ids);
    assert.equal(a.new_ids.length, 6);
    const streamed = run(...args);
    assert.equal(streamed.code, 0, streamed.stderr);
    assert.equal(streamed.stdout, `${a.text}\n`);
  });

  test('bad input: one line on stderr naming the problem, non-zero exit, no stack trace', (t) => {
    const dir = tempDir(t);
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ model_type: 'llama' }));
    const cases: [string[], RegExp][] = [
      [['info', '--model', dir], /config\.json: not supported yet: llama/],
      [['info', '--model', path.join(dir, 'nope')], /nope: model folder not found/],
      [['forward', '--model', fixture('gpt2-tiny'), '--ids', '1,x'], /--ids must be comma-separated token ids/],
      [['generate', '--model', fixture('gpt2-tiny'), '--prompt', 'a', '--temperature', '0'], /temperature must be > 0/],
      [['frobnicate'], /unknown command "frobnicate"/],
    ];
    for (const [args, message] of cases) {
      const r = run(...args);
      assert.notEqual(r.code, 0, args.join(' '));
      assert.match(r.stderr, message);
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace without --debug');
    }
    assert.match(run('info', '--model', dir, '--debug').stderr, /\n\s+at /, '--debug shows the stack');
  });
});
