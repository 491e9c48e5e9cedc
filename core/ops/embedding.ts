import { activeKernels, bindableRowBlocks, tensorsOnGpu, tf } from '../engine/backend';
import { f32, fused, i32, isTrained, tensorOf } from './native-tensors';

/**
 * Row lookup table[ids] whose gradient is a scatter-add of the output gradient into the
 * rows that were used. tfjs's own gather gradient goes through UnsortedSegmentSum, which
 * the wasm backend lacks and the cpu backend runs in time proportional to the table size
 * times the ids.
 */
export function embeddingLookup(table: tf.Tensor, ids: tf.Tensor, tied?: TiedGradient): tf.Tensor {
  return activeKernels() ? embeddingLookupNative(table, ids, tied) : embeddingLookupReference(table, ids);
}

/**
 * A token embedding that is also the LM head (GPT-2, BLOOM) gets two [V, E] gradients, which
 * tfjs would hold side by side and then sum into a third. On the native path the head's
 * backward (which runs first) leaves its weight gradient here instead of returning it, and
 * the lookup's backward adds its rows into that same buffer and returns it: one [V, E]
 * buffer instead of three. Where the head's kernel did not leave one (a twin ran), the
 * lookup makes its own and tfjs sums the two as usual.
 */
export class TiedGradient {
  private headGradient: Float32Array | null = null;

  give(gradient: Float32Array): void {
    this.headGradient = gradient;
  }

  take(): Float32Array | null {
    const gradient = this.headGradient;
    this.headGradient = null;
    return gradient;
  }
}

/** The plain-tfjs twin: runs on every backend and is the native kernel's test oracle. */
export function embeddingLookupReference(table: tf.Tensor, ids: tf.Tensor): tf.Tensor {
  // A frozen table too big for the GPU to bind is looked up block by block.
  const blocks = isTrained(table) ? null : bindableRowBlocks(table);
  if (blocks) return gatherFromRowBlocks(blocks, ids);
  const lookup = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [t, save] = args as [tf.Tensor, tf.GradSaveFunc];
    save([ids]);
    return {
      value: tf.gather(t, ids),
      // Read the ids from the saved copy: the original may be disposed by the time backprop runs.
      gradFunc: (dy: tf.Tensor, [savedIds]: tf.Tensor[]) => {
        const [rows, width] = table.shape as [number, number];
        // On a GPU the host loop below would download dy and upload the whole table's gradient
        // each step; there UnsortedSegmentSum runs where the tensors are.
        if (tensorsOnGpu()) return tf.unsortedSegmentSum(tf.reshape(dy, [-1, width]), tf.reshape(savedIds, [-1]), rows);
        const grad = new Float32Array(rows * width);
        const index = savedIds.dataSync();
        const g = dy.dataSync();
        for (let i = 0; i < index.length; i++) {
          const dst = index[i] * width;
          const src = i * width;
          for (let j = 0; j < width; j++) grad[dst + j] += g[src + j];
        }
        return tf.tensor2d(grad, [rows, width]);
      },
    };
  });
  return lookup(table);
}

/** table[ids] where the table is given as consecutive row blocks: each id reads from its block. */
function gatherFromRowBlocks(blocks: tf.Tensor2D[], ids: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    let start = 0;
    const parts = blocks.map((block) => {
      const rows = block.shape[0];
      const local = tf.sub(ids, tf.scalar(start, 'int32'));
      const inside = tf.logicalAnd(tf.greaterEqual(local, 0), tf.less(local, rows));
      start += rows;
      // [...ids, width], zero where the id lives in another block.
      return tf.mul(tf.gather(block, tf.clipByValue(local, 0, rows - 1)), tf.expandDims(tf.cast(inside, 'float32'), -1));
    });
    return tf.addN(parts);
  });
}

export function embeddingLookupNative(table: tf.Tensor, ids: tf.Tensor, tied?: TiedGradient): tf.Tensor {
  const k = activeKernels()!;
  const [rows, width] = table.shape as [number, number];
  const index = i32(ids);
  const shape = [...ids.shape, width];
  const gather = () => {
    const out = new Float32Array(index.length * width);
    k.embeddingGather(f32(table), rows, index, index.length, width, out);
    return tensorOf(out, shape);
  };
  // A frozen table (LoRA) needs no gradient, so no backward pass at all.
  if (!isTrained(table)) return gather();
  return fused([table], () => ({
    value: gather(),
    gradFunc: (dy) => {
      const headGradient = tied?.take();
      if (headGradient) return [tensorOf(addLookupGradient(headGradient, f32(dy), index, width), [rows, width])];
      const grad = new Float32Array(rows * width);
      k.embeddingScatterAdd(f32(dy), index, index.length, width, grad, rows);
      return [tensorOf(grad, [rows, width])];
    },
  }));
}

/**
 * headGradient + the lookup's scatter-add gradient, in place and rounded exactly as tfjs's sum
 * of the two: each used row's gradients are summed first (in a [used rows, width] buffer, in
 * id order as the kernel sums them), then added once to the head's row.
 */
function addLookupGradient(headGradient: Float32Array, dy: Float32Array, index: Int32Array, width: number): Float32Array {
  const slotOf = new Map<number, number>();
  const slots = new Int32Array(index.length);
  for (let i = 0; i < index.length; i++) {
    let slot = slotOf.get(index[i]);
    if (slot === undefined) slotOf.set(index[i], (slot = slotOf.size));
    slots[i] = slot;
  }
  const rowSums = new Float32Array(slotOf.size * width);
  activeKernels()!.embeddingScatterAdd(dy, slots, index.length, width, rowSums, slotOf.size);
  for (const [row, slot] of slotOf) {
    const dst = row * width;
    const src = slot * width;
    for (let j = 0; j < width; j++) headGradient[dst + j] += rowSums[src + j];
  }
  return headGradient;
}
