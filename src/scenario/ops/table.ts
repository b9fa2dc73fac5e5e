/**
 * The op table: every op of the scenario format, built or not, in the order the reference lists them.
 * An op's TypeScript type (`Op`, after validation; `OpBuild`, as written) is inferred from its
 * descriptor. To add an op, write its descriptor file beside this one and list it here.
 */
import { advise_mr } from './advise_mr.js';
import { load, store } from './cpu.js';
import { dereg_mr } from './dereg_mr.js';
import { dma_read, dma_write } from './dma.js';
import { drop_caches } from './drop_caches.js';
import { exit } from './exit.js';
import { fallocate } from './fallocate.js';
import { fork } from './fork.js';
import { fsync } from './fsync.js';
import { gup, unpin } from './gup.js';
import { madvise } from './madvise.js';
import { migrate } from './migrate.js';
import { mirror, unmirror } from './mirror.js';
import { check_exclusive, gpu_read, gpu_write, make_exclusive, migrate_to_device, migrate_to_host, snapshot } from './mirror_ops.js';
import { mmap } from './mmap.js';
import { mprotect } from './mprotect.js';
import { mremap } from './mremap.js';
import { msync } from './msync.js';
import { munmap } from './munmap.js';
import { oom_kill } from './oom_kill.js';
import type { InputOpOf, OpDescriptor, OpOf } from './op.js';
import { pagemap } from './pagemap.js';
import { pin_read, pin_write } from './pin_access.js';
import { poll } from './poll.js';
import { pread, pwrite } from './pread.js';
import { reclaim } from './reclaim.js';
import { reg_mr } from './reg_mr.js';
import { setlease } from './setlease.js';
import { sleep } from './sleep.js';
import { ftruncate, truncate } from './truncate.js';
import { writeback_now } from './writeback_now.js';

export const OP_TABLE = [
  // process ops
  mmap, munmap, mremap, madvise, mprotect, fork, exit, load, store, msync,
  ftruncate, truncate, fallocate, fsync, pread, pwrite, drop_caches, setlease, sleep, oom_kill, pagemap,
  // kernel GUP users
  gup, unpin, pin_read, pin_write,
  // device ops
  reg_mr, dereg_mr, dma_read, dma_write, poll, advise_mr,
  mirror, unmirror, gpu_read, gpu_write, migrate_to_device, migrate_to_host,
  make_exclusive, check_exclusive, snapshot,
  // kernel background work as ops
  writeback_now, reclaim, migrate,
] as const;

type Descriptor = (typeof OP_TABLE)[number];
/** Every op word of the format. */
export type OpName = Descriptor['name'];
// Distributive over the union of descriptors: one member per op.
type ValidatedOf<D> = D extends OpDescriptor<infer N, infer Fs> ? OpOf<N, Fs> : never;
type WrittenOf<D> = D extends OpDescriptor<infer N, infer Fs> ? InputOpOf<N, Fs> : never;
/** An op after validation (units resolved, defaults filled in), as runScenario runs it. */
export type Op = ValidatedOf<Descriptor>;
/** An op as written (JSON or the builder): sizes and times may be unit strings. */
export type OpBuild = WrittenOf<Descriptor>;
/** The op of name N. */
export type OpNamed<N extends OpName> = Extract<Op, { op: N }>;

/** Every op word of the format, built yet or not, in table order. */
export const ALL_OPS: readonly OpName[] = OP_TABLE.map((d) => d.name);

const BY_NAME: ReadonlyMap<string, OpDescriptor> = new Map(OP_TABLE.map((d): [string, OpDescriptor] => [d.name, d]));

/** opDescriptor() - the descriptor of op @name, or undefined for a word that is no op. */
export function opDescriptor(name: string): OpDescriptor | undefined {
  return BY_NAME.get(name);
}

/** The ops pinsim has built (the others are refused as not-implemented). */
export function builtOps(): OpName[] {
  return OP_TABLE.filter((d) => d.exec !== undefined).map((d) => d.name);
}
