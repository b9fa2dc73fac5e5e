/**
 * How device ops run: each is the body of an actor named after the device, and the op's actor waits
 * for its completion, unless the op was posted with `wait: false` (then `poll` waits for it).
 */
import type { Co } from '../../engine/actor.js';
import { WaitQueueHead, wait_event, wake_up_all } from '../../engine/waitqueue.js';
import type { DeviceInstance, MemoryRegion } from '../../devices/device.js';
import { EINVAL, type Errno } from '../../mm/errno.js';
import { PINSIM_BUG } from '../../mm/mmdebug.js';
import type { Completion, Exec, OpCtx, RunState } from './state.js';

/** What a device op's body returns: its result and the content tokens it read. */
export interface DeviceOpResult { result: string; tokens: number[] }

/**
 * Run @body (a generator object) on an actor named @dev; Return: its completion (a device op
 * occupies its caller).
 *
 * Bodies are made by module-level generator functions, never by a `function*` expression evaluated
 * per op: every evaluation of one is a new function with a prototype of its own, and the first
 * generator made from it costs about ten times what one from a shared function costs (a new
 * object shape, and every `yield*` over it a megamorphic call).
 */
export function postToDevice(st: RunState, dev: string, body: Co<DeviceOpResult>, c: Completion = newCompletion(dev)): Completion {
  st.sched.spawn(dev, deviceActor(c, body));
  return c;
}

/** A completion of an op on device @dev, not done yet (for a body that fills its counters itself). */
export function newCompletion(dev: string): Completion {
  return { done: false, result: '', tokens: [], wq: new WaitQueueHead(`${dev}.completion`) };
}

/** The device's actor for one op: run @body, then complete @c and wake its waiter. */
function* deviceActor(c: Completion, body: Co<DeviceOpResult>): Co {
  const r = yield* body;
  c.result = r.result;
  c.tokens = r.tokens;
  c.done = true;
  wake_up_all(c.wq);
}

/**
 * complete() - the caller waits for @c (then @after adds what the op produced), unless @op was posted
 * with `wait: false`: then its `as` names the completion for `poll` at once, and what the op produced
 * (a registered MR or mirror) is named when it completes; ops that use it wait until then.
 */
export function* complete(x: OpCtx, op: { readonly as?: string; readonly wait?: boolean }, c: Completion, after?: () => Partial<Exec>): Co<Exec> {
  if (op.wait === false) {
    x.st.post(op.as, c);
    return { result: 'posted', deferred: c };
  }
  const t0 = x.k.now;
  yield* wait_event(c.wq, () => c.done, 'op:device_wait');
  // The op takes what was read; the completion (which its finished device actor still holds) lets go.
  const tokens = c.tokens;
  c.tokens = [];
  const r: Exec = { result: c.result, tokens, waitNs: x.k.now - t0 };
  return after ? Object.assign(r, after()) : r;
}

/** The MR or mirror @name stands for, the device that owns it and its instance. */
export function regionOf(st: RunState, name: string): { mr: MemoryRegion; dev: string; inst: DeviceInstance } {
  const v = st.names.get(name);
  if (v?.kind !== 'mr') PINSIM_BUG(`"${name}" names no MR or mirror`);
  const dev = st.mrDevice.get(v.mr);
  const slot = dev === undefined ? undefined : st.devices.get(dev);
  if (dev === undefined || !slot) PINSIM_BUG(`no device owns "${name}"`);
  return { mr: v.mr, dev, inst: slot.inst };
}

/**
 * regionControl() - a control op on the MR or mirror @name, run by the device that owns it: the
 * errno of @call (null when the device has no such method: EINVAL, as for an unknown ioctl).
 */
export function* regionControl(x: OpCtx, op: { readonly as?: string; readonly wait?: boolean }, name: string,
  call: (inst: DeviceInstance, mr: MemoryRegion) => Co<0 | Errno> | null): Co<Exec> {
  const { mr, dev, inst } = regionOf(x.st, name);
  const c = postToDevice(x.st, dev, controlBody(call, inst, mr));
  return yield* complete(x, op, c);
}

/** The device side of a control op, when its actor runs: @call's errno (EINVAL when the device has no such method). */
function* controlBody(call: (inst: DeviceInstance, mr: MemoryRegion) => Co<0 | Errno> | null, inst: DeviceInstance, mr: MemoryRegion): Co<DeviceOpResult> {
  const run = call(inst, mr);
  const r = run ? yield* run : EINVAL;
  return { result: r === 0 ? 'ok' : r, tokens: [] };
}
