/**
 * Scenario types. Two forms:
 * - `ScenarioInput`: what users write (JSON, or the builder): sizes and times may be unit strings.
 * - `Scenario`: what validation produces and `runScenario` consumes: every size in bytes, every
 *   time in ns, every actor as `{ process, ops }`, every device as `{ model, params }`.
 * Names (`as`) and their references stay strings; an address field is a number or a name.
 */

import type { SizeInput } from '../ops/op.js';
import type { Op, OpNamed } from '../ops/table.js';
export type { AddrRef, SizeInput, TimeInput } from '../ops/op.js';
export type { Op, OpBuild, OpName, OpNamed } from '../ops/table.js';

/** Words of some op fields, as their descriptors define them. */
export type MmapFlag = OpNamed<'mmap'>['flags'][number];
export type GupFlag = OpNamed<'gup'>['flags'][number];
export type Advice = OpNamed<'madvise'>['advice'];

export type Prot = 'none' | 'r' | 'rw' | 'rx' | 'rwx';
/** The filesystems pinsim builds. */
export type FsType = 'ext4' | 'xfs' | 'tmpfs' | 'hugetlbfs';

/** A file: `pageSize` (bytes) is a hugetlbfs file's huge page size. */
export interface FileSpec {
  fs: FsType; dax: boolean; size: number; pageSize?: number;
  /** the size of the folios its page cache allocates, where the filesystem and era support it (default 4 KiB) */
  folioSize?: number;
}
export interface DeviceSpec { model: string; params: Record<string, number | string | boolean> }
export interface ProcessSpec { memlock?: number; capIpcLock?: boolean }
export interface ActorSpec { process: string; ops: Op[] }

export interface KernelSpec {
  policy?: string;
  /** bytes of simulated RAM: a limit, not a preallocation */
  memory?: number;
  /** bytes of it that are ZONE_MOVABLE, where user pages go first (pinsim addition) */
  movable?: number;
  until?: number;
  livenessBound?: number;
  jitter?: number;
  leaseBreakTimeout?: number;
  /** an op starting more than this after its `at`/`after` adds a note saying what delayed it (default 10 µs) */
  lateWarn?: number;
  writeback?: { period: number };
  compaction?: { period: number };
  reclaim?: { period: number };
  /** the hugetlb pool: huge pages per size ("2M", "1G") */
  hugepages?: Record<string, number>;
  /** the anonymous THP policy (default "madvise") */
  thp?: 'never' | 'madvise' | 'always';
  /** run khugepaged every period (absent: it does not run) */
  khugepaged?: { period: number };
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
  /** What traceHash covers (engine/trace.ts TRACE_HASH_SCHEMA when it was saved). */
  hashSchema?: number;
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
  files?: Record<string, { fs: FsType; dax?: boolean; size: SizeInput; pageSize?: SizeInput }>;
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
