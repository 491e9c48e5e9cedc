// Live tensor bytes as the backend holds them: one entry per data buffer, so a reshape or
// a shared clone counts once and a copying clone (wasm) counts twice. tfjs's own
// numBytes counts every tensor object, shared buffers included, so it cannot say this.
import { tf } from '../core/engine/backend';

export interface TensorBytes {
  live(): number;
  /** The largest live total since the last reset. */
  peak(): number;
  resetPeak(): void;
  /** Byte sizes of the buffers alive now. */
  buffers(): Iterable<number>;
  /** Called after every new buffer, and whenever a new peak is reached (to snapshot what is alive then). */
  onAllocate?: () => void;
  onPeak?: () => void;
  stop(): void;
}

interface BufferRegistry {
  has(id: object): boolean;
  get(id: object): { bytes: number } | undefined;
  set(id: object, info: { bytes: number }): unknown;
  delete(id: object): boolean;
}

/**
 * Counts from now on: live is the net of buffers made and freed since, so freeing an older
 * buffer (an optimizer replacing a weight) counts too; buffers() lists only the new ones.
 */
export function trackTensorBytes(): TensorBytes {
  const registry = (tf.engine() as unknown as { state: { tensorInfo: BufferRegistry } }).state.tensorInfo;
  const { set, delete: remove } = registry;
  const alive = new Map<object, number>();
  let live = 0;
  let peak = 0;
  const tracker: TensorBytes = {
    live: () => live,
    peak: () => peak,
    resetPeak: () => {
      peak = live;
    },
    buffers: () => alive.values(),
    stop: () => {
      registry.set = set;
      registry.delete = remove;
    },
  };
  registry.set = (id, info) => {
    if (!alive.has(id) && !registry.has(id)) {
      alive.set(id, info.bytes);
      live += info.bytes;
      if (live > peak) {
        peak = live;
        tracker.onPeak?.();
      }
      tracker.onAllocate?.();
    }
    return set.call(registry, id, info);
  };
  registry.delete = (id) => {
    live -= alive.get(id) ?? registry.get(id)?.bytes ?? 0;
    alive.delete(id);
    return remove.call(registry, id);
  };
  return tracker;
}
