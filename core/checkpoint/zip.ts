// A read-only ZIP reader for torch checkpoints. It works from the central directory at
// the end of the file and reads entries with positioned reads, because checkpoints run
// past 4 GiB (hence ZIP64) and must never be loaded whole.
import fs from 'node:fs';
import zlib from 'node:zlib';

export interface ZipEntry {
  name: string;
  /** 0 = stored, 8 = deflate. */
  method: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

const EOCD_SIG = 0x06054b50;
const EOCD_LEN = 22;
const ZIP64_LOCATOR_SIG = 0x07064b50;
const ZIP64_LOCATOR_LEN = 20;
const ZIP64_EOCD_SIG = 0x06064b50;
const CENTRAL_SIG = 0x02014b50;
const LOCAL_SIG = 0x04034b50;
const ZIP64_EXTRA_ID = 0x0001;
const MAX_COMMENT = 0xffff;

/** readAll is for metadata entries (the pickle, version files), never tensor data. */
const MAX_WHOLE_ENTRY = 1 << 30;
/** fs.readSync refuses lengths of 2 GiB and more, so big reads go in chunks. */
const READ_CHUNK = 1 << 30;

export class ZipReader {
  private readonly byName = new Map<string, ZipEntry>();
  private readonly dataStarts = new Map<ZipEntry, number>();
  private readonly fileSize: number;

  /** The caller owns `fd`; `path` only names the file in errors. */
  constructor(
    private readonly fd: number,
    readonly path: string,
  ) {
    this.fileSize = fs.fstatSync(fd).size;
    const eocd = this.findEndOfCentralDirectory();
    let count = eocd.readUInt16LE(10);
    let cdSize = eocd.readUInt32LE(12);
    let cdOffset = eocd.readUInt32LE(16);
    const eocdPos = this.fileSize - eocd.length;
    const zip64 = this.readZip64End(eocdPos);
    if (zip64) ({ count, cdSize, cdOffset } = zip64);
    const cdEnd = zip64 ? zip64.recordPos : eocdPos;
    if (cdOffset + cdSize > cdEnd) this.fail(`its central directory (${cdSize} bytes at ${cdOffset}) runs past where it should end; the file is truncated or damaged`);
    this.parseCentralDirectory(this.read(cdOffset, cdSize), count, cdOffset);
  }

  entries(): ZipEntry[] {
    return [...this.byName.values()];
  }

  get(name: string): ZipEntry | undefined {
    return this.byName.get(name);
  }

  /** Bytes [start, start + length) of a stored entry, without reading the rest. */
  readRange(entry: ZipEntry, start: number, length: number): Uint8Array {
    if (entry.method !== 0) this.fail(`entry "${entry.name}" is compressed (method ${entry.method}), so it cannot be read piecewise`);
    if (start < 0 || length < 0 || start + length > entry.size) {
      this.fail(`bytes ${start}..${start + length} asked of entry "${entry.name}", which has ${entry.size}`);
    }
    return this.read(this.dataStart(entry) + start, length);
  }

  /** A whole entry, stored or deflated. */
  readAll(entry: ZipEntry): Uint8Array {
    if (entry.size > MAX_WHOLE_ENTRY || entry.compressedSize > MAX_WHOLE_ENTRY) {
      this.fail(`entry "${entry.name}" is ${entry.size} bytes, too big to read whole`);
    }
    if (entry.method === 0) return this.readRange(entry, 0, entry.size);
    if (entry.method !== 8) this.fail(`entry "${entry.name}" uses unsupported compression method ${entry.method} (only stored and deflate are)`);
    const packed = this.read(this.dataStart(entry), entry.compressedSize);
    let out: Buffer;
    try {
      out = zlib.inflateRawSync(packed, { maxOutputLength: Math.max(entry.size, 1) });
    } catch (err) {
      return this.fail(`entry "${entry.name}" does not inflate (${(err as Error).message})`);
    }
    if (out.length !== entry.size) this.fail(`entry "${entry.name}" inflates to ${out.length} bytes, not the ${entry.size} recorded`);
    return out;
  }

  private fail(why: string): never {
    throw new Error(`${this.path}: ${why}`);
  }

  /** The EOCD sits at the very end unless a comment (at most 64 KiB) follows it. */
  private findEndOfCentralDirectory(): Buffer {
    if (this.fileSize < EOCD_LEN) this.fail(`not a zip archive (only ${this.fileSize} bytes long)`);
    const tailLen = Math.min(this.fileSize, EOCD_LEN + MAX_COMMENT);
    const tail = this.read(this.fileSize - tailLen, tailLen);
    for (let i = tailLen - EOCD_LEN; i >= 0; i--) {
      // The comment length must reach exactly to the end, or this is a stray signature.
      if (tail.readUInt32LE(i) === EOCD_SIG && i + EOCD_LEN + tail.readUInt16LE(i + 20) === tailLen) {
        return tail.subarray(i, i + EOCD_LEN);
      }
    }
    return this.fail(`not a zip archive, or truncated (no end-of-central-directory record in its last ${tailLen} bytes)`);
  }

  private readZip64End(eocdPos: number): { count: number; cdSize: number; cdOffset: number; recordPos: number } | undefined {
    const locatorPos = eocdPos - ZIP64_LOCATOR_LEN;
    if (locatorPos < 0) return undefined;
    const locator = this.read(locatorPos, ZIP64_LOCATOR_LEN);
    if (locator.readUInt32LE(0) !== ZIP64_LOCATOR_SIG) return undefined;
    const recordPos = this.u64(locator, 8, 'ZIP64 end-of-central-directory offset');
    if (recordPos + 56 > locatorPos) this.fail('its ZIP64 end-of-central-directory locator points past itself; the file is truncated or damaged');
    const record = this.read(recordPos, 56);
    if (record.readUInt32LE(0) !== ZIP64_EOCD_SIG) this.fail(`no ZIP64 end-of-central-directory record at byte ${recordPos}; the file is truncated or damaged`);
    return {
      count: this.u64(record, 32, 'entry count'),
      cdSize: this.u64(record, 40, 'central directory size'),
      cdOffset: this.u64(record, 48, 'central directory offset'),
      recordPos,
    };
  }

  private parseCentralDirectory(cd: Buffer, count: number, cdOffset: number): void {
    let p = 0;
    for (let i = 0; i < count; i++) {
      if (p + 46 > cd.length || cd.readUInt32LE(p) !== CENTRAL_SIG) this.fail(`central directory entry ${i} is damaged`);
      const flags = cd.readUInt16LE(p + 8);
      const nameLen = cd.readUInt16LE(p + 28);
      const extraLen = cd.readUInt16LE(p + 30);
      const commentLen = cd.readUInt16LE(p + 32);
      if (p + 46 + nameLen + extraLen + commentLen > cd.length) this.fail(`central directory entry ${i} is damaged`);
      // Torch writes ASCII names; other tools flag UTF-8 (bit 11), and CP437 is not worth supporting.
      const name = cd.toString('utf8', p + 46, p + 46 + nameLen);
      if (flags & 1) this.fail(`entry "${name}" is encrypted`);
      const entry: ZipEntry = {
        name,
        method: cd.readUInt16LE(p + 10),
        compressedSize: cd.readUInt32LE(p + 20),
        size: cd.readUInt32LE(p + 24),
        localHeaderOffset: cd.readUInt32LE(p + 42),
      };
      this.applyZip64Extra(entry, cd.subarray(p + 46 + nameLen, p + 46 + nameLen + extraLen));
      if (entry.localHeaderOffset + entry.compressedSize > cdOffset) {
        this.fail(`entry "${name}" runs past the start of the central directory; the file is damaged`);
      }
      this.byName.set(name, entry);
      p += 46 + nameLen + extraLen + commentLen;
    }
  }

  /** A 32-bit field of all ones means the real value is in the ZIP64 extra field, in this order. */
  private applyZip64Extra(entry: ZipEntry, extra: Buffer): void {
    const wanted = (['size', 'compressedSize', 'localHeaderOffset'] as const).filter((k) => entry[k] === 0xffffffff);
    if (!wanted.length) return;
    for (let p = 0; p + 4 <= extra.length; ) {
      const id = extra.readUInt16LE(p);
      const len = extra.readUInt16LE(p + 2);
      if (id === ZIP64_EXTRA_ID) {
        if (len < wanted.length * 8 || p + 4 + len > extra.length) break;
        wanted.forEach((k, j) => (entry[k] = this.u64(extra, p + 4 + j * 8, `ZIP64 ${k} of "${entry.name}"`)));
        return;
      }
      p += 4 + len;
    }
    this.fail(`entry "${entry.name}" needs a ZIP64 extra field but has none that fits`);
  }

  /** Data follows the local header, whose name and extra lengths may differ from the central copy. */
  private dataStart(entry: ZipEntry): number {
    let start = this.dataStarts.get(entry);
    if (start === undefined) {
      const header = this.read(entry.localHeaderOffset, 30);
      if (header.readUInt32LE(0) !== LOCAL_SIG) this.fail(`no local header for entry "${entry.name}" at byte ${entry.localHeaderOffset}; the file is damaged`);
      start = entry.localHeaderOffset + 30 + header.readUInt16LE(26) + header.readUInt16LE(28);
      if (start + entry.compressedSize > this.fileSize) this.fail(`entry "${entry.name}" is cut short; the file is truncated`);
      this.dataStarts.set(entry, start);
    }
    return start;
  }

  private u64(buf: Buffer, at: number, what: string): number {
    const v = buf.readBigUInt64LE(at);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) this.fail(`${what} ${v} is implausibly large; the file is damaged`);
    return Number(v);
  }

  private read(position: number, length: number): Buffer {
    if (position + length > this.fileSize) this.fail(`needs bytes up to ${position + length} but has only ${this.fileSize}; the file is truncated`);
    const buf = Buffer.alloc(length);
    for (let done = 0; done < length; ) {
      const n = fs.readSync(this.fd, buf, done, Math.min(length - done, READ_CHUNK), position + done);
      if (n === 0) this.fail(`ends at byte ${position + done}; the file is truncated`);
      done += n;
    }
    return buf;
  }
}
