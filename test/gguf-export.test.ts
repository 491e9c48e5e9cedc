// GGUF export judged by llama.cpp itself (node-llama-cpp's prebuilt CPU build): every
// exported file must load, tokenize as we do, and give the logits and perplexity of
// Tunesmith's own forward pass within the quantization's budget.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Template as Jinja } from '@huggingface/jinja';
import { getLlama, LlamaLogLevel, readGgufFileInfo, type ControlledEvaluateInputItem, type Llama, type Token } from 'node-llama-cpp';
import { writeSafetensors } from '../core/checkpoint/safetensors';
import { getTemplate } from '../core/data/templates';
import { initBackend, tf } from '../core/engine/backend';
import { decode, encode, BLOCK } from '../core/export/gguf/blocks';
import { exportGguf } from '../core/export/gguf/export-gguf';
import { chooseTypes, GGUF_QUANTS, llamaCppTensors, type GgufQuant } from '../core/export/gguf/tensors';
import { ARCHITECTURES, CausalLM } from '../core/models/causal-lm';
import { parseModelConfig } from '../core/models/config';
import { loadAdapter, mergeAdapter } from '../core/models/lora';
import { loadModel } from '../core/models/load';
import { fp32Weight, isLayerNormWeight, type Weights } from '../core/models/weights';
import { loadTokenizer, type TextTokenizer } from '../core/tokenizer/tokenizer';
import type { Sample } from '../core/data/records';
import { resolveTrainConfig } from '../core/train/config';
import { finalDir } from '../core/train/checkpoint';
import { exportRunGguf, ggufSource } from '../core/train/export-run';
import { runTraining } from '../core/train/trainer';
import { fixture, REFERENCE, tempDir, tunesmith } from './helpers';

let llama: Llama;
before(async () => {
  await initBackend();
  llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
});
after(() => llama?.dispose());

/** llama.cpp's next-token logits after each of `ids`, as dense arrays. */
async function llamaLogits(file: string, ids: number[]): Promise<Float32Array[]> {
  const model = await llama.loadModel({ modelPath: file });
  try {
    const context = await model.createContext({ contextSize: 128, batchSize: 128 });
    try {
      const out = await context.getSequence().controlledEvaluate(ids.map((id): ControlledEvaluateInputItem => [id as Token, { generateNext: { logits: true } }]));
      return out.map((o) => {
        const logits = o!.next!.logits!;
        const arr = new Float32Array(logits.size);
        for (const [id, v] of logits) arr[id] = v;
        return arr;
      });
    } finally {
      await context.dispose();
    }
  } finally {
    await model.dispose();
  }
}

/** Greedy decoding in llama.cpp, one token at a time. */
async function llamaGreedy(file: string, prompt: number[], steps: number): Promise<number[]> {
  const model = await llama.loadModel({ modelPath: file });
  const context = await model.createContext({ contextSize: 128 });
  try {
    const sequence = context.getSequence();
    const ids: number[] = [];
    let input = prompt;
    for (let s = 0; s < steps; s++) {
      const out = await sequence.controlledEvaluate(input.map((id, i): ControlledEvaluateInputItem => (i === input.length - 1 ? [id as Token, { generateNext: { logits: true } }] : (id as Token))));
      const logits = out.at(-1)!.next!.logits!;
      let best = -1;
      let bestValue = -Infinity;
      for (const [id, v] of logits) if (v > bestValue || (v === bestValue && id < best)) [best, bestValue] = [id, v];
      ids.push(best);
      input = [best];
    }
    return ids;
  } finally {
    await context.dispose();
    await model.dispose();
  }
}

/** Tunesmith's logits for `ids`: [position][vocab]. */
function ourLogits(model: CausalLM, ids: number[]): Float32Array[] {
  return tf.tidy(() => {
    const { logits } = model.forward(tf.tensor2d([ids], undefined, 'int32'));
    const flat = logits.dataSync() as Float32Array;
    const V = model.config.vocabSize;
    return ids.map((_, i) => flat.slice(i * V, (i + 1) * V));
  });
}

function ourGreedy(model: CausalLM, prompt: number[], steps: number): number[] {
  const ids = [...prompt];
  for (let s = 0; s < steps; s++) {
    const last = ourLogits(model, ids).at(-1)!;
    ids.push(last.indexOf(Math.max(...last)));
  }
  return ids.slice(prompt.length);
}

/** exp(mean next-token NLL) of `ids` under per-position logits. */
function perplexity(logits: Float32Array[], ids: number[]): number {
  let nll = 0;
  for (let i = 0; i + 1 < ids.length; i++) {
    const row = logits[i];
    let max = -Infinity;
    for (const v of row) max = Math.max(max, v);
    let sum = 0;
    for (const v of row) sum += Math.exp(v - max);
    nll += max + Math.log(sum) - row[ids[i + 1]];
  }
  return Math.exp(nll / (ids.length - 1));
}

function maxAbsDiff(a: Float32Array[], b: Float32Array[]): number {
  let max = 0;
  a.forEach((row, i) => row.forEach((v, j) => (max = Math.max(max, Math.abs(v - b[i][j])))));
  return max;
}

// A small world of facts a full fine-tune learns until it predicts them confidently, then a
// LoRA run on top of it teaches different answers, so its merged weights visibly differ.
// Each training conversation asks about four animals; the held-out one asks in an order
// no training conversation has.
const ANIMALS = ['cat', 'dog', 'cow', 'horse', 'bird', 'fox', 'bear', 'frog', 'duck'];
const FOODS = ['fish', 'meat', 'grass', 'hay', 'seeds', 'eggs', 'honey', 'flies', 'bread'];
const conversation = (order: number[], shift: number): Sample => ({
  kind: 'chat',
  messages: order.flatMap((i) => [
    { role: 'user' as const, content: `What does the ${ANIMALS[i]} eat?` },
    { role: 'assistant' as const, content: `The ${ANIMALS[i]} eats ${FOODS[(i + shift) % FOODS.length]}.` },
  ]),
});
const TRAIN_ORDERS = Array.from({ length: 18 }, (_, k) => [0, 1, 2, 3].map((j) => (k * 4 + j * (1 + (k % 4)) * 2) % ANIMALS.length));
const HELD_OUT_ORDER = [5, 1, 7, 3];
/** A conversation as training lays it out: the template's text, EOS after each answer. */
const asText = (sample: Sample, tokenizer: TextTokenizer, eos: string) =>
  getTemplate('human_assistant', null, tokenizer)(sample)
    .map((seg) => seg.text + (seg.eos ? eos : ''))
    .join('');

// GPT-2's 50257-word head takes more (and gentler) steps to peak than BLOOM's 2000.
const METHODS = [
  { method: 'full', base: (arch: string) => fixture(arch), shift: 0, steps: (arch: string) => (arch === 'gpt2-tiny' ? 80 : 40), lr: (arch: string) => (arch === 'gpt2-tiny' ? 1e-2 : 2e-2) },
  { method: 'lora', base: (_: string, full: string) => finalDir(full), shift: 3, steps: () => 30, lr: () => 2e-2 },
] as const;

/** One training run on the facts; returns its run folder. */
async function fineTune(dir: string, arch: string, base: string, m: (typeof METHODS)[number], targets: string[]): Promise<string> {
  const data = path.join(dir, `facts-${m.method}.jsonl`);
  fs.writeFileSync(data, TRAIN_ORDERS.map((order) => JSON.stringify({ messages: (conversation(order, m.shift) as { messages: unknown }).messages })).join('\n'));
  const config = resolveTrainConfig({
    model: base,
    output_dir: path.join(dir, `run-${m.method}`),
    method: m.method,
    ...(m.method === 'lora' ? { lora: { r: 16, alpha: 32, target_modules: targets } } : {}),
    data: { train: data, template: 'human_assistant', train_on_prompt: true },
    max_steps: m.steps(arch),
    per_device_train_batch_size: 6,
    learning_rate: m.lr(arch),
    lr_scheduler_type: 'constant',
    save_steps: m.steps(arch),
    shuffle: false,
  });
  await runTraining(config, () => {});
  return config.output_dir;
}

/** The run's weights as Tunesmith runs them (a LoRA run merged, as the export does). */
function runModel(runDir: string): CausalLM {
  const src = ggufSource(runDir);
  const { model } = loadModel(src.modelDir);
  return src.adapterDir ? new CausalLM(model.config, mergeAdapter(model.weights, loadAdapter(src.adapterDir, model))) : model;
}

const BUDGET: Record<GgufQuant, number> = { f16: 0.005, q8_0: 0.02, q4_k_m: 0.08 };

interface ExportedRun {
  method: 'full' | 'lora';
  shift: number;
  model: CausalLM;
  files: Record<GgufQuant, string>;
}

for (const arch of ['gpt2-tiny', 'bloom-tiny'] as const) {
  describe(`${arch}: a full and a LoRA fine-tune exported to GGUF, judged by llama.cpp`, () => {
    let dir: string;
    const runs: ExportedRun[] = [];
    const tokenizer = loadTokenizer(fixture(arch));
    const eos = tokenizer.decode([tokenizer.special.eos!]);
    before(async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tunesmith-gguf-'));
      let full = '';
      for (const m of METHODS) {
        const runDir = await fineTune(dir, arch, m.base(arch, full), m, ARCHITECTURES[arch === 'gpt2-tiny' ? 'gpt2' : 'bloom'].loraTargets);
        if (m.method === 'full') full = runDir;
        const files = {} as Record<GgufQuant, string>;
        for (const quant of GGUF_QUANTS) {
          files[quant] = path.join(dir, `${m.method}-${quant}`, `${arch}-${quant}.gguf`);
          fs.mkdirSync(path.dirname(files[quant]));
          await exportRunGguf(runDir, quant, files[quant]);
        }
        runs.push({ method: m.method, shift: m.shift, model: runModel(runDir), files });
      }
    });
    after(() => {
      for (const r of runs) r.model.dispose();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    test('f16: logits within 1e-2 and the same 16 greedy tokens', async () => {
      const prompt = tokenizer.encode('Human: What does the fox eat?\n\nAssistant:');
      const ids = tokenizer.encode(asText(conversation(HELD_OUT_ORDER, 0), tokenizer, eos)).slice(0, 16);
      const [full, lora] = runs.map((r) => ourLogits(r.model, ids));
      // Else an export that dropped the adapter would pass too.
      assert.ok(maxAbsDiff(full, lora) > 1, 'the LoRA run barely changed the model');
      for (const r of runs) {
        const diff = maxAbsDiff(await llamaLogits(r.files.f16, ids), r.method === 'full' ? full : lora);
        assert.ok(diff <= 1e-2, `${r.method}: max |logit difference| ${diff}`);
        assert.deepEqual(await llamaGreedy(r.files.f16, prompt, 16), ourGreedy(r.model, prompt, 16), r.method);
      }
    });

    test('perplexity on held-out text within 0.5% (f16), 2% (q8_0), 8% (q4_k_m)', async () => {
      for (const r of runs) {
        const ids = tokenizer.encode(asText(conversation(HELD_OUT_ORDER, r.shift), tokenizer, eos));
        const ours = perplexity(ourLogits(r.model, ids), ids);
        // A flat model would hide quantization error; these predict 40× better than a uniform guess at least.
        assert.ok(ours * 40 < r.model.config.vocabSize, `${r.method}: the fine-tune is not peaked enough to judge quantization: perplexity ${ours}`);
        const report: string[] = [];
        for (const quant of GGUF_QUANTS) {
          const theirs = perplexity(await llamaLogits(r.files[quant], ids), ids);
          report.push(`${quant} ${theirs.toFixed(4)}/${ours.toFixed(4)} = ${(theirs / ours).toFixed(5)} (${fs.statSync(r.files[quant]).size} bytes)`);
          assert.ok(Math.abs(theirs / ours - 1) <= BUDGET[quant], `${r.method} ${quant}: llama.cpp perplexity ${theirs} vs Tunesmith ${ours}`);
        }
        console.log(`# ${arch} ${r.method}: ${report.join('; ')}`);
      }
    });

    test('the chat template round-trips: the GGUF template renders what training saw', async () => {
      const file = runs[1].files.q8_0;
      const info = await readGgufFileInfo(file, { readTensorInfo: false });
      const jinja = (info.metadata.tokenizer as { chat_template?: string }).chat_template;
      assert.ok(jinja, 'no tokenizer.chat_template in the file');
      const messages = [
        { role: 'system' as const, content: 'Be brief.' },
        { role: 'user' as const, content: 'What does the cat eat?' },
        { role: 'assistant' as const, content: 'Fish.' },
        { role: 'user' as const, content: 'And the dog?' },
        { role: 'assistant' as const, content: 'Meat.' },
      ];
      const trained = asText({ kind: 'chat', messages }, tokenizer, eos);
      assert.equal(new Jinja(jinja).render({ messages, eos_token: eos, add_generation_prompt: false }), trained);
      const modelfile = fs.readFileSync(path.join(path.dirname(file), 'Modelfile'), 'utf8');
      assert.match(modelfile, new RegExp(`^FROM \\./${arch}-q8_0\\.gguf$`, 'm'));
      assert.match(modelfile, /^TEMPLATE """.*Human: \{\{ \$m\.Content \}\}\n\nAssistant: /ms);
      assert.ok(modelfile.includes(`PARAMETER stop ${JSON.stringify(eos)}\n`), modelfile);
    });
  });
}

for (const arch of ['gpt2-tiny', 'bloom-tiny'] as const) {
  test(`${arch}: llama.cpp tokenizes the reference cases as transformers does`, async (t) => {
    const file = path.join(tempDir(t), 'm.gguf');
    await exportGguf({ modelDir: fixture(arch), template: null, quant: 'f16', out: file });
    const model = await llama.loadModel({ modelPath: file });
    try {
      for (const c of REFERENCE[arch].tokenizer) assert.deepEqual([...model.tokenize(c.text, true)], c.ids, JSON.stringify(c.text));
    } finally {
      await model.dispose();
    }
  });
}

test('q4_K and q6_K blocks: llama.cpp reads what our decoder reads (a 256-wide random BLOOM)', async (t) => {
  // The fixtures' 32-wide rows make llama-quantize fall back to q5_0/q8_0, so K-quant blocks
  // need rows of 256: here every Q4_K_M rule fires (q4_K, q6_K for the tied head, the
  // more-bits layer's qkv and ffn_down).
  const dir = tempDir(t);
  const raw = { model_type: 'bloom', n_layer: 2, hidden_size: 256, n_head: 4, vocab_size: 2000, bos_token_id: 1, eos_token_id: 2, pad_token_id: 3, layer_norm_epsilon: 1e-5 };
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(raw));
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) fs.copyFileSync(path.join(fixture('bloom-tiny'), f), path.join(dir, f));
  const shapes = ARCHITECTURES.bloom.weightShapes(parseModelConfig(raw));
  const tensors = [...shapes].map(([name, shape], i) => ({
    name,
    shape,
    data: tf.tidy(() => (isLayerNormWeight(name) ? tf.ones(shape) : tf.randomNormal(shape, 0, name.endsWith('.bias') ? 0.01 : 0.05, 'float32', i)).dataSync() as Float32Array),
  }));
  writeSafetensors(path.join(dir, 'model.safetensors'), tensors);
  const file = path.join(dir, 'k.gguf');
  await exportGguf({ modelDir: dir, template: null, quant: 'q4_k_m', out: file });

  const { model } = loadModel(dir);
  const mapped = llamaCppTensors(model);
  const types = chooseTypes(mapped, model.config, 'q4_k_m');
  assert.ok(types.includes('Q4_K') && types.includes('Q6_K'), `types: ${types}`);
  // Our forward on the weights as the file holds them, per our decoder, llama.cpp's layout undone.
  const held: Weights = new Map(model.weights);
  const roundTrip = (values: Float32Array, type: (typeof types)[number]) => {
    const bytes = new Uint8Array((values.length / BLOCK[type].values) * BLOCK[type].bytes);
    encode(type, values, bytes);
    return decode(type, bytes, values.length);
  };
  // Quantization acts along rows of llama.cpp's layout; for BLOOM's linear weights that is
  // torch's [out, in] layout too, and the qkv de-interleave only moves whole rows.
  const byGguf = new Map(mapped.map((t, i) => [t.name, types[i]]));
  const hfToGguf = (hf: string) =>
    hf
      .replace('transformer.word_embeddings.weight', 'token_embd.weight')
      .replace(/transformer\.h\.(\d+)\.self_attention\.query_key_value\.weight/, 'blk.$1.attn_qkv.weight')
      .replace(/transformer\.h\.(\d+)\.self_attention\.dense\.weight/, 'blk.$1.attn_output.weight')
      .replace(/transformer\.h\.(\d+)\.mlp\.dense_h_to_4h\.weight/, 'blk.$1.ffn_up.weight')
      .replace(/transformer\.h\.(\d+)\.mlp\.dense_4h_to_h\.weight/, 'blk.$1.ffn_down.weight');
  for (const [name, w] of model.weights) {
    const type = byGguf.get(hfToGguf(name));
    if (!type || type === 'F32') continue;
    held.set(name, tf.tensor(roundTrip(fp32Weight(name, w).dataSync() as Float32Array, type), w.shape));
  }
  const dequantized = new CausalLM(model.config, held);
  const ids = loadTokenizer(dir).encode(asText(conversation(HELD_OUT_ORDER, 0), loadTokenizer(dir), '</s>'));
  const theirs = await llamaLogits(file, ids);
  const ours = ourLogits(dequantized, ids);
  const exact = ourLogits(model, ids);
  const decodeGap = maxAbsDiff(theirs, ours);
  const quantGap = maxAbsDiff(exact, ours);
  console.log(`K-quants: |llama.cpp - our dequantized| ${decodeGap.toExponential(3)}, |dequantized - float32| ${quantGap.toExponential(3)}; ppl ${perplexity(theirs, ids).toFixed(3)} vs ${perplexity(exact, ids).toFixed(3)}, ${fs.statSync(file).size} bytes`);
  // llama.cpp also rounds activations to 8 bits for K-quant matmuls, so not exact; a
  // misread block would be off by as much as the quantization itself.
  assert.ok(decodeGap < quantGap / 4, `llama.cpp vs our decoder ${decodeGap}, quantization error ${quantGap}`);
});

test('tunesmith export --format gguf: a model and adapter folded, with its Modelfile; bad choices named', (t) => {
  const dir = tempDir(t);
  const out = path.join(dir, 'bloom-lora.gguf');
  const r = tunesmith('export', '--model', fixture('bloom-tiny'), '--adapter', fixture('bloom-tiny-lora-trained'), '--template', 'chatml', '--format', 'gguf', '--quant', 'q8_0', '--out', out);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(fs.readFileSync(out).subarray(0, 4).toString('latin1'), 'GGUF');
  const modelfile = fs.readFileSync(path.join(dir, 'Modelfile'), 'utf8');
  assert.match(modelfile, /^FROM \.\/bloom-lora\.gguf$/m);
  assert.match(modelfile, /^PARAMETER stop "<\|im_end\|>"$/m);
  const bad = tunesmith('export', '--model', fixture('bloom-tiny'), '--format', 'gguf', '--quant', 'q3', '--out', path.join(dir, 'x.gguf'));
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /--quant must be one of f16, q8_0, q4_k_m; got "q3"/);
  const again = tunesmith('export', '--model', fixture('bloom-tiny'), '--format', 'gguf', '--out', out);
  assert.notEqual(again.code, 0);
  assert.match(again.stderr, /already exists/);
});
