/**
 * The op table of the scenario format (DESIGN §5) as data: for every op of ALL_OPS, the fields it
 * takes, which of them are required, how each is parsed, and what kind of name its `as` produces.
 * validate.ts walks this table; nothing here runs anything.
 */
import type { OpName } from './types.js';

/**
 * How a field's value is read:
 * - `size` / `time`: parseSize / parseTime (clock.ts); `addr`: an integer address or an address name;
 * - `name:*`: the `as` of an op of that kind; `file` / `device`: a key of `files` / `devices`;
 * - `flags`: an array of words from `values`; `enum`: one word of `values`; `bool`;
 * - `ops`: a nested op list (setlease.onBreak); `target`: a size or the word `"buffers"` (reclaim);
 * - `op`: the op word itself; `as`: a new name.
 */
export type FieldKind =
  | 'op' | 'as' | 'size' | 'time' | 'addr' | 'name:mr' | 'name:pins' | 'name:mirror' | 'name:wr'
  | 'file' | 'device' | 'flags' | 'enum' | 'bool' | 'ops' | 'target';

export interface FieldSpec {
  readonly kind: FieldKind;
  /** The words of a `flags` or `enum` field. */
  readonly values?: readonly string[];
  readonly required?: boolean;
  /** Filled in by validation when the field is left out (`flags` fields always default to `[]`). */
  readonly default?: number;
}

/** What an op's `as` names. A device op posted with `wait: false` also names a `wr` (see poll). */
export type NameKind = 'address' | 'mr' | 'pins' | 'mirror' | 'process' | 'write' | 'read' | 'result';
/** The kinds a reference can demand: the produced kinds plus `wr`. */
export type RefKind = NameKind | 'wr';

export interface OpSchema {
  readonly fields: Readonly<Record<string, FieldSpec>>;
  readonly produces: NameKind;
  /** A device op: takes `wait`, and with `wait: false` its `as` is a `wr` that `poll` waits for. */
  readonly device: boolean;
}

/** The name kind a reference field demands. */
export const REF_KIND: Readonly<Partial<Record<FieldKind, RefKind>>> = {
  addr: 'address', 'name:mr': 'mr', 'name:pins': 'pins', 'name:mirror': 'mirror', 'name:wr': 'wr',
};

export const PROT_VALUES = ['none', 'r', 'rw', 'rx', 'rwx'] as const;
export const FS_VALUES = ['ext4', 'xfs', 'tmpfs'] as const;
export const MMAP_FLAGS = ['shared', 'private', 'populate', 'fixed'] as const;
export const MREMAP_FLAGS = ['maymove', 'fixed'] as const;
export const MSYNC_FLAGS = ['sync', 'async', 'invalidate'] as const;
export const GUP_FLAGS = ['get', 'pin', 'longterm', 'write', 'force'] as const;
export const MADVISE_ADVICE = ['dontneed', 'free', 'remove', 'dontfork', 'dofork'] as const;
export const ADVISE_MR_ADVICE = ['prefetch', 'prefetch_write', 'prefetch_no_fault'] as const;
export const LEASE_TYPES = ['read', 'write', 'layout'] as const;
export const ON_SIGNAL = ['die', 'continue'] as const;

const COMMON: Readonly<Record<string, FieldSpec>> = {
  op: { kind: 'op', required: true },
  at: { kind: 'time' },
  after: { kind: 'time' },
  as: { kind: 'as' },
};

const size: FieldSpec = { kind: 'size' };
const sizeReq: FieldSpec = { kind: 'size', required: true };
/** An offset the op type requires (within an MR, a mirror or a file): 0 when left out. */
const offset0: FieldSpec = { kind: 'size', default: 0 };
const addrReq: FieldSpec = { kind: 'addr', required: true };
const fileReq: FieldSpec = { kind: 'file', required: true };
const deviceReq: FieldSpec = { kind: 'device', required: true };
const mrReq: FieldSpec = { kind: 'name:mr', required: true };
const mirrorReq: FieldSpec = { kind: 'name:mirror', required: true };
const protReq: FieldSpec = { kind: 'enum', values: PROT_VALUES, required: true };
const flags = (values: readonly string[]): FieldSpec => ({ kind: 'flags', values });
const enumReq = (values: readonly string[]): FieldSpec => ({ kind: 'enum', values, required: true });

/** An addr range: `addr` + `offset`, `length`. */
const range = { addr: addrReq, offset: size, length: sizeReq } as const;
/** A range inside an MR, a mirror or a file. */
const inner = { offset: offset0, length: sizeReq } as const;

function op(produces: NameKind, fields: Record<string, FieldSpec>, opts: { device?: boolean; signal?: boolean } = {}): OpSchema {
  const all: Record<string, FieldSpec> = { ...COMMON, ...fields };
  if (opts.device) all['wait'] = { kind: 'bool' };
  if (opts.signal) all['onSignal'] = { kind: 'enum', values: ON_SIGNAL };
  return { fields: all, produces, device: opts.device ?? false };
}

const dev = { device: true } as const;
const cpu = { signal: true } as const;

export const OP_SCHEMA: Readonly<Record<OpName, OpSchema>> = {
  // process ops; mmap's `offset` is the file offset, as in mmap(2), not added to `addr`
  mmap: op('address', { file: { kind: 'file' }, addr: { kind: 'addr' }, length: sizeReq, prot: protReq, flags: flags(MMAP_FLAGS), offset: size }),
  munmap: op('result', range),
  mremap: op('address', { ...range, newLength: sizeReq, flags: flags(MREMAP_FLAGS), newAddr: { kind: 'addr' } }),
  madvise: op('result', { ...range, advice: enumReq(MADVISE_ADVICE) }),
  mprotect: op('result', { ...range, prot: protReq }),
  fork: op('process', {}),
  exit: op('result', {}),
  load: op('read', range, cpu),
  store: op('write', range, cpu),
  msync: op('result', { ...range, flags: flags(MSYNC_FLAGS) }),
  ftruncate: op('result', { file: fileReq, length: sizeReq }),
  truncate: op('result', { file: fileReq, length: sizeReq }),
  fallocate: op('result', { file: fileReq, mode: enumReq(['punch_hole']), ...inner }),
  fsync: op('result', { file: fileReq }),
  pread: op('read', { file: fileReq, ...inner }),
  pwrite: op('write', { file: fileReq, ...inner }),
  drop_caches: op('result', {}),
  setlease: op('result', { file: fileReq, type: enumReq(LEASE_TYPES), onBreak: { kind: 'ops' } }),
  sleep: op('result', { duration: { kind: 'time', required: true } }),
  // kernel GUP users
  gup: op('pins', { ...range, flags: flags(GUP_FLAGS) }),
  unpin: op('result', { pins: { kind: 'name:pins', required: true }, dirty: { kind: 'bool' } }),
  pin_read: op('read', { pins: { kind: 'name:pins', required: true }, ...inner }),
  pin_write: op('write', { pins: { kind: 'name:pins', required: true }, ...inner }),
  // device ops; poll waits by itself, so it takes no `wait`
  reg_mr: op('mr', { device: deviceReq, ...range, access: enumReq(['r', 'rw']) }, dev),
  dereg_mr: op('result', { mr: mrReq }, dev),
  dma_read: op('read', { mr: mrReq, ...inner }, dev),
  dma_write: op('write', { mr: mrReq, ...inner }, dev),
  poll: op('result', { wr: { kind: 'name:wr', required: true } }),
  advise_mr: op('result', { mr: mrReq, advice: enumReq(ADVISE_MR_ADVICE), ...inner, flush: { kind: 'bool' } }, dev),
  mirror: op('mirror', { device: deviceReq, ...range }, dev),
  unmirror: op('result', { mirror: mirrorReq }, dev),
  gpu_read: op('read', { mirror: mirrorReq, ...inner }, dev),
  gpu_write: op('write', { mirror: mirrorReq, ...inner }, dev),
  migrate_to_device: op('result', { mirror: mirrorReq, ...inner }, dev),
  migrate_to_host: op('result', { mirror: mirrorReq, ...inner }, dev),
  make_exclusive: op('read', { mirror: mirrorReq, ...inner }, dev),
  check_exclusive: op('result', { mirror: mirrorReq, ...inner }, dev),
  snapshot: op('read', { mirror: mirrorReq, ...inner }, dev),
  // kernel background work as ops
  writeback_now: op('result', { file: { kind: 'file' } }),
  reclaim: op('result', { target: { kind: 'target', required: true } }),
  migrate: op('result', range),
};
