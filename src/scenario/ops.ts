/**
 * Executing scenario ops: each actor is a generator that runs its ops in order, honouring `at` /
 * `after`, waiting for the names it refers to, and calling into the kernel model (process ops) or
 * into a device (device ops, run by an actor named after the device). Results, observations and
 * timings are recorded in the run's state.
 */
import { delay, type Actor, type Co } from '../engine/actor.js';
import { WaitQueueHead, wait_event, wake_up_all } from '../engine/waitqueue.js';
import type { DeviceInstance, DeviceModel, MemoryRegion } from '../devices/device.js';
import { cpu_access } from '../mm/cpu.js';
import { EINVAL, IS_ERR, type Errno } from '../mm/errno.js';
import { exit_mmap } from '../mm/exit.js';
import { get_user_pages_locked, gup_flags_for_era, unpin_user_pages_dirty_lock } from '../mm/gup.js';
import type { Kernel, Process } from '../mm/kernel.js';
import { do_madvise } from '../mm/madvise.js';
import { do_mmap, do_munmap } from '../mm/mmap.js';
import { do_mprotect } from '../mm/mprotect.js';
import { do_mremap } from '../mm/mremap.js';
import { do_msync, do_pread, do_punch_hole, do_pwrite, drop_caches, vfs_fsync_range } from '../mm/fs/read_write.js';
import type { DmaRef } from '../mm/pin_registry.js';
import { do_truncate } from '../mm/truncate.js';
import { do_fork } from '../mm/fork.js';
import { do_migrate_pages } from '../mm/migrate.js';
import { write_cache_pages } from '../mm/page-writeback.js';
import { reclaim_buffers, shrink_folio_list } from '../mm/vmscan.js';
import { PAGE_SIZE } from '../mm/types.js';
import type { Scheduler } from '../engine/scheduler.js';
import type { OpTiming } from './result.js';
import type { ActorSpec, AddrRef, Op, Scenario } from './types.js';

/** A posted device op's completion (what `poll` and a waiting actor wait for). */
export interface Completion {
  done: boolean;
  result: string;
  tokens: number[];
  readonly wq: WaitQueueHead;
}

/** What an `as` name stands for once its op has completed. */
export type NameVal =
  | { kind: 'addr'; addr: number }
  | { kind: 'mr'; mr: MemoryRegion }
  | { kind: 'pins'; ref: DmaRef; released: boolean }
  | { kind: 'wr'; c: Completion }
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

function tokensName(k: Kernel, tokens: number[]): string | null {
  if (!tokens.length) return null;
  const first = tokens[0] as number;
  return tokens.every((t) => t === first) ? (k.contents[first] as string) : 'mixed';
}

/** Run @body on an actor named @dev and wait for it (a device op occupies its caller). */
function postToDevice(st: RunState, dev: string, body: () => Co<{ result: string; tokens: number[] }>): Completion {
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

type Exec = {
  /** the process exited with this op (its later ops never run) */
  exited?: boolean;
  result: string; tokens?: number[]; waitNs?: number; deferred?: Completion;
  /** per-op counters for the result's `ops` section (dmirror's cpages, faults) */
  counters?: Record<string, number>;
  /** an observation that is not content (a SNAPSHOT's per-page states) */
  text?: string;
};

/** execOp() - run one op; Return: its result (and what it read). */
function* execOp(st: RunState, actorName: string, proc: Process, op: Op, key: string): Co<Exec> {
  const k = st.k;
  const mm = proc.mm;
  const name = (op.as ?? key);
  // An op that depends on a failed one fails with EINVAL.
  for (const n of refNames(op)) if (st.names.get(n)?.kind === 'failed') return { result: EINVAL };
  const addrOf = (a: AddrRef | undefined, off: number | undefined): number => {
    if (a === undefined) return 0;
    const base = typeof a === 'number' ? a : (st.names.get(a) as { addr: number }).addr;
    return base + (off ?? 0);
  };
  const err = (x: 0 | Errno): string => (x === 0 ? 'ok' : x);
  switch (op.op) {
    case 'mmap': {
      const file = op.file ? (k.inodes.get(op.file) ?? null) : null;
      const r = yield* do_mmap(k, mm, {
        addr: op.addr === undefined ? null : addrOf(op.addr, 0), length: op.length, prot: op.prot,
        shared: op.flags.includes('shared'), private: op.flags.includes('private'), fixed: op.flags.includes('fixed'),
        populate: op.flags.includes('populate'), file, offset: op.offset ?? 0,
      }, `shmem:${proc.name}:${name}`);
      if (IS_ERR(r)) return { result: r };
      st.setName(op.as, { kind: 'addr', addr: r });
      return { result: 'ok' };
    }
    case 'munmap':
      return { result: err(yield* do_munmap(k, mm, addrOf(op.addr, op.offset), op.length)) };
    case 'mremap': {
      const r = yield* do_mremap(k, mm, {
        addr: addrOf(op.addr, op.offset), old_len: op.length, new_len: op.newLength,
        maymove: op.flags.includes('maymove'), fixed: op.flags.includes('fixed'),
        new_addr: op.newAddr === undefined ? null : addrOf(op.newAddr, 0),
      });
      if (IS_ERR(r)) return { result: r };
      st.setName(op.as, { kind: 'addr', addr: r });
      return { result: 'ok' };
    }
    case 'mprotect':
      return { result: err(yield* do_mprotect(k, mm, addrOf(op.addr, op.offset), op.length, op.prot)) };
    case 'msync':
      return { result: err(yield* do_msync(k, mm, addrOf(op.addr, op.offset), op.length, op.flags ?? ['sync'])) };
    case 'fallocate':
      return { result: err(yield* do_punch_hole(k, k.inodes.get(op.file)!, op.offset, op.length)) };
    case 'fsync':
      return { result: err(yield* vfs_fsync_range(k, k.inodes.get(op.file)!)) };
    case 'drop_caches':
      return { result: err(yield* drop_caches(k)) };
    case 'pread': {
      const r = yield* do_pread(k, k.inodes.get(op.file)!, op.offset, op.length);
      return IS_ERR(r) ? { result: r } : { result: 'ok', tokens: r };
    }
    case 'pwrite':
      return { result: err(yield* do_pwrite(k, k.inodes.get(op.file)!, op.offset, op.length, k.new_content(name))) };
    case 'madvise':
      return { result: err(yield* do_madvise(k, mm, addrOf(op.addr, op.offset), op.length, op.advice)) };
    case 'load':
    case 'store': {
      const token = op.op === 'store' ? k.new_content(name) : -1;
      const r = yield* cpu_access(k, mm, addrOf(op.addr, op.offset), op.length, token);
      return { result: r.signal || 'ok', tokens: r.tokens };
    }
    case 'ftruncate':
    case 'truncate':
      return { result: err(yield* do_truncate(k, k.inodes.get(op.file)!, op.length)) };
    case 'sleep':
      yield* delay(op.duration, 'op:sleep');
      return { result: 'ok' };
    case 'gup': {
      const w = new Set(op.flags);
      const flags = gup_flags_for_era(k, w.has('get'), w.has('pin'), w.has('longterm'), w.has('write'), w.has('force'));
      if (IS_ERR(flags)) return { result: flags };
      const start = addrOf(op.addr, op.offset);
      const first = Math.floor(start / PAGE_SIZE);
      const npages = op.length === 0 ? 0 : Math.ceil((start + op.length) / PAGE_SIZE) - first;
      const ref = yield* get_user_pages_locked(k, mm, first * PAGE_SIZE, npages, flags, actorName);
      if (IS_ERR(ref)) return { result: ref };
      st.setName(op.as, { kind: 'pins', ref, released: false });
      return { result: 'ok' };
    }
    case 'unpin': {
      const v = st.names.get(op.pins) as Extract<NameVal, { kind: 'pins' }>;
      if (v.released) return { result: EINVAL };
      v.released = true;
      yield* unpin_user_pages_dirty_lock(k, v.ref, op.dirty ?? false);
      return { result: 'ok' };
    }
    case 'reg_mr': {
      const slot = st.devices.get(op.device)!;
      if (!slot.inst.reg_mr) return { result: EINVAL };
      const reg = slot.inst.reg_mr.bind(slot.inst);
      const addr = addrOf(op.addr, op.offset);
      let mr: MemoryRegion | null = null;
      const c = postToDevice(st, op.device, function* () {
        const r = yield* reg(proc, addr, op.length, op.access, name);
        if (IS_ERR(r)) return { result: r, tokens: [] };
        mr = r;
        return { result: 'ok', tokens: [] };
      });
      const t0 = k.now;
      yield* wait_event(c.wq, () => c.done, 'op:device_wait');
      if (mr) {
        st.mrDevice.set(mr, op.device);
        st.setName(op.as, { kind: 'mr', mr });
      }
      return { result: c.result, waitNs: k.now - t0 };
    }
    case 'dereg_mr': {
      const mr = (st.names.get(op.mr) as { mr: MemoryRegion }).mr;
      const dev = st.mrDevice.get(mr)!;
      const inst = st.devices.get(dev)!.inst;
      const c = postToDevice(st, dev, function* () {
        return { result: err(inst.dereg_mr ? yield* inst.dereg_mr(mr) : EINVAL), tokens: [] };
      });
      const t0 = k.now;
      yield* wait_event(c.wq, () => c.done, 'op:device_wait');
      return { result: c.result, waitNs: k.now - t0 };
    }
    case 'dma_read':
    case 'dma_write': {
      const mr = (st.names.get(op.mr) as { mr: MemoryRegion }).mr;
      const dev = st.mrDevice.get(mr)!;
      const inst = st.devices.get(dev)!.inst;
      const write = op.op === 'dma_write';
      const token = write ? k.new_content(name) : -1;
      const c = postToDevice(st, dev, function* () {
        if (!inst.dma) return { result: 'remote-access-error', tokens: [] };
        const r = yield* inst.dma({ mr, write, offset: op.offset, length: op.length, token, wr: name });
        k.emit({ type: 'dma_complete', time: k.now, actor: dev, wr: name, device: dev, status: r.status });
        return { result: r.status, tokens: r.tokens };
      });
      if (op.wait === false) {
        st.setName(op.as, { kind: 'wr', c });
        return { result: 'posted', deferred: c };
      }
      const t0 = k.now;
      yield* wait_event(c.wq, () => c.done, 'op:device_wait');
      return { result: c.result, tokens: c.tokens, waitNs: k.now - t0 };
    }
    case 'advise_mr': {
      const mr = (st.names.get(op.mr) as { mr: MemoryRegion }).mr;
      const dev = st.mrDevice.get(mr)!;
      const inst = st.devices.get(dev)!.inst;
      const c = postToDevice(st, dev, function* () {
        return { result: err(inst.advise_mr ? yield* inst.advise_mr(mr, op.advice, op.offset, op.length) : EINVAL), tokens: [] };
      });
      const t0 = k.now;
      yield* wait_event(c.wq, () => c.done, 'op:device_wait');
      return { result: c.result, waitNs: k.now - t0 };
    }
    case 'mirror': {
      const slot = st.devices.get(op.device)!;
      if (!slot.inst.mirror) return { result: EINVAL };
      const inst = slot.inst;
      const addr = addrOf(op.addr, op.offset);
      let handle: MemoryRegion | null = null;
      const c = postToDevice(st, op.device, function* () {
        const r = yield* inst.mirror!(proc, addr, op.length, name);
        if (IS_ERR(r)) return { result: r, tokens: [] };
        handle = r;
        return { result: 'ok', tokens: [] };
      });
      yield* wait_event(c.wq, () => c.done, 'op:device_wait');
      if (handle) {
        st.mrDevice.set(handle, op.device);
        st.setName(op.as, { kind: 'mr', mr: handle });
      }
      return { result: c.result };
    }
    case 'unmirror': {
      const m = (st.names.get(op.mirror) as { mr: MemoryRegion }).mr;
      const dev = st.mrDevice.get(m)!;
      const inst = st.devices.get(dev)!.inst;
      const c = postToDevice(st, dev, function* () {
        return { result: err(inst.unmirror ? yield* inst.unmirror(m) : EINVAL), tokens: [] };
      });
      yield* wait_event(c.wq, () => c.done, 'op:device_wait');
      return { result: c.result };
    }
    case 'gpu_read':
    case 'gpu_write':
    case 'snapshot':
    case 'migrate_to_device':
    case 'migrate_to_host':
    case 'make_exclusive':
    case 'check_exclusive': {
      const m = (st.names.get(op.mirror) as { mr: MemoryRegion }).mr;
      const dev = st.mrDevice.get(m)!;
      const inst = st.devices.get(dev)!.inst;
      const token = op.op === 'gpu_write' ? k.new_content(name) : -1;
      const stats = { cpages: 0, faults: 0, snapshot: undefined as string | undefined };
      const c = postToDevice(st, dev, function* () {
        if (!inst.mirror_op) return { result: EINVAL, tokens: [] };
        const r = yield* inst.mirror_op(m, op.op, op.offset, op.length, token, name);
        stats.cpages = r.cpages;
        stats.faults = r.faults;
        stats.snapshot = r.snapshot;
        return { result: err(r.result), tokens: r.tokens };
      });
      const t0 = k.now;
      yield* wait_event(c.wq, () => c.done, 'op:device_wait');
      return {
        result: c.result, tokens: c.tokens, waitNs: k.now - t0, counters: { cpages: stats.cpages, faults: stats.faults },
        ...(stats.snapshot !== undefined ? { text: stats.snapshot } : {}),
      };
    }
    case 'fork': {
      const child = yield* do_fork(k, proc, op.as ?? `${proc.name}:child`);
      if (!child) return { result: 'ENOMEM' };
      st.setName(op.as, { kind: 'value' });
      return { result: 'ok' };
    }
    case 'exit':
      yield* killProcess(st, proc, st.sched.current!);
      return { result: 'ok', exited: true };
    case 'writeback_now': {
      const files = op.file ? [k.inodes.get(op.file)!] : [...k.inodes.values()];
      for (const f of files) yield* write_cache_pages(k, f, 0, Infinity);
      return { result: 'ok' };
    }
    case 'reclaim':
      if (op.target === 'buffers') yield* reclaim_buffers(k);
      else yield* shrink_folio_list(k, Math.ceil(op.target / PAGE_SIZE));
      return { result: 'ok' };
    case 'migrate':
      return { result: err(yield* do_migrate_pages(k, mm, addrOf(op.addr, op.offset), op.length)) };
    case 'setlease': {
      const inode = k.inodes.get(op.file)!;
      const handler = op.onBreak;
      // The break runs `onBreak` as a new thread of the lease holder's process (DESIGN §5).
      k.leases.setlease(inode, proc.name, op.type, handler && handler.length ? () => {
        const tname = `${actorName}~break`;
        let a: Actor | null = null;
        a = st.sched.spawn(tname, runActor(st, tname, { process: proc.name, ops: handler }, () => a!));
        st.procActors.get(proc.name)?.push(a);
      } : null);
      return { result: 'ok' };
    }
    case 'poll': {
      const c = (st.names.get(op.wr) as { c: Completion }).c;
      const t0 = k.now;
      yield* wait_event(c.wq, () => c.done, 'op:poll');
      return { result: c.result, tokens: c.tokens, waitNs: k.now - t0 };
    }
    default:
      // Validation refuses ops this build does not implement; reaching here is pinsim's bug.
      throw new Error(`[pinsim internal bug] op ${(op as Op).op} reached the runner unimplemented`);
  }
}

/** Sites where a thread is in user space (or in a sleep a fatal signal ends at once). */
const USER_SITES = new Set(['start', 'op:at', 'op:wait_name', 'op:sleep', 'op:device_wait', 'op:poll']);

/**
 * The process dies of a signal (do_group_exit): its other threads get SIGKILL. One in user space
 * (or in nanosleep, or waiting for its own device op) dies at once, its op EINTR; one inside a kernel
 * path finishes it (interruptible sleeps return EINTR) and dies at the op boundary, so no lock is
 * left held. Then the mm is torn down and the process's MRs are released.
 */
function* killProcess(st: RunState, proc: Process, self: Actor): Co {
  proc.alive = false;
  for (const a of st.procActors.get(proc.name) ?? []) {
    if (a === self || a.state === 'done') continue;
    if (USER_SITES.has(a.site)) {
      for (const [key, r] of st.running) {
        if (r.actor !== a) continue;
        st.results[key] = 'EINTR';
        const as = opAtKey(st.scenario, key)?.as;
        st.ops[key] = { start: r.start, end: st.k.now, blockedNs: 0, lateNs: r.lateNs };
        if (as) {
          st.results[as] = 'EINTR';
          st.ops[as] = st.ops[key] as OpTiming;
        }
        st.running.delete(key);
      }
      st.sched.kill(a);
    } else if (a.state === 'waiting') st.sched.wakeActor(a); // an interruptible sleep re-checks and bails out
  }
  yield* exit_mmap(st.k, proc.mm);
  for (const [, slot] of st.devices) if (slot.inst.release_process) yield* slot.inst.release_process(proc);
}

/** The op an `actor.index` key names. */
export function opAtKey(s: Scenario, key: string): Op | undefined {
  const dot = key.lastIndexOf('.');
  return s.actors[key.slice(0, dot)]?.ops[Number(key.slice(dot + 1))];
}

/** runActor() - the generator of one scenario actor. */
export function* runActor(st: RunState, actorName: string, spec: ActorSpec, self: () => Actor): Co {
  const k = st.k;
  // An actor of a process that a fork creates starts once the fork has happened.
  if (!k.processes.has(spec.process)) yield* wait_event(st.namesWq, () => k.processes.has(spec.process), 'op:wait_fork');
  const proc = k.processes.get(spec.process)!;
  const threads = st.procActors.get(proc.name) ?? [];
  if (!threads.includes(self())) st.procActors.set(proc.name, [...threads, self()]);
  let prevEnd = 0;
  for (let i = 0; i < spec.ops.length; i++) {
    if (!proc.alive) return;
    const op = spec.ops[i] as Op;
    const key = `${actorName}.${i}`;
    const target = op.at ?? (op.after !== undefined ? prevEnd + op.after : undefined);
    if (target !== undefined && target > k.now) yield* delay(target - k.now, 'op:at');
    for (const n of refNames(op)) yield* wait_event(st.namesWq, () => st.names.has(n), 'op:wait_name');
    const me = self();
    const start = k.now;
    const lateNs = target !== undefined ? Math.max(0, start - target) : 0;
    st.running.set(key, { actor: me, blocked0: me.blockedNs, start, lateNs });
    k.emit({ type: 'op_start', time: start, actor: actorName, op: op.op, name: key });
    const blocked0 = me.blockedNs;
    const r = yield* execOp(st, actorName, proc, op, key);
    st.running.delete(key);
    const timing: OpTiming = { start, end: k.now, blockedNs: Math.max(0, me.blockedNs - blocked0 - (r.waitNs ?? 0)), lateNs, ...r.counters };
    st.ops[key] = timing;
    if (op.as) st.ops[op.as] = timing;
    const record = (result: string, tokens: number[] | undefined) => {
      st.results[key] = result;
      if (op.as) st.results[op.as] = result;
      const seen = tokens ? tokensName(k, tokens) : null;
      if (op.as && seen !== null && (op.op === 'load' || op.op === 'dma_read' || op.op === 'poll' || op.op === 'pread' || op.op === 'gpu_read' || op.op === 'make_exclusive')) st.observed[op.as] = seen;
      if (op.as && r.text !== undefined) st.observed[op.as] = r.text;
      k.emit({ type: 'op_end', time: k.now, actor: actorName, op: op.op, name: key, result, blockedNs: timing.blockedNs });
    };
    if (r.deferred) {
      // Posted with wait:false: the op's result is its completion, whenever that comes.
      const c = r.deferred;
      st.running.set(key, { actor: me, blocked0: 0, start, lateNs });
      st.sched.spawn(`${actorName}:cq`, (function* () {
        yield* wait_event(c.wq, () => c.done, 'op:completion');
        st.running.delete(key);
        timing.end = k.now;
        record(c.result, c.tokens);
      })());
    } else record(r.result, r.tokens);
    if (r.result !== 'ok' && r.result !== 'posted' && op.as && !st.names.has(op.as)) st.setName(op.as, { kind: 'failed' });
    else if (op.as && !st.names.has(op.as)) st.setName(op.as, { kind: 'value' });
    prevEnd = k.now;
    if (!proc.alive || r.exited) return; // killed by a sibling's fatal signal while in the kernel, or exited
    if ((r.result === 'SIGBUS' || r.result === 'SIGSEGV') && op.onSignal !== 'continue') {
      yield* killProcess(st, proc, me);
      return;
    }
  }
}
