// The choices Settings offers, each with the sentence that explains it.
import type { Settings } from '../../../core/api/contract';

export const BACKENDS: { value: Settings['backend']; label: string; about: string }[] = [
  { value: 'auto', label: 'Automatic (recommended)', about: 'the fastest engine that starts on this computer, tried in the order below' },
  { value: 'webgpu', label: 'GPU (WebGPU)', about: 'the graphics card of any vendor, through Vulkan, Metal or Direct3D 12; Automatic uses it only when a hardware GPU is found' },
  { value: 'native', label: 'Native', about: 'Tunesmith’s own compiled kernels, the fastest' },
  { value: 'tensorflow', label: 'TensorFlow', about: 'TensorFlow’s C library through tfjs-node' },
  { value: 'wasm', label: 'WebAssembly', about: 'portable, several times slower than native' },
  { value: 'cpu', label: 'Plain JavaScript', about: 'always starts, and is by far the slowest' },
];

export const THEMES: { value: Settings['theme']; label: string }[] = [
  { value: 'system', label: 'Same as the system' },
  { value: 'light', label: 'Light' },
  { value: 'dark', label: 'Dark' },
];

// A backend or theme added to Settings without an entry here fails to compile.
type Unlisted = Exclude<Settings['backend'], (typeof BACKENDS)[number]['value']> | Exclude<Settings['theme'], (typeof THEMES)[number]['value']>;
const allListed: Unlisted extends never ? true : Unlisted = true;
void allListed;
