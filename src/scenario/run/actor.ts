/**
 * Running one scenario actor: a generator that runs its ops in order, honouring `at` / `after`,
 * waiting for the names each op refers to, and handing the op to its descriptor's executor. What the
 * op did is recorded through record.ts.
 */
import { delay, type Actor, type Co } from '../../engine/actor.js';
import { formatTime } from '../../engine/clock.js';
import { wait_event } from '../../engine/waitqueue.js';
import { EINVAL } from '../../mm/errno.js';
import type { Process } from '../../mm/kernel.js';
import { PINSIM_BUG } from '../../mm/mmdebug.js';
import type { ActorSpec } from '../format/types.js';
import type { AddrRef, OpDescriptor } from '../ops/op.js';
import { opDescriptor, type Op } from '../ops/table.js';
import { killProcess } from './kill.js';
import { recordResult, recordTiming } from './record.js';
import type { OpTiming } from './result.js';
import type { Completion, Exec, OpCtx, RunState } from './state.js';

/** The names @op refers to, in field order (it waits until each exists). */
export function refNames(d: OpDescriptor, op: Op): string[] {
  const o: Readonly<Record<string, unknown>> = op;
  const r: string[] = [];
  for (const f of d.refs) if (typeof o[f] === 'string') r.push(o[f]);
  return r;
}

/** The fields every op may carry, whatever its kind. */
interface OpCommon { readonly op: string; readonly at?: number; readonly after?: number; readonly as?: string; readonly onSignal?: string }

/** The default of `kernel.lateWarn`: 10 µs. */
const LATE_WARN_NS = 10_000;

/**
 * lateNote() - the note for op @key that started at @start, later than its lower bound @target: what
 * kept it (its actor's previous op @prev still running at @target, a name it waited for, or other
 * work the scheduler ran first at the same instant).
 */
function lateNote(key: string, c: OpCommon, target: number, start: number, prevEnd: number, prev: { key: string; op: string } | undefined,
  waitedFor: string | undefined): string {
  const what = `${key}${c.as ? ` (${c.as})` : ''} ${c.op}`;
  const bound = c.at !== undefined ? `"at": ${formatTime(target)}` : `"after" (due at ${formatTime(target)})`;
  const cause = prev && prevEnd > target ? `its actor's previous op ${prev.key} (${prev.op}) ran until ${formatTime(prevEnd)}`
    : waitedFor !== undefined ? `it waited for "${waitedFor}", which its op produced only at ${formatTime(start)}`
    : 'other work ran first at that instant';
  return `${what} started at ${formatTime(start)}, ${formatTime(start - target)} after its ${bound}: ${cause}`;
}

/** An op's result known before it runs (it depends on a failed one). */
function* settled(r: Exec): Co<Exec> {
  return r;
}

/**
 * execOp() - one op through its descriptor's executor. Return: the executor's coroutine itself (not
 * a generator around it: every resumption of the op's actor goes through each generator it
 * delegates to, one level fewer for the whole op), whose result is the op's (and what it read).
 */
function execOp(st: RunState, actor: string, proc: Process, d: OpDescriptor, op: Op, key: string): Co<Exec> {
  const c: OpCommon = op;
  // An op that depends on a failed one fails with EINVAL (poll reports the posted op's own result).
  if (op.op !== 'poll') for (const n of refNames(d, op)) if (st.names.get(n)?.kind === 'failed') return settled({ result: EINVAL });
  if (!d.exec) return PINSIM_BUG(`op ${op.op} reached the runner unbuilt`);
  const x: OpCtx = {
    st, k: st.k, actor, proc, key, name: c.as ?? key,
    addrOf(a: AddrRef | undefined, off: number | undefined): number {
      if (a === undefined) return 0;
      if (typeof a === 'number') return a + (off ?? 0);
      const v = st.names.get(a);
      return v?.kind === 'addr' ? v.addr + (off ?? 0) : PINSIM_BUG(`"${a}" names no address`);
    },
    spawnThread(thread, ops) {
      let a: Actor | null = null;
      a = st.sched.spawn(thread, runActor(st, thread, { process: proc.name, ops: [...ops] }, () => a!));
      st.procActors.get(proc.name)?.push(a);
    },
  };
  return d.exec(x, op);
}

/** finishOp() - record op @key's result and trace its end; its `as` names a value, or a failure. */
function finishOp(st: RunState, actorName: string, d: OpDescriptor, op: Op, key: string, blockedNs: number,
  result: string, tokens: number[] | undefined, text: string | undefined): void {
  const as = (op as OpCommon).as;
  recordResult(st, key, as, result, { d, tokens, text });
  st.k.emit({ type: 'op_end', time: st.k.now, actor: actorName, op: op.op, name: key, result, blockedNs });
  if (as && !st.names.has(as)) st.setName(as, result === 'ok' ? { kind: 'value' } : { kind: 'failed' });
}

/** The actor that waits for a posted op's completion @cq, then finishes the op as it completed. */
function* awaitCompletion(st: RunState, actorName: string, d: OpDescriptor, op: Op, key: string, timing: OpTiming, cq: Completion): Co {
  yield* wait_event(cq.wq, () => cq.done, 'op:completion');
  st.running.delete(key);
  timing.end = st.k.now;
  if (cq.counters) Object.assign(timing, cq.counters);
  finishOp(st, actorName, d, op, key, timing.blockedNs, cq.result, cq.tokens, cq.text);
}

/** runActor() - the generator of one scenario actor (or of a lease break's onBreak thread). */
export function* runActor(st: RunState, actorName: string, spec: ActorSpec, self: () => Actor): Co {
  const k = st.k;
  // An actor of a process that a fork creates starts once the fork has happened.
  if (!k.processes.has(spec.process)) yield* wait_event(st.namesWq, () => k.processes.has(spec.process), 'op:wait_fork');
  const proc = k.processes.get(spec.process) ?? PINSIM_BUG(`no process "${spec.process}"`);
  const threads = st.procActors.get(proc.name) ?? [];
  if (!threads.includes(self())) st.procActors.set(proc.name, [...threads, self()]);
  let prevEnd = 0;
  for (let i = 0; i < spec.ops.length; i++) {
    if (!proc.alive) return;
    const op = spec.ops[i] as Op;
    const c: OpCommon = op;
    const d = opDescriptor(op.op) ?? PINSIM_BUG(`unknown op ${op.op}`);
    const key = `${actorName}.${i}`;
    const target = c.at ?? (c.after !== undefined ? prevEnd + c.after : undefined);
    if (target !== undefined && target > k.now) yield* delay(target - k.now, 'op:at');
    // poll's `wr` exists once the op is posted; every other name once its op has completed.
    let waitedFor: string | undefined;
    for (const n of refNames(d, op)) {
      const ready = () => st.names.has(n) || (op.op === 'poll' && st.posted.has(n));
      if (!ready()) waitedFor = n;
      yield* wait_event(st.namesWq, ready, 'op:wait_name');
    }
    const me = self();
    const start = k.now;
    const lateNs = target !== undefined ? Math.max(0, start - target) : 0;
    if (target !== undefined && lateNs > (st.scenario.kernel.lateWarn ?? LATE_WARN_NS)) {
      const prev = i > 0 ? { key: `${actorName}.${i - 1}`, op: (spec.ops[i - 1] as Op).op } : undefined;
      st.notes.push(lateNote(key, c, target, start, prevEnd, prev, waitedFor));
    }
    st.running.set(key, { actor: me, blocked0: me.blockedNs, start, lateNs });
    k.emit({ type: 'op_start', time: start, actor: actorName, op: op.op, name: key });
    const blocked0 = me.blockedNs;
    const r = yield* execOp(st, actorName, proc, d, op, key);
    st.running.delete(key);
    const timing: OpTiming = { start, end: k.now, blockedNs: Math.max(0, me.blockedNs - blocked0 - (r.waitNs ?? 0)), lateNs, ...r.counters };
    recordTiming(st, key, c.as, timing);
    if (r.deferred) {
      // Posted with wait:false: the op's result is its completion, whenever that comes; the name
      // is produced then.
      st.running.set(key, { actor: me, blocked0: 0, start, lateNs });
      st.sched.spawn(`${actorName}:cq`, awaitCompletion(st, actorName, d, op, key, timing, r.deferred));
    } else {
      finishOp(st, actorName, d, op, key, timing.blockedNs, r.result, r.tokens, r.text);
    }
    prevEnd = k.now;
    if (!proc.alive || r.exited) return; // killed by a sibling's fatal signal while in the kernel, or exited
    if ((r.result === 'SIGBUS' || r.result === 'SIGSEGV') && c.onSignal !== 'continue') {
      yield* killProcess(st, proc, me);
      return;
    }
  }
}
