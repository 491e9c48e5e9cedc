// A restricted unpickler for the data.pkl inside a torch checkpoint. Python's pickle
// runs whatever callables the file names, which is how a malicious .bin takes over a
// machine; this one only knows the opcodes torch.save emits and resolves globals
// against a fixed list of pure data constructors, so nothing in the file can run.
import type { StoredDType } from './tensor-source';

/** One storage in the archive: its raw bytes are the entry `<prefix>/data/<key>`. */
export class StorageRef {
  constructor(
    readonly key: string,
    readonly dtype: StoredDType,
    /** Length in elements of `dtype`. */
    readonly numel: number,
  ) {}
}

/** A tensor as a (possibly strided, offset) view of a storage, all counted in elements. */
export class TensorRef {
  constructor(
    readonly storage: StorageRef,
    readonly offset: number,
    readonly shape: number[],
    readonly stride: number[],
  ) {}
}

class StorageType {
  constructor(readonly dtype: StoredDType) {}
}

type Fail = (why: string) => never;

class PyCallable {
  constructor(
    readonly qualname: string,
    readonly call: (args: unknown[], fail: Fail) => unknown,
  ) {}
}

const STORAGE_DTYPES: Record<string, StoredDType> = {
  FloatStorage: 'F32',
  HalfStorage: 'F16',
  BFloat16Storage: 'BF16',
  DoubleStorage: 'F64',
  LongStorage: 'I64',
  IntStorage: 'I32',
  ShortStorage: 'I16',
  CharStorage: 'I8',
  ByteStorage: 'U8',
  BoolStorage: 'BOOL',
};

function isIndex(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function isIndexList(v: unknown): v is number[] {
  return Array.isArray(v) && v.every(isIndex);
}

// _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata]):
// requires_grad, hooks and metadata do not change the numbers, so they are dropped.
const rebuildTensor = new PyCallable('torch._utils._rebuild_tensor_v2', (args: unknown[], fail: Fail) => {
  const [storage, offset, shape, stride] = args;
  if (!(storage instanceof StorageRef) || !isIndex(offset) || !isIndexList(shape) || !isIndexList(stride) || shape.length !== stride.length) {
    fail(`a tensor is rebuilt from malformed arguments (storage ${String(storage)}, offset ${String(offset)}, size ${JSON.stringify(shape)}, stride ${JSON.stringify(stride)})`);
  }
  return new TensorRef(storage, offset, shape, stride);
});

// A Parameter is a tensor plus requires_grad (and, in the _with_state variant, Python
// attributes): only the tensor matters here.
const unwrapParameter = (qualname: string) =>
  new PyCallable(qualname, (args: unknown[], fail: Fail) => {
    if (!(args[0] instanceof TensorRef)) fail(`${qualname} is applied to something that is not a tensor`);
    return args[0];
  });

const ALLOWED_GLOBALS = new Map<string, PyCallable | StorageType>([
  ['collections.OrderedDict', new PyCallable('collections.OrderedDict', () => new Map())],
  ['torch._utils._rebuild_tensor_v2', rebuildTensor],
  ['torch._utils._rebuild_parameter', unwrapParameter('torch._utils._rebuild_parameter')],
  ['torch._utils._rebuild_parameter_with_state', unwrapParameter('torch._utils._rebuild_parameter_with_state')],
  ...Object.entries(STORAGE_DTYPES).map(([name, dtype]) => [`torch.${name}`, new StorageType(dtype)] as const),
]);

/** What torch's persistent_load would turn into a storage: ('storage', type, key, location, numel). */
function loadPersistent(pid: unknown, fail: Fail): StorageRef {
  if (!Array.isArray(pid) || pid[0] !== 'storage' || pid.length !== 5) fail(`unsupported persistent id ${JSON.stringify(pid)}`);
  const [, type, key, , numel] = pid;
  if (!(type instanceof StorageType) || typeof key !== 'string' || !isIndex(numel)) {
    fail(`malformed storage reference (key ${String(key)}, ${String(numel)} elements)`);
  }
  return new StorageRef(key, type.dtype, numel);
}

/**
 * Decodes a torch data.pkl. Dicts and OrderedDicts become Maps, lists and tuples arrays,
 * tensors TensorRefs. `file` names the checkpoint in errors.
 */
export function unpickleTorch(data: Uint8Array, file: string): unknown {
  const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  function fail(why: string): never {
    throw new Error(`${file}: cannot read its data.pkl: ${why}`);
  }
  let stack: unknown[] = [];
  const marks: unknown[][] = [];
  const memo = new Map<number, unknown>();
  let pos = 0;

  const take = (n: number): number => {
    if (pos + n > bytes.length) fail(`it ends in the middle of an opcode at byte ${pos}; the file is truncated or damaged`);
    const at = pos;
    pos += n;
    return at;
  };
  const pop = (): unknown => {
    if (!stack.length) fail(`stack underflow at byte ${pos}`);
    return stack.pop();
  };
  const top = (): unknown => {
    if (!stack.length) fail(`stack underflow at byte ${pos}`);
    return stack[stack.length - 1];
  };
  const popMark = (): unknown[] => {
    const items = stack;
    const outer = marks.pop();
    if (!outer) fail(`no MARK to pop at byte ${pos}`);
    stack = outer;
    return items;
  };
  const str = (n: number): string => bytes.toString('utf8', take(n), pos);
  const get = (i: number): unknown => {
    if (!memo.has(i)) fail(`memo entry ${i} is read before it is written`);
    return memo.get(i);
  };
  const resolve = (module: string, name: string): unknown => {
    const qualname = `${module}.${name}`;
    const found = ALLOWED_GLOBALS.get(qualname);
    if (!found) {
      throw new Error(
        `${file}: refusing to load: it names the Python global "${qualname}", which is not a tensor or ordered dict ` +
          '(a .bin file can run code when loaded by Python; Tunesmith never runs it)',
      );
    }
    return found;
  };
  const setItems = (dict: unknown, items: unknown[]): void => {
    if (!(dict instanceof Map)) fail(`SETITEM(S) on something that is not a dict at byte ${pos}`);
    if (items.length % 2) fail(`SETITEMS with an odd number of items at byte ${pos}`);
    for (let i = 0; i < items.length; i += 2) dict.set(items[i], items[i + 1]);
  };
  const append = (list: unknown, items: unknown[]): void => {
    if (!Array.isArray(list)) fail(`APPEND(S) on something that is not a list at byte ${pos}`);
    list.push(...items);
  };

  for (;;) {
    const opAt = pos;
    const op = bytes[take(1)];
    switch (op) {
      case 0x80: // PROTO
        if (bytes[take(1)] > 5) fail(`pickle protocol ${bytes[pos - 1]} is newer than 5`);
        break;
      case 0x95: // FRAME: frames only help streaming readers; the opcodes inside follow on.
        take(8);
        break;
      case 0x2e: // STOP
        if (stack.length !== 1 || marks.length) fail(`it stops with ${stack.length} values on the stack`);
        return stack[0];
      case 0x28: // MARK
        marks.push(stack);
        stack = [];
        break;
      case 0x7d: // EMPTY_DICT
        stack.push(new Map());
        break;
      case 0x5d: // EMPTY_LIST
        stack.push([]);
        break;
      case 0x29: // EMPTY_TUPLE
        stack.push([]);
        break;
      case 0x74: {
        // TUPLE (popMark swaps `stack`, so it must run before `stack.push` is looked up)
        const items = popMark();
        stack.push(items);
        break;
      }
      case 0x85: // TUPLE1
      case 0x86: // TUPLE2
      case 0x87: {
        // TUPLE3 (the opcodes are consecutive)
        const n = op - 0x84;
        if (stack.length < n) fail(`stack underflow at byte ${opAt}`);
        stack.push(stack.splice(stack.length - n, n));
        break;
      }
      case 0x61: {
        // APPEND
        const item = pop();
        append(top(), [item]);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark();
        append(top(), items);
        break;
      }
      case 0x73: {
        // SETITEM
        const value = pop();
        const key = pop();
        setItems(top(), [key, value]);
        break;
      }
      case 0x75: {
        // SETITEMS
        const items = popMark();
        setItems(top(), items);
        break;
      }
      case 0x71: // BINPUT
        memo.set(bytes[take(1)], top());
        break;
      case 0x72: // LONG_BINPUT
        memo.set(bytes.readUInt32LE(take(4)), top());
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x68: // BINGET
        stack.push(get(bytes[take(1)]));
        break;
      case 0x6a: // LONG_BINGET
        stack.push(get(bytes.readUInt32LE(take(4))));
        break;
      case 0x4a: // BININT
        stack.push(bytes.readInt32LE(take(4)));
        break;
      case 0x4b: // BININT1
        stack.push(bytes[take(1)]);
        break;
      case 0x4d: // BININT2
        stack.push(bytes.readUInt16LE(take(2)));
        break;
      case 0x8a: {
        // LONG1: little-endian two's complement; kept exact as a bigint when a double cannot hold it.
        const n = bytes[take(1)];
        const at = take(n);
        let v = 0n;
        for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[at + i]);
        if (n && bytes[at + n - 1] & 0x80) v -= 1n << BigInt(8 * n);
        stack.push(v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);
        break;
      }
      case 0x47: // BINFLOAT
        stack.push(bytes.readDoubleBE(take(8)));
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x58: // BINUNICODE
        stack.push(str(bytes.readUInt32LE(take(4))));
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.push(str(bytes[take(1)]));
        break;
      case 0x8d: {
        // BINUNICODE8
        const n = bytes.readBigUInt64LE(take(8));
        if (n > BigInt(bytes.length)) fail(`a string claims ${n} bytes; the file is damaged`);
        stack.push(str(Number(n)));
        break;
      }
      case 0x43: // SHORT_BINBYTES
        stack.push(new Uint8Array(bytes.subarray(take(bytes[take(1)]), pos)));
        break;
      case 0x42: // BINBYTES
        stack.push(new Uint8Array(bytes.subarray(take(bytes.readUInt32LE(take(4))), pos)));
        break;
      case 0x63: {
        // GLOBAL: "module\nname\n"
        const line = (): string => {
          const end = bytes.indexOf(0x0a, pos);
          if (end < 0) fail(`unterminated GLOBAL at byte ${opAt}`);
          return str(end - pos + 1).slice(0, -1);
        };
        const module = line();
        stack.push(resolve(module, line()));
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail(`STACK_GLOBAL with non-string names at byte ${opAt}`);
        stack.push(resolve(module, name));
        break;
      }
      case 0x52: {
        // REDUCE: only the allow-listed constructors above, which build plain data.
        const args = pop();
        const callable = pop();
        if (!(callable instanceof PyCallable) || !Array.isArray(args)) fail(`REDUCE of something that cannot be called at byte ${opAt}`);
        stack.push(callable.call(args, fail));
        break;
      }
      case 0x62: {
        // BUILD: a state_dict is an OrderedDict carrying a `_metadata` attribute (module
        // versions) that does not affect the weights, so dict state is ignored.
        pop();
        if (!(top() instanceof Map)) fail(`BUILD on something other than a dict at byte ${opAt}`);
        break;
      }
      case 0x51: // BINPERSID
        stack.push(loadPersistent(pop(), fail));
        break;
      default:
        fail(`unsupported pickle opcode 0x${op.toString(16).padStart(2, '0')} at byte ${opAt} (not one torch.save writes)`);
    }
  }
}
