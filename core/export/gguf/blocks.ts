// ggml's tensor element types as bytes: f32, f16 and the block quantizations a Q8_0 or
// Q4_K_M file uses (q8_0, q5_0, q4_K, q6_K). Layouts are ggml's structs (ggml-common.h),
// little-endian, one row after another; a row is a whole number of blocks. The encoders
// are ours (simple error-minimising searches); only the decoders must agree with ggml's,
// since llama.cpp reads nothing but the bytes.
import { halfToFloat } from '../../checkpoint/tensor-source';

/** ggml_type ids as written in a GGUF tensor info. */
export const GGML_TYPE = { F32: 0, F16: 1, Q5_0: 6, Q8_0: 8, Q4_K: 12, Q6_K: 14 } as const;
export type GgmlType = keyof typeof GGML_TYPE;

/** Values per block and bytes per block, as ggml's type traits. */
export const BLOCK: Record<GgmlType, { values: number; bytes: number }> = {
  F32: { values: 1, bytes: 4 },
  F16: { values: 1, bytes: 2 },
  Q5_0: { values: 32, bytes: 2 + 4 + 16 },
  Q8_0: { values: 32, bytes: 2 + 32 },
  Q4_K: { values: 256, bytes: 2 + 2 + 12 + 128 },
  Q6_K: { values: 256, bytes: 128 + 64 + 16 + 2 },
};

export function rowBytes(type: GgmlType, rowLength: number): number {
  const b = BLOCK[type];
  if (rowLength % b.values !== 0) throw new Error(`a ${type} row needs a multiple of ${b.values} values, not ${rowLength}`);
  return (rowLength / b.values) * b.bytes;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** float32 → IEEE half, rounding to nearest even as numpy's astype(float16) and ggml's F16C do. */
export function floatToHalf(value: number): number {
  f32[0] = value;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = mant >>> shift;
    const rest = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    return sign | (half + (rest > mid || (rest === mid && half & 1) ? 1 : 0));
  }
  let half = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && half & 1)) half++;
  e = half >>> 10;
  return sign | (e >= 0x1f ? 0x7c00 : half);
}

/** The value a float becomes once stored as half, as llama.cpp will read it back. */
const roundHalf = (v: number) => halfToFloat(floatToHalf(v));

/** Encodes `values` (whole rows) as `type` into `out` at `offset`; returns the bytes written. */
export function encode(type: GgmlType, values: Float32Array, out: Uint8Array, offset = 0): number {
  const view = new DataView(out.buffer, out.byteOffset + offset);
  const b = BLOCK[type];
  const blocks = values.length / b.values;
  for (let i = 0; i < blocks; i++) {
    const x = values.subarray(i * b.values, (i + 1) * b.values);
    const at = i * b.bytes;
    if (type === 'F32') view.setFloat32(at, x[0], true);
    else if (type === 'F16') view.setUint16(at, floatToHalf(x[0]), true);
    else ENCODERS[type](x, view, at);
  }
  return blocks * b.bytes;
}

/** Decodes `count` values of `type` from `bytes`: ggml's dequantize_row_* semantics. */
export function decode(type: GgmlType, bytes: Uint8Array, count: number): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(count);
  const b = BLOCK[type];
  for (let i = 0; i < count / b.values; i++) {
    const at = i * b.bytes;
    const y = out.subarray(i * b.values, (i + 1) * b.values);
    if (type === 'F32') y[0] = view.getFloat32(at, true);
    else if (type === 'F16') y[0] = halfToFloat(view.getUint16(at, true));
    else DECODERS[type](view, at, y);
  }
  return out;
}

type BlockCodec = { enc: (x: Float32Array, v: DataView, at: number) => void; dec: (v: DataView, at: number, y: Float32Array) => void };

/** q8_0: { f16 d; i8 qs[32] }, x = d·q; d from the largest magnitude over 127. */
const q8_0: BlockCodec = {
  enc(x, v, at) {
    let amax = 0;
    for (const a of x) amax = Math.max(amax, Math.abs(a));
    const d = amax / 127;
    const id = d ? 1 / d : 0;
    v.setUint16(at, floatToHalf(d), true);
    for (let j = 0; j < 32; j++) v.setInt8(at + 2 + j, Math.round(x[j] * id));
  },
  dec(v, at, y) {
    const d = halfToFloat(v.getUint16(at, true));
    for (let j = 0; j < 32; j++) y[j] = d * v.getInt8(at + 2 + j);
  },
};

/**
 * q5_0: { f16 d; u8 qh[4]; u8 qs[16] }, x = d·(q − 16) with 5-bit q: low nibbles in qs
 * (values j and j+16 share byte j), fifth bits in the 32-bit qh (bit j for value j).
 * d maps the value of largest magnitude to −16, so its sign gets the extra level.
 */
const q5_0: BlockCodec = {
  enc(x, v, at) {
    let max = 0;
    for (const a of x) if (Math.abs(a) > Math.abs(max)) max = a;
    const d = max / -16;
    const id = d ? 1 / d : 0;
    v.setUint16(at, floatToHalf(d), true);
    let qh = 0;
    for (let j = 0; j < 16; j++) {
      const q0 = Math.min(31, Math.trunc(x[j] * id + 16.5));
      const q1 = Math.min(31, Math.trunc(x[j + 16] * id + 16.5));
      v.setUint8(at + 6 + j, (q0 & 0xf) | ((q1 & 0xf) << 4));
      qh |= ((q0 >> 4) << j) | ((q1 >> 4) << (j + 16));
    }
    v.setUint32(at + 2, qh >>> 0, true);
  },
  dec(v, at, y) {
    const d = halfToFloat(v.getUint16(at, true));
    const qh = v.getUint32(at + 2, true);
    for (let j = 0; j < 16; j++) {
      const byte = v.getUint8(at + 6 + j);
      y[j] = d * (((byte & 0xf) | (((qh >>> j) & 1) << 4)) - 16);
      y[j + 16] = d * (((byte >> 4) | (((qh >>> (j + 16)) & 1) << 4)) - 16);
    }
  },
};

/**
 * The (scale, min) of one 32-value q4_K sub-block, x ≈ scale·q − min with q in 0..15,
 * min ≥ 0: the range [min(x,0), max(x)] and a few shrunk ranges around it, keeping the
 * one with the least squared error (ggml weighs errors too; an unweighted search is enough).
 */
function subBlockScaleMin(x: Float32Array): { scale: number; min: number } {
  let lo = 0;
  let hi = -Infinity;
  for (const a of x) {
    lo = Math.min(lo, a);
    hi = Math.max(hi, a);
  }
  if (hi <= lo) return { scale: 0, min: -lo };
  let best = { scale: (hi - lo) / 15, min: -lo };
  let bestErr = Infinity;
  for (let step = 0; step <= 12; step++) {
    const shrink = 1 - step * 0.02;
    for (const [l, h] of [
      [lo * shrink, hi * shrink],
      [lo, hi * shrink],
      [lo * shrink, hi],
    ]) {
      const scale = (h - l) / 15;
      let err = 0;
      for (const a of x) {
        const q = Math.max(0, Math.min(15, Math.round((a - l) / scale)));
        err += (scale * q + l - a) ** 2;
      }
      if (err < bestErr) [bestErr, best] = [err, { scale, min: -l }];
    }
  }
  return best;
}

/** q4_K's 6-bit scale and min of sub-block j, packed into 12 bytes (ggml's get_scale_min_k4). */
function scaleMinK4(j: number, v: DataView, at: number): [number, number] {
  const q = (k: number) => v.getUint8(at + 4 + k);
  if (j < 4) return [q(j) & 63, q(j + 4) & 63];
  return [(q(j + 4) & 0xf) | ((q(j - 4) >> 6) << 4), (q(j + 4) >> 4) | ((q(j) >> 6) << 4)];
}

/**
 * q4_K: { f16 d; f16 dmin; u8 scales[12]; u8 qs[128] } over 256 values in 8 sub-blocks of
 * 32: x = d·sc_j·q − dmin·m_j, sc_j and m_j 6-bit. Each 32 bytes of qs hold two
 * sub-blocks: the low nibbles sub-block 2k, the high nibbles sub-block 2k+1.
 */
const q4_K: BlockCodec = {
  enc(x, v, at) {
    const subs = Array.from({ length: 8 }, (_, j) => subBlockScaleMin(x.subarray(32 * j, 32 * j + 32)));
    const maxScale = Math.max(...subs.map((s) => s.scale));
    const maxMin = Math.max(...subs.map((s) => s.min));
    const invScale = maxScale > 0 ? 63 / maxScale : 0;
    const invMin = maxMin > 0 ? 63 / maxMin : 0;
    const scales = new Uint8Array(12);
    subs.forEach((s, j) => {
      const ls = Math.min(63, Math.round(invScale * s.scale));
      const lm = Math.min(63, Math.round(invMin * s.min));
      if (j < 4) {
        scales[j] = ls;
        scales[j + 4] = lm;
      } else {
        scales[j + 4] = (ls & 0xf) | ((lm & 0xf) << 4);
        scales[j - 4] |= (ls >> 4) << 6;
        scales[j] |= (lm >> 4) << 6;
      }
    });
    v.setUint16(at, floatToHalf(maxScale / 63), true);
    v.setUint16(at + 2, floatToHalf(maxMin / 63), true);
    scales.forEach((s, k) => v.setUint8(at + 4 + k, s));
    // The quants are chosen against the scales as stored (6-bit, f16), not the exact ones.
    const d = roundHalf(maxScale / 63);
    const dmin = roundHalf(maxMin / 63);
    const q = new Uint8Array(256);
    for (let j = 0; j < 8; j++) {
      const [sc, m] = scaleMinK4(j, v, at);
      const dj = d * sc;
      if (!dj) continue;
      for (let i = 0; i < 32; i++) q[32 * j + i] = Math.max(0, Math.min(15, Math.round((x[32 * j + i] + dmin * m) / dj)));
    }
    for (let j = 0; j < 256; j += 64) {
      for (let l = 0; l < 32; l++) v.setUint8(at + 16 + j / 2 + l, q[j + l] | (q[j + l + 32] << 4));
    }
  },
  dec(v, at, y) {
    const d = halfToFloat(v.getUint16(at, true));
    const dmin = halfToFloat(v.getUint16(at + 2, true));
    for (let j = 0; j < 256; j += 64) {
      const [sc1, m1] = scaleMinK4(j / 32, v, at);
      const [sc2, m2] = scaleMinK4(j / 32 + 1, v, at);
      for (let l = 0; l < 32; l++) {
        const byte = v.getUint8(at + 16 + j / 2 + l);
        y[j + l] = d * sc1 * (byte & 0xf) - dmin * m1;
        y[j + l + 32] = d * sc2 * (byte >> 4) - dmin * m2;
      }
    }
  },
};

/** A symmetric 16-value sub-block's signed scale: the largest magnitude maps to −32, as ggml's make_qx_quants starts. */
function symmetricScale(x: Float32Array): number {
  let max = 0;
  for (const a of x) if (Math.abs(a) > Math.abs(max)) max = a;
  if (max === 0) return 0;
  let best = max / -32;
  let bestErr = Infinity;
  for (let step = 0; step <= 10; step++) {
    const scale = (max / -32) * (1 - step * 0.015);
    let err = 0;
    for (const a of x) err += (scale * Math.max(-32, Math.min(31, Math.round(a / scale))) - a) ** 2;
    if (err < bestErr) [bestErr, best] = [err, scale];
  }
  return best;
}

/**
 * q6_K: { u8 ql[128]; u8 qh[64]; i8 scales[16]; f16 d } over 256 values in 16 sub-blocks
 * of 16: x = d·sc_j·(q − 32), q 6-bit. Per 128 values, ql's 64 bytes hold the low nibbles
 * (values l and l+64 share byte l, l+32 and l+96 byte l+32) and qh's 32 bytes the top two
 * bits of values l, l+32, l+64, l+96 at bit 0, 2, 4, 6.
 */
const q6_K: BlockCodec = {
  enc(x, v, at) {
    const scales = Array.from({ length: 16 }, (_, j) => symmetricScale(x.subarray(16 * j, 16 * j + 16)));
    let maxScale = 0;
    for (const s of scales) if (Math.abs(s) > Math.abs(maxScale)) maxScale = s;
    for (let k = 0; k < BLOCK.Q6_K.bytes; k++) v.setUint8(at + k, 0);
    if (maxScale === 0) return;
    const iscale = -128 / maxScale;
    v.setUint16(at + 208, floatToHalf(1 / iscale), true);
    const d = roundHalf(1 / iscale);
    const q = new Uint8Array(256).fill(32);
    for (let j = 0; j < 16; j++) {
      const sc = Math.max(-128, Math.min(127, Math.round(iscale * scales[j])));
      v.setInt8(at + 192 + j, sc);
      const dj = d * sc;
      if (!dj) continue;
      for (let i = 0; i < 16; i++) q[16 * j + i] = Math.max(-32, Math.min(31, Math.round(x[16 * j + i] / dj))) + 32;
    }
    for (let n = 0; n < 256; n += 128) {
      const ql = at + n / 2;
      const qh = at + 128 + n / 4;
      for (let l = 0; l < 32; l++) {
        const [a, b, c, e] = [q[n + l], q[n + l + 32], q[n + l + 64], q[n + l + 96]];
        v.setUint8(ql + l, (a & 0xf) | ((c & 0xf) << 4));
        v.setUint8(ql + l + 32, (b & 0xf) | ((e & 0xf) << 4));
        v.setUint8(qh + l, (a >> 4) | ((b >> 4) << 2) | ((c >> 4) << 4) | ((e >> 4) << 6));
      }
    }
  },
  dec(v, at, y) {
    const d = halfToFloat(v.getUint16(at + 208, true));
    for (let n = 0; n < 256; n += 128) {
      const ql = at + n / 2;
      const qh = at + 128 + n / 4;
      const sc = at + 192 + n / 16;
      for (let l = 0; l < 32; l++) {
        const is = l >> 4;
        const lo0 = v.getUint8(ql + l);
        const lo1 = v.getUint8(ql + l + 32);
        const hi = v.getUint8(qh + l);
        y[n + l] = d * v.getInt8(sc + is) * (((lo0 & 0xf) | ((hi & 3) << 4)) - 32);
        y[n + l + 32] = d * v.getInt8(sc + is + 2) * (((lo1 & 0xf) | (((hi >> 2) & 3) << 4)) - 32);
        y[n + l + 64] = d * v.getInt8(sc + is + 4) * (((lo0 >> 4) | (((hi >> 4) & 3) << 4)) - 32);
        y[n + l + 96] = d * v.getInt8(sc + is + 6) * (((lo1 >> 4) | (((hi >> 6) & 3) << 4)) - 32);
      }
    }
  },
};

const CODECS: Record<Exclude<GgmlType, 'F32' | 'F16'>, BlockCodec> = { Q5_0: q5_0, Q8_0: q8_0, Q4_K: q4_K, Q6_K: q6_K };
const ENCODERS = Object.fromEntries(Object.entries(CODECS).map(([k, c]) => [k, c.enc])) as Record<keyof typeof CODECS, BlockCodec['enc']>;
const DECODERS = Object.fromEntries(Object.entries(CODECS).map(([k, c]) => [k, c.dec])) as Record<keyof typeof CODECS, BlockCodec['dec']>;
