// safetensors: 8-byte little-endian header length, a JSON header mapping tensor names
// to {dtype, shape, data_offsets} (offsets relative to the end of the header), then the
// raw little-endian data. Read tensor by tensor with positioned reads, so files larger
// than 2 GiB (Node's Buffer limit) work.
import fs from 'node:fs';
import { writeFileAtomically } from './atomic-file';
import nodePath from 'node:path';
import {
  DTYPE_BYTES,
  elementCount,
  toFloat32,
  type StoredDType,
  type StoredTensor,
  type TensorSource,
} from './tensor-source';

interface HeaderEntry {
  dtype: StoredDType;
  shape: number[];
  data_offsets: [number, number];
}

/** Refuse absurd headers before allocating: the reference implementation caps them at 100 MB. */
const MAX_HEADER_BYTES = 100_000_000;

export class SafetensorsFile implements TensorSource {
  private readonly fd: number;
  private readonly entries = new Map<string, HeaderEntry>();
  private readonly dataStart: number = 0;
  readonly metadata: Record<string, string> = {};

  constructor(readonly path: string) {
    this.fd = fs.openSync(path, 'r');
    try {
      const fileSize = fs.fstatSync(this.fd).size;
      const fail = (why: string): never => {
        throw new Error(`${path}: not a valid safetensors file (${why})`);
      };
      if (fileSize < 8) fail(`only ${fileSize} bytes long`);
      const lenBuf = Buffer.alloc(8);
      fs.readSync(this.fd, lenBuf, 0, 8, 0);
      const headerLen = Number(lenBuf.readBigUInt64LE(0));
      if (headerLen > MAX_HEADER_BYTES || 8 + headerLen > fileSize) {
        fail(`header claims ${headerLen} bytes but the file has ${fileSize}; the file is truncated or not safetensors`);
      }
      const headerBuf = Buffer.alloc(headerLen);
      fs.readSync(this.fd, headerBuf, 0, headerLen, 8);
      let header: Record<string, unknown>;
      try {
        header = JSON.parse(headerBuf.toString('utf8'));
      } catch {
        return fail('its JSON header does not parse');
      }
      if (typeof header !== 'object' || header === null || Array.isArray(header)) fail('header is not a JSON object');
      this.dataStart = 8 + headerLen;
      const dataSize = fileSize - this.dataStart;
      this.metadata = (header.__metadata__ as Record<string, string>) ?? {};
      for (const [name, raw] of Object.entries(header)) {
        if (name === '__metadata__') continue;
        const e = raw as HeaderEntry;
        if (!e || !(e.dtype in DTYPE_BYTES) || !Array.isArray(e.shape) || !Array.isArray(e.data_offsets)) {
          fail(`tensor "${name}" has a malformed entry ${JSON.stringify(raw)}`);
        }
        const [begin, end] = e.data_offsets;
        const need = elementCount(e.shape) * DTYPE_BYTES[e.dtype];
        if (end - begin !== need) fail(`tensor "${name}" spans ${end - begin} bytes but shape ${JSON.stringify(e.shape)} ${e.dtype} needs ${need}`);
        if (end > dataSize) fail(`tensor "${name}" ends at byte ${end} of the data but the data has only ${dataSize}; the file is truncated`);
        this.entries.set(name, e);
      }
    } catch (err) {
      fs.closeSync(this.fd);
      throw err;
    }
  }

  list(): StoredTensor[] {
    return [...this.entries].map(([name, e]) => ({ name, dtype: e.dtype, shape: e.shape }));
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  read(name: string): Float32Array {
    const e = this.entries.get(name);
    if (!e) throw new Error(`${this.path}: no tensor named "${name}"`);
    const [begin, end] = e.data_offsets;
    const bytes = new Uint8Array(end - begin);
    let done = 0;
    while (done < bytes.length) {
      const n = fs.readSync(this.fd, bytes, done, bytes.length - done, this.dataStart + begin + done);
      if (n === 0) throw new Error(`${this.path}: tensor "${name}" is cut short; the file is truncated`);
      done += n;
    }
    return toFloat32(bytes, e.dtype, elementCount(e.shape));
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}

/** `model.safetensors.index.json`: a weight map from tensor name to shard file. */
export class ShardedSafetensors implements TensorSource {
  private readonly shards = new Map<string, SafetensorsFile>();
  private readonly owner = new Map<string, SafetensorsFile>();

  constructor(readonly path: string) {
    let index: { weight_map?: Record<string, string> };
    try {
      index = JSON.parse(fs.readFileSync(path, 'utf8'));
    } catch (err) {
      throw new Error(`${path}: cannot read the shard index (${(err as Error).message})`);
    }
    if (!index.weight_map || typeof index.weight_map !== 'object') throw new Error(`${path}: has no "weight_map"`);
    const dir = nodePath.dirname(path);
    try {
      for (const [name, file] of Object.entries(index.weight_map)) {
        if (nodePath.basename(file) !== file) throw new Error(`${this.path}: shard "${file}" must be a file name in the same folder`);
        let shard = this.shards.get(file);
        if (!shard) {
          const shardPath = nodePath.join(dir, file);
          if (!fs.existsSync(shardPath)) throw new Error(`${this.path}: shard ${file} is listed but missing`);
          shard = new SafetensorsFile(shardPath);
          this.shards.set(file, shard);
        }
        if (!shard.has(name)) throw new Error(`${this.path}: says "${name}" is in ${file}, but it is not there`);
        this.owner.set(name, shard);
      }
    } catch (err) {
      this.close();
      throw err;
    }
  }

  list(): StoredTensor[] {
    return [...this.shards.values()].flatMap((s) => s.list()).filter((t) => this.owner.has(t.name));
  }

  read(name: string): Float32Array {
    const shard = this.owner.get(name);
    if (!shard) throw new Error(`${this.path}: no tensor named "${name}"`);
    return shard.read(name);
  }

  close(): void {
    for (const s of this.shards.values()) s.close();
  }
}

export interface TensorToWrite {
  name: string;
  shape: readonly number[];
  data: Float32Array;
}

/**
 * Writes float32 tensors as safetensors the way the reference implementation does:
 * tensors in name order, header padded with spaces so the data starts 8-byte aligned.
 * Written to a temporary file and renamed, so a crash never leaves a half-written file
 * under the real name.
 */
export function writeSafetensors(file: string, tensors: readonly TensorToWrite[], metadata: Record<string, string> = {}): void {
  const sorted = [...tensors].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  for (const t of sorted) {
    if (t.data.length !== elementCount(t.shape)) {
      throw new Error(`tensor "${t.name}" has ${t.data.length} values but shape ${JSON.stringify(t.shape)}`);
    }
    if (t.name in header) throw new Error(`tensor "${t.name}" is given twice`);
    header[t.name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const headerBytes = Buffer.from(json, 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(headerBytes.length));

  writeFileAtomically(file, (write) => {
    write(len);
    write(headerBytes);
    // float32 on disk is little-endian, as are all platforms Tunesmith ships on.
    for (const t of sorted) write(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  });
}
