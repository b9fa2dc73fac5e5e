/**
 * Executing scenario ops: each actor is a generator that runs its ops in order, honouring `at` /
 * `after`, waiting for the names it refers to, and calling into the kernel model (process ops) or
 * into a device (device ops, run by an actor named after the device). Results, observations and
 * timings are recorded in the run's state.
 */
import { delay, type Actor, type Co } from '../engine/actor.js';
import { wait_event } from '../engine/waitqueue.js';
import { cpu_access } from '../mm/cpu.js';
import { EINVAL, IS_ERR, type Errno } from '../mm/errno.js';
import { exit_mmap } from '../mm/exit.js';
import { get_user_pages_locked, gup_flags_for_era, unpin_user_pages_dirty_lock } from '../mm/gup.js';
import { pin_read, pin_write } from '../mm/pin_access.js';
import type { Process } from '../mm/kernel.js';
import { do_madvise } from '../mm/madvise.js';
import { do_mmap, do_munmap } from '../mm/mmap.js';
import { do_mprotect } from '../mm/mprotect.js';
import { do_mremap } from '../mm/mremap.js';
import { do_msync, do_pread, do_punch_hole, do_pwrite, drop_caches, vfs_fsync_range } from '../mm/fs/read_write.js';
import { do_truncate } from '../mm/truncate.js';
import { do_fork } from '../mm/fork.js';
import { do_migrate_pages } from '../mm/migrate.js';
import { write_cache_pages } from '../mm/page-writeback.js';
import { reclaim_buffers, shrink_folio_list } from '../mm/vmscan.js';
import { PAGE_SIZE } from '../mm/types.js';
import type { OpTiming } from './result.js';
import type { ActorSpec, AddrRef, Op, Scenario } from './types.js';
import { execDeviceOp } from './device_ops.js';
import { refNames, tokensName, RunState, type Exec, type NameVal } from './run_state.js';
export { RunState, refNames, type Completion, type DeviceSlot, type NameVal } from './run_state.js';

/** execOp() - run one op; Return: its result (and what it read). */
function* execOp(st: RunState, actorName: string, proc: Process, op: Op, key: string): Co<Exec> {
  const k = st.k;
  const mm = proc.mm;
  const name = (op.as ?? key);
  // An op that depends on a failed one fails with EINVAL (poll reports the posted op's own result).
  if (op.op !== 'poll') for (const n of refNames(op)) if (st.names.get(n)?.kind === 'failed') return { result: EINVAL };
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
      st.setName(op.as, { kind: 'pins', ref, released: false, addr: start, length: op.length });
      return { result: 'ok' };
    }
    case 'unpin': {
      const v = st.names.get(op.pins) as Extract<NameVal, { kind: 'pins' }>;
      if (v.released) return { result: EINVAL };
      v.released = true;
      yield* unpin_user_pages_dirty_lock(k, v.ref, op.dirty ?? false);
      return { result: 'ok' };
    }
    case 'pin_read':
    case 'pin_write': {
      const v = st.names.get(op.pins) as Extract<NameVal, { kind: 'pins' }>;
      const buf = { ref: v.ref, addr: v.addr, length: v.length };
      const r = op.op === 'pin_read'
        ? yield* pin_read(k, buf, op.offset, op.length, name)
        : yield* pin_write(k, buf, op.offset, op.length, k.new_content(name), name);
      return { result: err(r.result), tokens: r.tokens };
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
    default: {
      const r = yield* execDeviceOp(st, proc, op, name, addrOf);
      if (r) return r;
      // Validation refuses ops this build does not implement; reaching here is pinsim's bug.
      throw new Error(`[pinsim internal bug] op ${op.op} reached the runner unimplemented`);
    }
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
    // poll's `wr` exists once the op is posted; every other name once its op has completed.
    for (const n of refNames(op)) yield* wait_event(st.namesWq, () => st.names.has(n) || (op.op === 'poll' && st.posted.has(n)), 'op:wait_name');
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
      if (op.as && seen !== null && (op.op === 'load' || op.op === 'dma_read' || op.op === 'poll' || op.op === 'pread' || op.op === 'gpu_read' || op.op === 'make_exclusive' || op.op === 'pin_read')) st.observed[op.as] = seen;
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
        if (c.counters) Object.assign(timing, c.counters);
        record(c.result, c.tokens);
        if (op.as && c.text !== undefined) st.observed[op.as] = c.text;
        if (op.as && !st.names.has(op.as)) st.setName(op.as, c.result === 'ok' ? { kind: 'value' } : { kind: 'failed' });
      })());
    } else record(r.result, r.tokens);
    if (r.deferred) { /* named at completion, above */ }
    else if (r.result !== 'ok' && op.as && !st.names.has(op.as)) st.setName(op.as, { kind: 'failed' });
    else if (op.as && !st.names.has(op.as)) st.setName(op.as, { kind: 'value' });
    prevEnd = k.now;
    if (!proc.alive || r.exited) return; // killed by a sibling's fatal signal while in the kernel, or exited
    if ((r.result === 'SIGBUS' || r.result === 'SIGSEGV') && op.onSignal !== 'continue') {
      yield* killProcess(st, proc, me);
      return;
    }
  }
}
