import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import zlib from 'node:zlib';
import { SafetensorsFile } from '../core/checkpoint/safetensors';
import { gatherStrided, TorchCheckpoint } from '../core/checkpoint/torch-bin';
import { ZipReader } from '../core/checkpoint/zip';
import { FIXTURES } from './helpers';

const LEGACY_BIN = path.join(FIXTURES, 'gpt2-tiny-legacy/pytorch_model.bin');
const SAFETENSORS = path.join(FIXTURES, 'gpt2-tiny/model.safetensors');

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tunesmith-torch-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

// ---- a stored/deflated zip writer, optionally with every size and offset in ZIP64 fields ----

interface ZipInput {
  name: string;
  data: Uint8Array;
  deflate?: boolean;
}

function writeZip(file: string, inputs: readonly ZipInput[], { zip64 = false } = {}): void {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const { name, data, deflate } of inputs) {
    const nameBytes = Buffer.from(name, 'utf8');
    const packed = deflate ? zlib.deflateRawSync(data) : Buffer.from(data);
    const crc = zlib.crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(zip64 ? 45 : 20, 4);
    local.writeUInt16LE(deflate ? 8 : 0, 8);
    local.writeUInt16LE(0x21, 12); // 1980-01-01
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(packed.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    parts.push(local, nameBytes, packed);

    const extra = Buffer.alloc(zip64 ? 28 : 0);
    if (zip64) {
      extra.writeUInt16LE(1, 0);
      extra.writeUInt16LE(24, 2);
      extra.writeBigUInt64LE(BigInt(data.length), 4);
      extra.writeBigUInt64LE(BigInt(packed.length), 12);
      extra.writeBigUInt64LE(BigInt(offset), 20);
    }
    const cd = Buffer.alloc(46);
    cd.writeUInt32LE(0x02014b50, 0);
    cd.writeUInt16LE(zip64 ? 45 : 20, 4);
    cd.writeUInt16LE(zip64 ? 45 : 20, 6);
    cd.writeUInt16LE(deflate ? 8 : 0, 10);
    cd.writeUInt16LE(0x21, 14);
    cd.writeUInt32LE(crc, 16);
    cd.writeUInt32LE(zip64 ? 0xffffffff : packed.length, 20);
    cd.writeUInt32LE(zip64 ? 0xffffffff : data.length, 24);
    cd.writeUInt16LE(nameBytes.length, 28);
    cd.writeUInt16LE(extra.length, 30);
    cd.writeUInt32LE(zip64 ? 0xffffffff : offset, 42);
    central.push(cd, nameBytes, extra);
    offset += local.length + nameBytes.length + packed.length;
  }
  const cdBytes = Buffer.concat(central);
  const tail: Buffer[] = [];
  if (zip64) {
    const record = Buffer.alloc(56);
    record.writeUInt32LE(0x06064b50, 0);
    record.writeBigUInt64LE(44n, 4);
    record.writeUInt16LE(45, 12);
    record.writeUInt16LE(45, 14);
    record.writeBigUInt64LE(BigInt(inputs.length), 24);
    record.writeBigUInt64LE(BigInt(inputs.length), 32);
    record.writeBigUInt64LE(BigInt(cdBytes.length), 40);
    record.writeBigUInt64LE(BigInt(offset), 48);
    const locator = Buffer.alloc(20);
    locator.writeUInt32LE(0x07064b50, 0);
    locator.writeBigUInt64LE(BigInt(offset + cdBytes.length), 8);
    locator.writeUInt32LE(1, 16);
    tail.push(record, locator);
  }
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(zip64 ? 0xffff : inputs.length, 8);
  eocd.writeUInt16LE(zip64 ? 0xffff : inputs.length, 10);
  eocd.writeUInt32LE(zip64 ? 0xffffffff : cdBytes.length, 12);
  eocd.writeUInt32LE(zip64 ? 0xffffffff : offset, 16);
  fs.writeFileSync(file, Buffer.concat([...parts, cdBytes, ...tail, eocd]));
}

/** A torch-style checkpoint: the pickle plus one raw entry per storage key. */
function writeCheckpoint(file: string, pickle: Uint8Array, storages: Record<string, Uint8Array> = {}): string {
  writeZip(file, [
    { name: 'archive/data.pkl', data: pickle },
    ...Object.entries(storages).map(([key, data]) => ({ name: `archive/data/${key}`, data })),
  ]);
  return file;
}

// ---- a tiny pickle assembler, protocol 2 as torch.save writes it ----

const op = (...codes: number[]) => Buffer.from(codes);
const PROTO2 = op(0x80, 2);
const MARK = op(0x28);
const EMPTY_DICT = op(0x7d);
const EMPTY_TUPLE = op(0x29);
const TUPLE = op(0x74);
const SETITEMS = op(0x75);
const REDUCE = op(0x52);
const BUILD = op(0x62);
const BINPERSID = op(0x51);
const NEWFALSE = op(0x89);
const STOP = op(0x2e);
const int1 = (n: number) => op(0x4b, n);
const global = (module: string, name: string) => Buffer.from(`c${module}\n${name}\n`, 'latin1');
const unicode = (s: string) => {
  const body = Buffer.from(s, 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32LE(body.length);
  return Buffer.concat([op(0x58), len, body]);
};
const tuple = (...items: Buffer[]) => Buffer.concat([MARK, ...items, TUPLE]);
const orderedDict = () => Buffer.concat([global('collections', 'OrderedDict'), EMPTY_TUPLE, REDUCE]);

function tensor(storageType: string, key: string, numel: number, offset: number, shape: number[], stride: number[]): Buffer {
  return Buffer.concat([
    global('torch._utils', '_rebuild_tensor_v2'),
    tuple(
      tuple(unicode('storage'), global('torch', storageType), unicode(key), unicode('cpu'), int1(numel)),
      BINPERSID,
      int1(offset),
      tuple(...shape.map(int1)),
      tuple(...stride.map(int1)),
      NEWFALSE,
      orderedDict(),
    ),
    REDUCE,
  ]);
}

const f32 = (values: number[]) => new Uint8Array(new Float32Array(values).buffer);

describe('TorchCheckpoint', () => {
  it('reads every tensor of the fixture .bin exactly as the safetensors copy holds it', () => {
    const bin = new TorchCheckpoint(LEGACY_BIN);
    const ref = new SafetensorsFile(SAFETENSORS);
    try {
      const refTensors = new Map(ref.list().map((t) => [t.name, t]));
      const masks: string[] = [];
      for (const t of bin.list()) {
        const twin = refTensors.get(`transformer.${t.name}`);
        if (!twin) {
          masks.push(t.name);
          continue;
        }
        refTensors.delete(twin.name);
        assert.deepEqual(t.shape, twin.shape, t.name);
        assert.equal(t.dtype, twin.dtype, t.name);
        assert.deepEqual(bin.read(t.name), ref.read(twin.name), t.name);
      }
      assert.deepEqual([...refTensors.keys()], [], 'tensors missing from the .bin');
      assert.deepEqual(masks, ['h.0.attn.bias', 'h.1.attn.bias']);
      const mask = bin.read('h.0.attn.bias');
      assert.equal(mask.length, 128 * 128);
      for (let i = 0; i < 128; i++) for (let j = 0; j < 128; j++) assert.equal(mask[i * 128 + j], j <= i ? 1 : 0);
    } finally {
      bin.close();
      ref.close();
    }
  });

  it('reads the same checkpoint repacked as ZIP64 with a deflated pickle under another folder name', () => {
    const original = fs.openSync(LEGACY_BIN, 'r');
    const inputs: ZipInput[] = [];
    try {
      const zip = new ZipReader(original, LEGACY_BIN);
      for (const e of zip.entries()) {
        inputs.push({ name: e.name.replace(/^pytorch_model\//, 'renamed/'), data: zip.readAll(e), deflate: e.name.endsWith('.pkl') });
      }
    } finally {
      fs.closeSync(original);
    }
    const repacked = path.join(tmp, 'repacked.bin');
    writeZip(repacked, inputs, { zip64: true });
    const a = new TorchCheckpoint(LEGACY_BIN);
    const b = new TorchCheckpoint(repacked);
    try {
      assert.deepEqual(b.list(), a.list());
      for (const t of a.list()) assert.deepEqual(b.read(t.name), a.read(t.name), t.name);
    } finally {
      a.close();
      b.close();
    }
  });

  it('reads strided views, storage offsets, parameters, half storages and an OrderedDict with _metadata', () => {
    const storage = Array.from({ length: 12 }, (_, i) => i * 1.5);
    const half = new Uint8Array(new Uint16Array([0x3c00, 0xc000, 0x3800]).buffer); // 1, -2, 0.5
    const pickle = Buffer.concat([
      PROTO2,
      orderedDict(),
      MARK,
      unicode('transposed'),
      tensor('FloatStorage', '0', 12, 2, [2, 3], [1, 2]),
      unicode('expanded'),
      tensor('FloatStorage', '0', 12, 5, [2, 2], [0, 1]),
      unicode('param'),
      global('torch._utils', '_rebuild_parameter'),
      tuple(tensor('FloatStorage', '0', 12, 10, [2], [1]), NEWFALSE, orderedDict()),
      REDUCE,
      unicode('half'),
      tensor('HalfStorage', 'h', 3, 1, [2], [1]),
      SETITEMS,
      EMPTY_DICT,
      MARK,
      unicode('_metadata'),
      EMPTY_DICT,
      SETITEMS,
      BUILD,
      STOP,
    ]);
    const file = writeCheckpoint(path.join(tmp, 'strided.bin'), pickle, { '0': f32(storage), h: half });
    const ckpt = new TorchCheckpoint(file);
    try {
      assert.deepEqual(ckpt.list(), [
        { name: 'transposed', dtype: 'F32', shape: [2, 3] },
        { name: 'expanded', dtype: 'F32', shape: [2, 2] },
        { name: 'param', dtype: 'F32', shape: [2] },
        { name: 'half', dtype: 'F16', shape: [2] },
      ]);
      const s = (i: number) => storage[i];
      assert.deepEqual([...ckpt.read('transposed')], [s(2), s(4), s(6), s(3), s(5), s(7)]);
      assert.deepEqual([...ckpt.read('expanded')], [s(5), s(6), s(5), s(6)]);
      assert.deepEqual([...ckpt.read('param')], [s(10), s(11)]);
      assert.deepEqual([...ckpt.read('half')], [-2, 0.5]);
    } finally {
      ckpt.close();
    }
  });

  it('gathers a permuted 3-D view', () => {
    const src = Float32Array.from({ length: 24 }, (_, i) => i); // contiguous [2, 3, 4]
    const permuted = gatherStrided(src, [4, 2, 3], [1, 12, 4]); // .permute(2, 0, 1)
    const expected: number[] = [];
    for (let k = 0; k < 4; k++) for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) expected.push(i * 12 + j * 4 + k);
    assert.deepEqual([...permuted], expected);
  });

  it('refuses a view that reaches past its storage', () => {
    const pickle = Buffer.concat([PROTO2, EMPTY_DICT, MARK, unicode('w'), tensor('FloatStorage', '0', 12, 8, [2, 3], [1, 2]), SETITEMS, STOP]);
    const file = writeCheckpoint(path.join(tmp, 'overrun.bin'), pickle, { '0': f32(new Array(12).fill(0)) });
    assert.throws(() => new TorchCheckpoint(file), (err: Error) => err.message.startsWith(file) && /"w".*reaches past the 12 values/.test(err.message));
  });

  describe('refuses pickles that name a Python global outside the allow-list, running nothing', () => {
    const marker = path.join(tmp, 'pwned');
    const attacks: [string, string, Buffer][] = [
      ['GLOBAL', 'os.system', Buffer.from(`cos\nsystem\n(S'touch ${marker}'\ntR.`, 'latin1')],
      [
        'STACK_GLOBAL',
        'builtins.eval',
        Buffer.concat([
          op(0x80, 4),
          op(0x8c, 8), Buffer.from('builtins'),
          op(0x8c, 4), Buffer.from('eval'),
          op(0x93),
          unicode(`__import__('os').system('touch ${marker}')`),
          op(0x85),
          REDUCE,
          STOP,
        ]),
      ],
      ['GLOBAL after a valid tensor', 'subprocess.Popen', Buffer.concat([
        PROTO2, EMPTY_DICT, MARK, unicode('w'), tensor('FloatStorage', '0', 1, 0, [1], [1]),
        unicode('x'), global('subprocess', 'Popen'), tuple(unicode('touch'), unicode(marker)), REDUCE, SETITEMS, STOP,
      ])],
      ['GLOBAL in a BUILD state', '__builtin__.getattr', Buffer.concat([
        PROTO2, orderedDict(), global('__builtin__', 'getattr'), BUILD, STOP,
      ])],
      // Audit 1.19: OBJ, the protocol-1 way to call a global.
      ['OBJ', 'os.system', Buffer.concat([PROTO2, MARK, global('os', 'system'), unicode(`touch ${marker}`), op(0x6f), STOP])],
    ];
    for (const [how, qualname, pickle] of attacks) {
      it(`${qualname} via ${how}`, () => {
        const file = writeCheckpoint(path.join(tmp, `evil-${qualname}.bin`), pickle, { '0': f32([1]) });
        assert.throws(
          () => new TorchCheckpoint(file),
          (err: Error) =>
            err.message ===
            `${file}: refusing to load: it names the Python global "${qualname}", which is not a tensor or ordered dict ` +
              '(a .bin file can run code when loaded by Python; Tunesmith never runs it)',
        );
        assert.equal(fs.existsSync(marker), false);
      });
    }
  });

  it('refuses INST (audit 1.18, with a BINUNICODE argument so the opcode itself is reached), running nothing', () => {
    const marker = path.join(tmp, 'pwned-inst');
    const pickle = Buffer.concat([PROTO2, MARK, unicode(`touch ${marker}`), Buffer.from('ios\nsystem\n', 'latin1'), STOP]);
    const file = writeCheckpoint(path.join(tmp, 'evil-inst.bin'), pickle, { '0': f32([1]) });
    const at = pickle.indexOf(Buffer.from('ios\n', 'latin1'));
    assert.throws(() => new TorchCheckpoint(file), (err: Error) => err.message === `${file}: cannot read its data.pkl: unsupported pickle opcode 0x69 at byte ${at} (not one torch.save writes)`);
    assert.equal(fs.existsSync(marker), false);
  });

  it('names the file when the .bin is truncated', () => {
    const cut = path.join(tmp, 'truncated.bin');
    const whole = fs.readFileSync(LEGACY_BIN);
    fs.writeFileSync(cut, whole.subarray(0, whole.length >> 1));
    assert.throws(() => new TorchCheckpoint(cut), (err: Error) => err.message.startsWith(`${cut}: `) && /truncated/.test(err.message));
  });

  it('rejects the legacy pre-1.6 format, non-zip files and nested training checkpoints clearly', () => {
    const legacy = path.join(tmp, 'legacy.bin');
    fs.writeFileSync(legacy, Buffer.from([0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e]));
    assert.throws(() => new TorchCheckpoint(legacy), { message: `${legacy}: legacy torch format, re-save with torch >= 1.6 or convert to safetensors` });

    const text = path.join(tmp, 'notes.bin');
    fs.writeFileSync(text, 'definitely not a checkpoint\n'.repeat(10));
    assert.throws(() => new TorchCheckpoint(text), (err: Error) => err.message.startsWith(`${text}: not a zip archive`));

    const nested = writeCheckpoint(
      path.join(tmp, 'nested.bin'),
      Buffer.concat([PROTO2, EMPTY_DICT, MARK, unicode('state_dict'), EMPTY_DICT, SETITEMS, STOP]),
    );
    assert.throws(() => new TorchCheckpoint(nested), (err: Error) => err.message.startsWith(`${nested}: "state_dict" holds a nested dict`));
  });
});
