/**
 * Scenario types (DESIGN §5). Two forms:
 * - `ScenarioInput`: what users write (JSON, or the builder): sizes and times may be unit strings.
 * - `Scenario`: what validation produces and `runScenario` consumes: every size in bytes, every
 *   time in ns, every actor as `{ process, ops }`, every device as `{ model, params }`.
 * Names (`as`) and their references stay strings; an address field is a number or a name.
 */

export type SizeInput = number | string;
export type TimeInput = number | string;
export type Prot = 'none' | 'r' | 'rw' | 'rx' | 'rwx';
export type FsType = 'ext4' | 'xfs' | 'tmpfs';
/** An address: a number, or the `as` name of an op that produced an address (mmap, mremap). */
export type AddrRef = number | string;

/** Every op name of the contract (DESIGN §5), built yet or not. */
export const ALL_OPS = [
  // process ops
  'mmap', 'munmap', 'mremap', 'madvise', 'mprotect', 'fork', 'exit', 'load', 'store', 'msync',
  'ftruncate', 'truncate', 'fallocate', 'fsync', 'pread', 'pwrite', 'drop_caches', 'setlease', 'sleep',
  // kernel GUP users
  'gup', 'unpin', 'pin_read', 'pin_write',
  // device ops
  'reg_mr', 'dereg_mr', 'dma_read', 'dma_write', 'poll', 'advise_mr',
  'mirror', 'unmirror', 'gpu_read', 'gpu_write', 'migrate_to_device', 'migrate_to_host',
  'make_exclusive', 'check_exclusive', 'snapshot',
  // kernel background work as ops
  'writeback_now', 'reclaim', 'migrate',
] as const;
export type OpName = (typeof ALL_OPS)[number];

/** Fields every op may carry. */
export interface OpCommon {
  op: OpName;
  /** ns since the run started; a lower bound on the op's start. */
  at?: number;
  /** ns since the previous op of the actor completed. */
  after?: number;
  /** Names the op's result (an address, an MR, a write, an observation, ...). */
  as?: string;
  /** Device ops: `false` posts the op and lets the actor go on (`poll` waits for it). */
  wait?: boolean;
  /** load/store: `"continue"` keeps the process alive after SIGBUS/SIGSEGV. */
  onSignal?: 'die' | 'continue';
}

export interface MmapOp extends OpCommon { op: 'mmap'; file?: string; addr?: AddrRef; length: number; prot: Prot; flags: MmapFlag[]; /** file offset, as mmap(2)'s offset */ offset?: number }
export type MmapFlag = 'shared' | 'private' | 'populate' | 'fixed';
export interface AddrRangeOp extends OpCommon { addr: AddrRef; offset?: number; length: number }
export interface MunmapOp extends AddrRangeOp { op: 'munmap' }
export interface MremapOp extends AddrRangeOp { op: 'mremap'; newLength: number; flags: ('maymove' | 'fixed')[]; newAddr?: AddrRef }
export type Advice = 'dontneed' | 'free' | 'remove' | 'dontfork' | 'dofork';
export interface MadviseOp extends AddrRangeOp { op: 'madvise'; advice: Advice }
export interface MprotectOp extends AddrRangeOp { op: 'mprotect'; prot: Prot }
export interface ForkOp extends OpCommon { op: 'fork' }
export interface ExitOp extends OpCommon { op: 'exit' }
export interface LoadOp extends AddrRangeOp { op: 'load' }
export interface StoreOp extends AddrRangeOp { op: 'store' }
export interface MsyncOp extends AddrRangeOp { op: 'msync'; flags?: ('sync' | 'async' | 'invalidate')[] }
export interface TruncateOp extends OpCommon { op: 'ftruncate' | 'truncate'; file: string; length: number }
export interface FallocateOp extends OpCommon { op: 'fallocate'; file: string; mode: 'punch_hole'; offset: number; length: number }
export interface FsyncOp extends OpCommon { op: 'fsync'; file: string }
export interface PreadOp extends OpCommon { op: 'pread' | 'pwrite'; file: string; offset: number; length: number }
export interface DropCachesOp extends OpCommon { op: 'drop_caches' }
export interface SetleaseOp extends OpCommon { op: 'setlease'; file: string; type: 'read' | 'write' | 'layout'; onBreak?: Op[] }
export interface SleepOp extends OpCommon { op: 'sleep'; duration: number }
export type GupFlag = 'get' | 'pin' | 'longterm' | 'write' | 'force';
export interface GupOp extends AddrRangeOp { op: 'gup'; flags: GupFlag[] }
export interface UnpinOp extends OpCommon { op: 'unpin'; pins: string; dirty?: boolean }
/** The GUP user reads or writes through its pins; `offset` counts from the gup's addr + offset. */
export interface PinAccessOp extends OpCommon { op: 'pin_read' | 'pin_write'; pins: string; offset: number; length: number }
export interface RegMrOp extends AddrRangeOp { op: 'reg_mr'; device: string; access: 'r' | 'rw' }
export interface DeregMrOp extends OpCommon { op: 'dereg_mr'; mr: string }
export interface DmaOp extends OpCommon { op: 'dma_read' | 'dma_write'; mr: string; offset: number; length: number }
export interface PollOp extends OpCommon { op: 'poll'; wr: string }
export interface AdviseMrOp extends OpCommon { op: 'advise_mr'; mr: string; advice: 'prefetch' | 'prefetch_write' | 'prefetch_no_fault'; offset: number; length: number; flush?: boolean }
export interface MirrorOp extends AddrRangeOp { op: 'mirror'; device: string }
export interface UnmirrorOp extends OpCommon { op: 'unmirror'; mirror: string }
export interface MirrorRangeOp extends OpCommon {
  op: 'gpu_read' | 'gpu_write' | 'migrate_to_device' | 'migrate_to_host' | 'make_exclusive' | 'check_exclusive' | 'snapshot';
  mirror: string; offset: number; length: number;
}
export interface WritebackNowOp extends OpCommon { op: 'writeback_now'; file?: string }
export interface ReclaimOp extends OpCommon { op: 'reclaim'; target: number | 'buffers' }
export interface MigrateOp extends AddrRangeOp { op: 'migrate' }

export type Op =
  | MmapOp | MunmapOp | MremapOp | MadviseOp | MprotectOp | ForkOp | ExitOp | LoadOp | StoreOp | MsyncOp
  | TruncateOp | FallocateOp | FsyncOp | PreadOp | DropCachesOp | SetleaseOp | SleepOp
  | GupOp | UnpinOp | PinAccessOp | RegMrOp | DeregMrOp | DmaOp | PollOp | AdviseMrOp
  | MirrorOp | UnmirrorOp | MirrorRangeOp | WritebackNowOp | ReclaimOp | MigrateOp;

export interface FileSpec { fs: FsType; dax: boolean; size: number }
export interface DeviceSpec { model: string; params: Record<string, number | string | boolean> }
export interface ProcessSpec { memlock?: number; capIpcLock?: boolean }
export interface ActorSpec { process: string; ops: Op[] }

export interface KernelSpec {
  policy?: string;
  /** bytes of simulated RAM: a limit, not a preallocation (DESIGN §4) */
  memory?: number;
  /** bytes of it that are ZONE_MOVABLE, where user pages go first (pinsim addition) */
  movable?: number;
  until?: number;
  livenessBound?: number;
  jitter?: number;
  leaseBreakTimeout?: number;
  writeback?: { period: number };
  compaction?: { period: number };
  reclaim?: { period: number };
}

/** What an outcome entry of `forbid`/`allow` may be: a violation kind, or `{ readName: writeName }`. */
export type OutcomeSpec = string | Record<string, string>;

export interface Expect {
  violations?: string[];
  results?: Record<string, string>;
  observed?: Record<string, string>;
  endsBy?: Record<string, number>;
  blockedAtLeast?: Record<string, number>;
  opStats?: Record<string, Record<string, number>>;
  forbid?: OutcomeSpec[];
  allow?: OutcomeSpec[];
}
export type PolicyExpect = Expect | { skip: string };

export interface ReplaySpec {
  seed?: number;
  policy?: string;
  window?: number;
  jitter?: number;
  choices?: number[];
  traceHash?: string;
  pinsimVersion?: string;
}

/** A validated scenario: units resolved, defaults applied. */
export interface Scenario {
  name: string;
  description?: string;
  kernel: KernelSpec;
  files: Record<string, FileSpec>;
  devices: Record<string, DeviceSpec>;
  processes: Record<string, ProcessSpec>;
  actors: Record<string, ActorSpec>;
  expect?: Expect;
  expectByPolicy?: Record<string, PolicyExpect>;
  replay?: ReplaySpec;
}

/**
 * What users write. Deliberately loose where units are allowed; validation turns it into a
 * `Scenario` or a list of issues with JSON paths.
 */
export interface ScenarioInput {
  name: string;
  description?: string;
  kernel?: Record<string, unknown>;
  files?: Record<string, { fs: FsType; dax?: boolean; size: SizeInput }>;
  devices?: Record<string, { model: string; [param: string]: unknown }>;
  processes?: Record<string, { memlock?: SizeInput; capIpcLock?: boolean }>;
  actors: Record<string, OpInput[] | { process: string; ops: OpInput[] }>;
  expect?: Record<string, unknown>;
  expectByPolicy?: Record<string, Record<string, unknown>>;
  replay?: Record<string, unknown>;
}
/** An op as written: like `Op`, with sizes and times still allowed as unit strings. */
export type OpInput = { op: string; [field: string]: unknown };

/** One problem with the input (zod-style: data, thrown only at the boundary). */
export interface Issue {
  /** `unknown-op`, `unknown-field`, `bad-size`, `not-implemented`, `cycle`, ... */
  code: string;
  /** JSON path, e.g. `actors.app[2].length` */
  path: string;
  message: string;
  expected?: string;
  didYouMean?: string;
}

export type ValidationResult = { ok: true; scenario: Scenario } | { ok: false; issues: Issue[] };

/** Thrown by loaders and runScenario on bad input; the CLI prints `issues` and exits 2. */
export class ScenarioError extends Error {
  readonly issues: Issue[];
  /** The scenario file the issues are in, when there is one. */
  readonly file?: string;
  constructor(issues: Issue[], file?: string) {
    super(formatIssues(issues, file));
    this.name = 'ScenarioError';
    this.issues = issues;
    if (file !== undefined) this.file = file;
  }
}

/** formatIssues() - one line per issue: `file: path: message (expected …; did you mean "x"?)`. */
export function formatIssues(issues: Issue[], file?: string): string {
  return issues
    .map((i) => {
      const where = [file, i.path].filter((x) => x).join(': ');
      const extra = [i.expected ? `expected ${i.expected}` : '', i.didYouMean ? `did you mean "${i.didYouMean}"?` : '']
        .filter((x) => x)
        .join('; ');
      return `${where ? where + ': ' : ''}${i.message}${extra ? ` (${extra})` : ''}`;
    })
    .join('\n');
}
