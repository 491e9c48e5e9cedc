// pytorch_model.bin as torch.save has written it since 1.6: a zip holding
// `<prefix>/data.pkl` (the state dict, with tensors pointing into storages by key) and
// one stored entry `<prefix>/data/<key>` of raw little-endian bytes per storage.
// The pickle is decoded by a restricted unpickler, and each tensor is read on demand
// with positioned reads of its storage entry.
import fs from 'node:fs';
import { TensorRef, unpickleTorch } from './torch-pickle';
import { DTYPE_BYTES, elementCount, toFloat32, type StoredTensor, type TensorSource } from './tensor-source';
import { ZipReader, type ZipEntry } from './zip';

/** torch's legacy serialization opens with pickle PROTO 2 and LONG1 of its magic number 0x1950a86a20f9469cfc6c. */
const LEGACY_MAGIC = Buffer.from([0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19]);

interface OpenTensor {
  ref: TensorRef;
  entry: ZipEntry;
}

export class TorchCheckpoint implements TensorSource {
  private readonly fd: number;
  private readonly zip: ZipReader;
  private readonly tensors = new Map<string, OpenTensor>();

  constructor(readonly path: string) {
    this.fd = fs.openSync(path, 'r');
    try {
      this.refuseLegacyFormat();
      this.zip = new ZipReader(this.fd, path);
      const { prefix, pickle } = this.findPickle();
      const byteorder = this.zip.get(`${prefix}/byteorder`);
      // Absent in files from torch < 2.1, which only ever wrote little-endian.
      if (byteorder && Buffer.from(this.zip.readAll(byteorder)).toString('latin1') !== 'little') {
        this.fail('its tensors are stored big-endian, which Tunesmith does not read');
      }
      const state = unpickleTorch(this.zip.readAll(pickle), path);
      for (const [name, ref] of this.stateDictEntries(state)) {
        this.tensors.set(name, { ref, entry: this.storageEntry(prefix, name, ref) });
      }
    } catch (err) {
      fs.closeSync(this.fd);
      throw err;
    }
  }

  list(): StoredTensor[] {
    return [...this.tensors].map(([name, { ref }]) => ({ name, dtype: ref.storage.dtype, shape: ref.shape }));
  }

  read(name: string): Float32Array {
    const t = this.tensors.get(name);
    if (!t) throw new Error(`${this.path}: no tensor named "${name}"`);
    const { storage, offset, shape, stride } = t.ref;
    const count = elementCount(shape);
    if (count === 0) return new Float32Array(0);
    const width = DTYPE_BYTES[storage.dtype];
    const span = spanOf(shape, stride);
    const values = toFloat32(this.zip.readRange(t.entry, offset * width, span * width), storage.dtype, span);
    return isContiguous(shape, stride) ? values : gatherStrided(values, shape, stride);
  }

  close(): void {
    fs.closeSync(this.fd);
  }

  private fail(why: string): never {
    throw new Error(`${this.path}: ${why}`);
  }

  private refuseLegacyFormat(): void {
    const head = Buffer.alloc(LEGACY_MAGIC.length);
    const n = fs.readSync(this.fd, head, 0, head.length, 0);
    if (n === head.length && head.equals(LEGACY_MAGIC)) {
      this.fail('legacy torch format, re-save with torch >= 1.6 or convert to safetensors');
    }
  }

  /** torch names the top folder after the file it saved to, so it can be anything. */
  private findPickle(): { prefix: string; pickle: ZipEntry } {
    const pickles = this.zip.entries().filter((e) => /^[^/]+\/data\.pkl$/.test(e.name));
    if (pickles.length !== 1) {
      this.fail(
        pickles.length
          ? `a zip with ${pickles.length} data.pkl files (${pickles.map((e) => e.name).join(', ')}), not one torch checkpoint`
          : 'a zip, but not a torch checkpoint (no <folder>/data.pkl inside)',
      );
    }
    return { prefix: pickles[0].name.slice(0, -'/data.pkl'.length), pickle: pickles[0] };
  }

  /**
   * A model's weights are a flat dict of name → tensor, which is what every Hugging Face
   * pytorch_model.bin holds. A training checkpoint nests them beside optimizer state;
   * guessing which nested dict is the model would be wrong as often as right, so it is refused.
   */
  private stateDictEntries(state: unknown): [string, TensorRef][] {
    if (!(state instanceof Map)) this.fail('it holds a single object rather than a dict of tensors');
    const out: [string, TensorRef][] = [];
    for (const [key, value] of state) {
      if (typeof key !== 'string') this.fail(`its state dict has a non-string key ${String(key)}`);
      if (value instanceof Map) {
        this.fail(`"${key}" holds a nested dict, not a tensor: this looks like a training checkpoint, not a model's state dict (save model.state_dict() on its own)`);
      }
      if (!(value instanceof TensorRef)) this.fail(`"${key}" is not a tensor`);
      out.push([key, value]);
    }
    return out;
  }

  /** Checks up front that the tensor's view lies inside its storage, and the storage inside the file. */
  private storageEntry(prefix: string, name: string, ref: TensorRef): ZipEntry {
    const { storage } = ref;
    const entryName = `${prefix}/data/${storage.key}`;
    const entry = this.zip.get(entryName);
    if (!entry) this.fail(`tensor "${name}" points to storage ${entryName}, which is missing`);
    const width = DTYPE_BYTES[storage.dtype];
    if (entry.size < storage.numel * width) {
      this.fail(`storage ${entryName} has ${entry.size} bytes but should hold ${storage.numel} ${storage.dtype} values`);
    }
    if (elementCount(ref.shape) > 0 && ref.offset + spanOf(ref.shape, ref.stride) > storage.numel) {
      this.fail(`tensor "${name}" (offset ${ref.offset}, shape ${JSON.stringify(ref.shape)}, stride ${JSON.stringify(ref.stride)}) reaches past the ${storage.numel} values of its storage`);
    }
    return entry;
  }
}

/** How many storage elements a non-empty view covers, from its first element to its last. */
function spanOf(shape: readonly number[], stride: readonly number[]): number {
  return 1 + shape.reduce((sum, n, d) => sum + (n - 1) * stride[d], 0);
}

/** Row-major without gaps; a dimension of size 1 may carry any stride. */
function isContiguous(shape: readonly number[], stride: readonly number[]): boolean {
  let expected = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    if (shape[d] !== 1 && stride[d] !== expected) return false;
    expected *= shape[d];
  }
  return true;
}

/** Copies a strided view (starting at src[0]) into a new row-major array. */
export function gatherStrided(src: Float32Array, shape: readonly number[], stride: readonly number[]): Float32Array {
  const out = new Float32Array(elementCount(shape));
  if (!out.length) return out;
  const index = new Array<number>(shape.length).fill(0);
  let at = 0;
  for (let i = 0; i < out.length; i++) {
    out[i] = src[at];
    for (let d = shape.length - 1; d >= 0; d--) {
      at += stride[d];
      if (++index[d] < shape[d]) break;
      at -= stride[d] * shape[d];
      index[d] = 0;
    }
  }
  return out;
}
