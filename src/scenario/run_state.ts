/**
 * The scenario side of one run, shared by the op executors: the names ops produce, results,
 * observations and timings, the devices, and how a device op is posted and awaited.
 */
import { type Actor, type Co } from '../engine/actor.js';
import { WaitQueueHead, wake_up_all } from '../engine/waitqueue.js';
import type { DeviceInstance, DeviceModel, MemoryRegion } from '../devices/device.js';
import type { Kernel } from '../mm/kernel.js';
import type { DmaRef } from '../mm/pin_registry.js';
import type { Scheduler } from '../engine/scheduler.js';
import type { OpTiming } from './result.js';
import type { Op, Scenario } from './types.js';
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

/** (pinsim-only) The scenario side of one run. */
export class RunState {
  readonly k: Kernel;
  readonly sched: Scheduler;
  readonly scenario: Scenario;
  readonly devices: Map<string, DeviceSlot>;
  readonly names = new Map<string, NameVal>();
  /** Device ops posted with `wait: false`, by `as` name (what `poll` waits for). */
  readonly posted = new Map<string, Completion>();
  readonly namesWq = new WaitQueueHead('names');
  readonly results: Record<string, string> = {};
  readonly observed: Record<string, string> = {};
  readonly ops: Record<string, OpTiming> = {};
  /** Ops started and not finished, by key, with the actor running them and its blockedNs at start. */
  readonly running = new Map<string, { actor: Actor; blocked0: number; start: number; lateNs: number }>();
  /** The scenario actors of each process. */
  readonly procActors = new Map<string, Actor[]>();
  readonly mrDevice = new Map<MemoryRegion, string>();

  constructor(k: Kernel, sched: Scheduler, scenario: Scenario, devices: Map<string, DeviceSlot>) {
    this.k = k;
    this.sched = sched;
    this.scenario = scenario;
    this.devices = devices;
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

/** The names an op refers to (it waits until each exists). */
export function refNames(op: Op): string[] {
  const r: string[] = [];
  const o = op as unknown as Record<string, unknown>;
  for (const f of ['addr', 'newAddr', 'mr', 'pins', 'mirror', 'wr']) if (typeof o[f] === 'string') r.push(o[f] as string);
  return r;
}

export function tokensName(k: Kernel, tokens: number[]): string | null {
  if (!tokens.length) return null;
  const first = tokens[0] as number;
  return tokens.every((t) => t === first) ? (k.contents[first] as string) : 'mixed';
}

/** Run @body on an actor named @dev and wait for it (a device op occupies its caller). */
export function postToDevice(st: RunState, dev: string, body: () => Co<{ result: string; tokens: number[] }>): Completion {
  const c: Completion = { done: false, result: '', tokens: [], wq: new WaitQueueHead(`${dev}.completion`) };
  st.sched.spawn(dev, (function* () {
    const r = yield* body();
    c.result = r.result;
    c.tokens = r.tokens;
    c.done = true;
    wake_up_all(c.wq);
  })());
  return c;
}

export type Exec = {
  /** the process exited with this op (its later ops never run) */
  exited?: boolean;
  result: string; tokens?: number[]; waitNs?: number; deferred?: Completion;
  /** per-op counters for the result's `ops` section (dmirror's cpages, faults) */
  counters?: Record<string, number>;
  /** an observation that is not content (a SNAPSHOT's per-page states) */
  text?: string;
};

