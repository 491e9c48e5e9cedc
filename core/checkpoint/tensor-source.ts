// What every weight-file reader (safetensors, torch .bin) offers: a list of tensors
// and a way to read one at a time as float32, so a 3 GB checkpoint never has to
// sit in memory twice.

export type StoredDType = 'F32' | 'F16' | 'BF16' | 'F64' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

export interface StoredTensor {
  name: string;
  dtype: StoredDType;
  shape: number[];
}

export interface TensorSource {
  /** The file (or index file) the tensors come from, for error messages. */
  readonly path: string;
  list(): StoredTensor[];
  /** Reads one tensor, converting it to float32. Throws naming the file and tensor if it is damaged. */
  read(name: string): Float32Array;
  close(): void;
}

export const DTYPE_BYTES: Record<StoredDType, number> = {
  F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1,
};

export function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** IEEE half → float32, bit-exact (subnormals, infinities and NaN included). */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

const HALF_TABLE = (() => {
  const t = new Float32Array(65536);
  for (let i = 0; i < 65536; i++) t[i] = halfToFloat(i);
  return t;
})();

/**
 * float32 → bf16 bits, rounded to nearest with ties to even, as the CPUs' conversion
 * instructions do (they also read subnormals as zero); NaN stays NaN.
 */
export function toBf16Bits(values: Float32Array): Uint16Array {
  const out = new Uint16Array(values.length);
  const src = new Uint32Array(values.buffer, values.byteOffset, values.length);
  for (let i = 0; i < src.length; i++) {
    const b = src[i];
    if ((b & 0x7f800000) === 0) out[i] = (b >>> 16) & 0x8000;
    else if ((b & 0x7fffffff) > 0x7f800000) out[i] = (b >>> 16) | 0x40;
    else out[i] = (b + 0x7fff + ((b >>> 16) & 1)) >>> 16;
  }
  return out;
}

/** Converts little-endian raw bytes of a stored dtype to float32. */
export function toFloat32(bytes: Uint8Array, dtype: StoredDType, count: number): Float32Array {
  const out = new Float32Array(count);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (dtype) {
    case 'F32':
      for (let i = 0; i < count; i++) out[i] = view.getFloat32(i * 4, true);
      break;
    case 'F64':
      for (let i = 0; i < count; i++) out[i] = view.getFloat64(i * 8, true);
      break;
    case 'F16':
      for (let i = 0; i < count; i++) out[i] = HALF_TABLE[view.getUint16(i * 2, true)];
      break;
    case 'BF16': {
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < count; i++) bits[i] = view.getUint16(i * 2, true) << 16;
      break;
    }
    case 'I64':
      for (let i = 0; i < count; i++) out[i] = Number(view.getBigInt64(i * 8, true));
      break;
    case 'I32':
      for (let i = 0; i < count; i++) out[i] = view.getInt32(i * 4, true);
      break;
    case 'I16':
      for (let i = 0; i < count; i++) out[i] = view.getInt16(i * 2, true);
      break;
    case 'I8':
      for (let i = 0; i < count; i++) out[i] = view.getInt8(i);
      break;
    case 'U8':
    case 'BOOL':
      for (let i = 0; i < count; i++) out[i] = view.getUint8(i);
      break;
  }
  return out;
}
