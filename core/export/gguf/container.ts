// The GGUF v3 container (ggml's docs/gguf.md): magic, version, counts, metadata
// key/values, tensor infos, then each tensor's bytes at an offset aligned to
// `general.alignment` (32). Written to a temporary name and renamed, one tensor encoded
// at a time in bounded chunks, so memory stays at one tensor's float32 values.
import { encode, GGML_TYPE, rowBytes, type GgmlType } from './blocks';
import { writeFileStreamed } from '../../durable-write';

export const GGUF_ALIGNMENT = 32;

/** A metadata value with the GGUF type it is written as. */
export type GgufValue =
  | { type: 'u32'; value: number }
  | { type: 'f32'; value: number }
  | { type: 'bool'; value: boolean }
  | { type: 'string'; value: string }
  | { type: 'string[]'; value: readonly string[] }
  | { type: 'i32[]'; value: readonly number[] };

export const gguf = {
  u32: (value: number): GgufValue => ({ type: 'u32', value }),
  f32: (value: number): GgufValue => ({ type: 'f32', value }),
  bool: (value: boolean): GgufValue => ({ type: 'bool', value }),
  string: (value: string): GgufValue => ({ type: 'string', value }),
  strings: (value: readonly string[]): GgufValue => ({ type: 'string[]', value }),
  i32s: (value: readonly number[]): GgufValue => ({ type: 'i32[]', value }),
};

// gguf_type ids.
const UINT32 = 4;
const INT32 = 5;
const FLOAT32 = 6;
const BOOL = 7;
const STRING = 8;
const ARRAY = 9;

export interface GgufTensor {
  name: string;
  /** Row-major shape as numpy/torch give it ([rows, cols]); GGUF stores it reversed (ne0 = cols). */
  shape: number[];
  type: GgmlType;
  /** The float32 values in row-major order; called once, when the tensor is written. */
  values(): Float32Array;
}

/** Little-endian byte builder for the header. */
class Bytes {
  private chunks: Buffer[] = [];
  length = 0;

  private push(b: Buffer): void {
    this.chunks.push(b);
    this.length += b.length;
  }
  u32(v: number): void {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v);
    this.push(b);
  }
  i32(v: number): void {
    const b = Buffer.alloc(4);
    b.writeInt32LE(v);
    this.push(b);
  }
  u64(v: number): void {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(v));
    this.push(b);
  }
  f32(v: number): void {
    const b = Buffer.alloc(4);
    b.writeFloatLE(v);
    this.push(b);
  }
  string(s: string): void {
    const b = Buffer.from(s, 'utf8');
    this.u64(b.length);
    this.push(b);
  }
  raw(b: Buffer): void {
    this.push(b);
  }
  toBuffer(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

function writeValue(out: Bytes, v: GgufValue): void {
  switch (v.type) {
    case 'u32':
      out.u32(UINT32);
      return out.u32(v.value);
    case 'f32':
      out.u32(FLOAT32);
      return out.f32(v.value);
    case 'bool':
      out.u32(BOOL);
      return out.raw(Buffer.from([v.value ? 1 : 0]));
    case 'string':
      out.u32(STRING);
      return out.string(v.value);
    case 'string[]':
      out.u32(ARRAY);
      out.u32(STRING);
      out.u64(v.value.length);
      for (const s of v.value) out.string(s);
      return;
    case 'i32[]':
      out.u32(ARRAY);
      out.u32(INT32);
      out.u64(v.value.length);
      for (const n of v.value) out.i32(n);
  }
}

const padTo = (n: number) => (GGUF_ALIGNMENT - (n % GGUF_ALIGNMENT)) % GGUF_ALIGNMENT;

export function tensorBytes(t: Pick<GgufTensor, 'shape' | 'type'>): number {
  const cols = t.shape[t.shape.length - 1];
  const rows = t.shape.slice(0, -1).reduce((a, b) => a * b, 1);
  return rows * rowBytes(t.type, cols);
}

/** Rows encoded per write: about 4 MiB of float32 at a time. */
const CHUNK_VALUES = 1 << 20;

/** Writes a GGUF file; `onTensor` is told after each tensor, for progress. */
export function writeGguf(
  file: string,
  metadata: ReadonlyArray<[string, GgufValue]>,
  tensors: readonly GgufTensor[],
  onTensor: (done: number, total: number, name: string) => void = () => {},
): void {
  const header = new Bytes();
  header.raw(Buffer.from('GGUF', 'latin1'));
  header.u32(3);
  header.u64(tensors.length);
  header.u64(metadata.length);
  for (const [key, value] of metadata) {
    header.string(key);
    writeValue(header, value);
  }
  let offset = 0;
  for (const t of tensors) {
    header.string(t.name);
    header.u32(t.shape.length);
    for (const d of [...t.shape].reverse()) header.u64(d);
    header.u32(GGML_TYPE[t.type]);
    header.u64(offset);
    offset += tensorBytes(t);
    offset += padTo(offset);
  }
  header.raw(Buffer.alloc(padTo(header.length)));

  writeFileStreamed(file, (write) => {
    write(header.toBuffer());
    tensors.forEach((t, i) => {
      const values = t.values();
      const cols = t.shape[t.shape.length - 1];
      if (values.length !== t.shape.reduce((a, b) => a * b, 1)) throw new Error(`tensor "${t.name}": ${values.length} values for shape [${t.shape}]`);
      const rowsPerChunk = Math.max(1, Math.floor(CHUNK_VALUES / cols));
      const chunk = Buffer.alloc(rowsPerChunk * rowBytes(t.type, cols));
      for (let r = 0; r * cols < values.length; r += rowsPerChunk) {
        const part = values.subarray(r * cols, Math.min(values.length, (r + rowsPerChunk) * cols));
        write(chunk.subarray(0, encode(t.type, part, chunk)));
      }
      const size = tensorBytes(t);
      write(Buffer.alloc(padTo(size)));
      onTensor(i + 1, tensors.length, t.name);
    });
  }, header.length + offset);
}
