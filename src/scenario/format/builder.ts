/**
 * The typed scenario builder: `scenario(name)` chains to exactly the data a `.json`
 * scenario holds (a `ScenarioInput`, JSON-serialisable), so a scenario module can use loops and
 * parameters and still be checked by validateScenario(). Sizes and times take unit strings.
 * Each call returns a new builder, so a base scenario can be extended in several ways.
 *
 * @example
 * scenario('gup-nic-truncate')
 *   .kernel({ policy: 'linux-4.20' })
 *   .file('f', { fs: 'ext4', size: '64K' })
 *   .device('nic0', { model: 'gup-nic' })
 *   .actor('app', [{ op: 'mmap', file: 'f', length: '64K', prot: 'rw', flags: ['shared'], as: 'buf' }])
 *   .expect({ violations: ['lost-write'] })
 *   .build();
 */
import type { OpBuild } from '../ops/table.js';
import type { FsType, OpInput, ScenarioInput, SizeInput, TimeInput } from './types.js';
/** An op as the builder takes it (inferred from the op table): unit strings allowed, defaults optional. */
export type { OpBuild } from '../ops/table.js';

export interface KernelInput {
  policy?: string;
  memory?: SizeInput;
  movable?: SizeInput;
  until?: TimeInput;
  livenessBound?: TimeInput;
  jitter?: TimeInput;
  leaseBreakTimeout?: TimeInput;
  writeback?: { period: TimeInput };
  compaction?: { period: TimeInput };
  reclaim?: { period: TimeInput };
  hugepages?: Record<string, number>;
  thp?: 'never' | 'madvise' | 'always';
  khugepaged?: { period: TimeInput };
}

export interface ExpectInput {
  violations?: string[];
  results?: Record<string, string>;
  observed?: Record<string, string>;
  endsBy?: Record<string, TimeInput>;
  blockedAtLeast?: Record<string, TimeInput>;
  opStats?: Record<string, Record<string, number>>;
  forbid?: (string | Record<string, string>)[];
  allow?: (string | Record<string, string>)[];
}

export interface ReplayInput {
  seed?: number;
  policy?: string;
  window?: TimeInput;
  jitter?: TimeInput;
  choices?: number[];
  traceHash?: string;
  hashSchema?: number;
  pinsimVersion?: string;
}

export interface DeviceInput { model: string; [param: string]: number | string | boolean }

export interface ScenarioBuilder {
  description(text: string): ScenarioBuilder;
  /** Merged into what earlier calls set. */
  kernel(k: KernelInput): ScenarioBuilder;
  file(name: string, f: { fs: FsType; size: SizeInput; dax?: boolean }): ScenarioBuilder;
  device(name: string, d: DeviceInput): ScenarioBuilder;
  process(name: string, p: { memlock?: SizeInput; capIpcLock?: boolean }): ScenarioBuilder;
  /**
   * A thread of its own process named after the actor, or of `opts.process` (shared address space,
   * or a fork's child); the JSON form `{ process, ops }` is taken too.
   */
  actor(name: string, ops: readonly OpBuild[] | { process: string; ops: readonly OpBuild[] }, opts?: { process: string }): ScenarioBuilder;
  expect(e: ExpectInput): ScenarioBuilder;
  /** Replaces `expect` under one policy; `{ skip: reason }` marks the scenario not applicable to it. */
  expectByPolicy(policy: string, e: ExpectInput | { skip: string }): ScenarioBuilder;
  replay(r: ReplayInput): ScenarioBuilder;
  /** A deep copy: later builder calls do not change it. */
  build(): ScenarioInput;
}

/** scenario() - start a scenario named `name`. */
export function scenario(name: string): ScenarioBuilder {
  return makeBuilder({ name, actors: {} });
}

function makeBuilder(data: ScenarioInput): ScenarioBuilder {
  // Every argument is copied deeply, so a caller reusing its arrays cannot change a built scenario.
  const next = (patch: Partial<ScenarioInput>): ScenarioBuilder => makeBuilder({ ...data, ...structuredClone(patch) });
  return {
    description: (description) => next({ description }),
    kernel: (k) => next({ kernel: { ...data.kernel, ...k } }),
    file: (name, f) => next({ files: { ...data.files, [name]: f } }),
    device: (name, d) => next({ devices: { ...data.devices, [name]: d } }),
    process: (name, p) => next({ processes: { ...data.processes, [name]: p } }),
    actor: (name, ops, opts) => {
      const [list, process] = 'ops' in ops ? [ops.ops, ops.process] : [ops, opts?.process];
      const written: OpInput[] = [...list];
      return next({ actors: { ...data.actors, [name]: process !== undefined ? { process, ops: written } : written } });
    },
    expect: (e) => next({ expect: { ...e } }),
    expectByPolicy: (policy, e) => next({ expectByPolicy: { ...data.expectByPolicy, [policy]: { ...e } } }),
    replay: (r) => next({ replay: { ...r } }),
    build: () => structuredClone(data),
  };
}
