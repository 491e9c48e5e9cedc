// Greedy decoding speed with and without the KV cache, on random weights in a public
// model's shape (the compute is the same as with the real weights; nothing is downloaded),
// then PyTorch's greedy decoding with KV cache (32 + 64 tokens) when a python here has torch
// (bench/pytorch.ts).
//   npm run bench:generate -- [--random-init gpt2|gpt2-medium|gpt2-large|gpt2-xl|bloom-560m|bloom-1b1|bloom-1b7] [--prompt-tokens 32] [--new-tokens 64] [--backend webgpu|native|...]
import { parseArgs } from 'node:util';
import os from 'node:os';
import { activeKernels, describeBackend, initBackend, tf } from '../core/engine/backend';
import { generate } from '../core/generate/generate';
import { randomModel } from '../core/models/load';
import { pytorchUnavailable, runPytorch } from './pytorch';

const { values } = parseArgs({
  options: {
    'random-init': { type: 'string', default: 'gpt2' },
    'prompt-tokens': { type: 'string', default: '32' },
    'new-tokens': { type: 'string', default: '64' },
    backend: { type: 'string' },
  },
});
const promptTokens = Number(values['prompt-tokens']);
const newTokens = Number(values['new-tokens']);

console.log(`machine load average (1, 5, 15 min): ${os.loadavg().map((l) => l.toFixed(2)).join(', ')} on ${os.cpus().length} cores`);
const choice = await initBackend(values.backend);
const backend = choice.name;
const gemm = activeKernels()?.info().blas;
const model = randomModel(values['random-init']!);
const prompt = Array.from({ length: promptTokens }, (_, i) => (i * 7919) % model.config.vocabSize);
console.log(`model ${values['random-init']} (${(model.parameterCount() / 1e6).toFixed(1)}M parameters), backend ${describeBackend(choice)}${gemm ? ` (GEMM ${gemm})` : ''}, prompt ${promptTokens} tokens, ${newTokens} new tokens`);

generate(model, prompt, { maxNewTokens: 2, greedy: true, eosId: null });

const results: Record<string, number> = {};
for (const noCache of [false, true]) {
  const label = noCache ? 'without cache' : 'with KV cache';
  const started = performance.now();
  let last = started;
  let made = 0;
  const out = generate(model, prompt, {
    maxNewTokens: newTokens,
    greedy: true,
    eosId: null,
    noCache,
    onToken: () => {
      made++;
      const now = performance.now();
      if (now - last > 1000) {
        process.stderr.write(`\r\x1b[2K  ${label}: ${made}/${newTokens} tokens`);
        last = now;
      }
    },
  });
  const seconds = (performance.now() - started) / 1000;
  results[label] = out.length / seconds;
  process.stderr.write("\r\x1b[2K");
  console.log(`${label.padEnd(14)} ${results[label].toFixed(2)} tokens/s  (${seconds.toFixed(2)} s for ${out.length} tokens)`);
}
console.log(`KV cache speed-up: ${(results['with KV cache'] / results['without cache']).toFixed(2)}x`);
// On webgpu, every GPU buffer tfjs's buffer manager made (its pool of freed ones included).
const gpuBytes = (tf.memory() as { numBytesAllocatedInGPU?: number }).numBytesAllocatedInGPU;
const memory = { peak_rss_mib: process.resourceUsage().maxRSS / 1024, ...(gpuBytes ? { gpu_buffers_mib: gpuBytes / 2 ** 20 } : {}) };
console.log(`memory: peak RSS ${memory.peak_rss_mib.toFixed(0)} MiB${gpuBytes ? `, GPU buffers ${(gpuBytes / 2 ** 20).toFixed(0)} MiB (tfjs numBytesAllocatedInGPU)` : ''}`);
console.log(JSON.stringify({ bench: 'generate', model: values['random-init'], backend, prompt_tokens: promptTokens, new_tokens: newTokens, tokens_per_s_cache: results['with KV cache'], tokens_per_s_no_cache: results['without cache'], ...memory }));

const why = pytorchUnavailable();
if (why) console.log(`PyTorch comparison skipped: ${why}`);
else if (values['random-init'] !== 'gpt2' || promptTokens !== 32 || newTokens !== 64) console.log('PyTorch comparison runs for gpt2 with 32 prompt and 64 new tokens (the anchor script fixes them)');
else {
  const theirs = runPytorch(['--generate']);
  const ratio = results['with KV cache'] / theirs.tokens_per_s;
  console.log(`PyTorch (${theirs.engine}) ${theirs.tokens_per_s.toFixed(1)} tokens/s with KV cache  →  Tunesmith ${ratio.toFixed(2)}× the speed`);
  console.log(JSON.stringify({ bench: 'generate-pytorch', pytorch: theirs, speed_ratio: ratio }));
}
