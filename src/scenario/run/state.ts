/**
 * The scenario side of one run, shared by the op executors: the names ops produce, results,
 * observations and timings, the devices, and what an executor is given (OpCtx) and returns (Exec).
 */
import type { Actor } from '../../engine/actor.js';
import { dict, own } from '../../engine/dict.js';
import { WaitQueueHead, wake_up_all } from '../../engine/waitqueue.js';
import type { DeviceInstance, DeviceModel, MemoryRegion } from '../../devices/device.js';
import type { Inode } from '../../mm/fs/inode.js';
import type { Kernel, Process } from '../../mm/kernel.js';
import { PINSIM_BUG } from '../../mm/mmdebug.js';
import type { DmaRef } from '../../mm/pin_registry.js';
import type { Scheduler } from '../../engine/scheduler.js';
import type { AddrRef } from '../ops/op.js';
import type { Op } from '../ops/table.js';
import type { OpTiming } from './result.js';
import type { Scenario } from '../format/types.js';

/** A posted device op's completion (what `poll` and a waiting actor wait for). */
export interface Completion {
  done: boolean;
  result: string;
  tokens: number[];
  readonly wq: WaitQueueHead;
  /** per-op counters (dmirror's cpages, faults), set by ops that have them */
  counters?: Record<string, number>;
  /** an observation that is not content (a SNAPSHOT's per-page states) */
  text?: string;
}

/** What an `as` name stands for once its op has completed. */
export type NameVal =
  | { kind: 'addr'; addr: number }
  | { kind: 'mr'; mr: MemoryRegion }
  | { kind: 'pins'; ref: DmaRef; released: boolean; addr: number; length: number }
  | { kind: 'value' }
  | { kind: 'failed' };

export interface DeviceSlot {
  readonly model: DeviceModel;
  readonly inst: DeviceInstance;
}

/** An op started and not finished: the actor running it, its blockedNs at start, its start and lateness. */
export interface RunningOp { actor: Actor; blocked0: number; start: number; lateNs: number }

/** (pinsim-only) The scenario side of one run. */
export class RunState {
  readonly k: Kernel;
  readonly sched: Scheduler;
  readonly scenario: Scenario;
  readonly devices: ReadonlyMap<string, DeviceSlot>;
  readonly names = new Map<string, NameVal>();
  /** Device ops posted with `wait: false`, by `as` name (what `poll` waits for). */
  readonly posted = new Map<string, Completion>();
  readonly namesWq = new WaitQueueHead('names');
  // Keyed by `actor.index` and `as` names, which users choose: tables without a prototype. A run's
  // result takes them as they are, so reset() gives the next execution new ones.
  results = dict<string>();
  observed = dict<string>();
  ops = dict<OpTiming>();
  /** Ops started and not finished, by key. */
  readonly running = new Map<string, RunningOp>();
  /** The scenario actors of each process. */
  readonly procActors = new Map<string, Actor[]>();
  readonly mrDevice = new Map<MemoryRegion, string>();
  /** Remarks for the result's `notes` (late starts), in the order they arose. */
  readonly notes: string[] = [];

  constructor(k: Kernel, sched: Scheduler, scenario: Scenario, devices: ReadonlyMap<string, DeviceSlot>) {
    this.k = k;
    this.sched = sched;
    this.scenario = scenario;
    this.devices = devices;
  }

  /**
   * reset() - as new, for the next execution of a reused machine: every book emptied in place
   * except the three a result takes (results, observed, ops), which are made anew.
   */
  reset(): void {
    if (this.names.size) this.names.clear();
    if (this.posted.size) this.posted.clear();
    this.namesWq.reset();
    this.results = dict<string>();
    this.observed = dict<string>();
    this.ops = dict<OpTiming>();
    if (this.running.size) this.running.clear();
    if (this.procActors.size) this.procActors.clear();
    if (this.mrDevice.size) this.mrDevice.clear();
    this.notes.length = 0;
  }

  /**
   * Posts the completion of a device op sent with `wait: false` under its `as` name, for `poll`.
   * The name itself (the MR, the write's result) is produced only when the op completes.
   */
  post(name: string | undefined, c: Completion): void {
    if (!name) return;
    this.posted.set(name, c);
    wake_up_all(this.namesWq);
  }

  setName(name: string | undefined, v: NameVal): void {
    if (!name) return;
    this.names.set(name, v);
    wake_up_all(this.namesWq);
  }
}

/** What an executor returns. */
export interface Exec {
  /** the process exited with this op (its later ops never run) */
  exited?: boolean;
  result: string;
  tokens?: number[];
  /** ns the actor waited for its own device op (not counted as blocked) */
  waitNs?: number;
  /** posted with `wait: false`: the op's result is this completion's */
  deferred?: Completion;
  /** per-op counters for the result's `ops` section (dmirror's cpages, faults) */
  counters?: Record<string, number>;
  /** an observation that is not content (a SNAPSHOT's per-page states) */
  text?: string;
}

/** What an executor is given: the run, the actor and its process, and the op's names. */
export interface OpCtx {
  readonly st: RunState;
  readonly k: Kernel;
  /** The scenario actor running the op. */
  readonly actor: string;
  readonly proc: Process;
  /** `actor.index` */
  readonly key: string;
  /** The op's `as`, else its key: what its writes' content and its traces are named. */
  readonly name: string;
  /** The address @a names (a number, or the `as` of an mmap or mremap) plus @off. */
  addrOf(a: AddrRef | undefined, off: number | undefined): number;
  /** Start a new thread named @thread of the actor's process, running @ops (a lease break's onBreak). */
  spawnThread(thread: string, ops: readonly Op[]): void;
}

/** The content name of @tokens: one write's name, or "mixed"; null when nothing was read. */
export function tokensName(k: Kernel, tokens: number[]): string | null {
  if (!tokens.length) return null;
  const first = tokens[0] as number;
  return tokens.every((t) => t === first) ? (k.contents[first] as string) : 'mixed';
}

/** The inode of the scenario's file @name (validation made sure it is declared). */
export function inodeOf(k: Kernel, name: string): Inode {
  return k.inodes.get(name) ?? PINSIM_BUG(`no file "${name}"`);
}

/** The op an `actor.index` key names. */
export function opAtKey(s: Scenario, key: string): Op | undefined {
  const dot = key.lastIndexOf('.');
  return own(s.actors, key.slice(0, dot))?.ops[Number(key.slice(dot + 1))];
}
