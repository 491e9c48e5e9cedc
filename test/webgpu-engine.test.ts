// What the webgpu backend decides without a GPU: which adapters automatic choice refuses, and
// that the CPU path loads nothing of Dawn. The GPU numerics are in webgpu-parity.test.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeGpu, initBackend } from '../core/engine/backend';
import { isSoftwareAdapter } from '../core/engine/webgpu';

test('software rasterisers are recognised by name or by the fallback flag; GPUs are not', () => {
  const software = [
    { device: 'llvmpipe-llvm-15-0-6-256-bits-', description: 'OpenGL version OpenGL ES 3.2 Mesa 22.3.6' },
    { device: 'llvmpipe (LLVM 19.1.7, 256 bits)', description: 'Mesa 25.0.7' },
    { device: 'SwiftShader Device (Subzero)', description: 'SwiftShader driver' },
    { device: 'Microsoft Basic Render Driver', description: 'D3D12' },
    { device: 'Some Device', description: '', isFallbackAdapter: true },
  ];
  const hardware = [
    { device: 'NVIDIA GeForce RTX 4090', description: 'NVIDIA: 560.35.03' },
    { device: 'AMD Radeon RX 7900 XTX (RADV NAVI31)', description: 'radv Mesa 24.2' },
    { device: 'Apple M2 Max', description: '' },
    { device: 'Intel(R) Arc(tm) A770 Graphics (DG2)', description: 'Intel open-source Mesa driver' },
  ];
  for (const info of software) assert.equal(isSoftwareAdapter(info), true, info.device);
  for (const info of hardware) assert.equal(isSoftwareAdapter(info), false, info.device);
});

test('a CPU backend loads nothing of Dawn and says why the GPU is not used', async () => {
  const choice = await initBackend('cpu');
  assert.equal(choice.name, 'cpu');
  assert.equal(choice.adapter, undefined);
  // Dawn's globals and navigator.gpu appear only once the webgpu backend is tried.
  assert.equal((globalThis as { GPUBufferUsage?: unknown }).GPUBufferUsage, undefined);
  assert.equal((globalThis as { navigator?: { gpu?: unknown } }).navigator?.gpu, undefined);
  assert.match(describeGpu(choice), /^not used: the cpu engine was chosen/);
});
