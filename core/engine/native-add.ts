// tfjs's cpu backend adds tensors in a generic broadcasting loop, and training adds large
// tensors all the time: every residual connection forward, and backprop summing the
// gradients of each tensor used twice. Same-shape float32 adds go to the native kernel;
// everything else (broadcasts, ints) stays with tfjs.
import * as tf from '@tensorflow/tfjs';
import type { NativeKernels } from './native-kernels';

interface CpuBackendLike {
  data: { get(dataId: object): { values: unknown } };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: Float32Array): tf.TensorInfo;
}

export function routeAddToNative(kernels: NativeKernels): void {
  const original = tf.getKernel('Add', 'cpu');
  if (!original) return;
  tf.unregisterKernel('Add', 'cpu');
  tf.registerKernel({
    kernelName: 'Add',
    backendName: 'cpu',
    kernelFunc: (args) => {
      const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
      const same = a.dtype === 'float32' && b.dtype === 'float32' && a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape[i]);
      if (!same) return original.kernelFunc(args);
      const backend = args.backend as unknown as CpuBackendLike;
      const av = backend.data.get(a.dataId).values;
      const bv = backend.data.get(b.dataId).values;
      if (!(av instanceof Float32Array) || !(bv instanceof Float32Array)) return original.kernelFunc(args);
      const out = new Float32Array(av.length);
      kernels.add(av, bv, out);
      return backend.makeTensorInfo(a.shape, 'float32', out);
    },
  });
}
