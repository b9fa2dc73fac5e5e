/**
 * Device ops of a scenario: reg_mr, dereg_mr, DMA (waited for or posted with
 * `wait: false`, then `poll`), advise_mr, and the GPU mirror's ops. Each runs on an actor named after
 * the device; the caller waits for its completion unless it posted it.
 */
import { type Co } from '../engine/actor.js';
import { wait_event } from '../engine/waitqueue.js';
import type { MemoryRegion } from '../devices/device.js';
import { EINVAL, IS_ERR, type Errno } from '../mm/errno.js';
import type { Process } from '../mm/kernel.js';
import type { AddrRef, Op } from './types.js';
import { postToDevice, type Completion, type Exec, type RunState } from './run_state.js';
/** execDeviceOp() - run a device op for @proc. Return: its result, or null when @op is not a device op. */
export function* execDeviceOp(st: RunState, proc: Process, op: Op, name: string, addrOf: (a: AddrRef | undefined, off: number | undefined) => number): Co<Exec | null> {
  const k = st.k;
  const err = (x: 0 | Errno): string => (x === 0 ? 'ok' : x);
  const posted = op.wait === false;
  /**
   * The caller waits for @c (then @after adds what the op produced), unless the op was posted with
   * `wait: false`: then its `as` names the completion for `poll` at once, and what the op produced
   * (a registered MR or mirror) is named when it completes; ops that use it wait until then.
   */
  function* complete(c: Completion, after?: () => Partial<Exec>): Co<Exec> {
    if (posted) {
      st.post(op.as, c);
      return { result: 'posted', deferred: c };
    }
    const t0 = k.now;
    yield* wait_event(c.wq, () => c.done, 'op:device_wait');
    return { result: c.result, tokens: c.tokens, waitNs: k.now - t0, ...(after ? after() : {}) };
  }
  switch (op.op) {
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
        st.mrDevice.set(r, op.device);
        if (posted) st.setName(op.as, { kind: 'mr', mr: r });
        return { result: 'ok', tokens: [] };
      });
      return yield* complete(c, () => {
        if (mr) st.setName(op.as, { kind: 'mr', mr });
        return {};
      });
    }
    case 'dereg_mr': {
      const mr = (st.names.get(op.mr) as { mr: MemoryRegion }).mr;
      const dev = st.mrDevice.get(mr)!;
      const inst = st.devices.get(dev)!.inst;
      const c = postToDevice(st, dev, function* () {
        return { result: err(inst.dereg_mr ? yield* inst.dereg_mr(mr) : EINVAL), tokens: [] };
      });
      return yield* complete(c);
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
      return yield* complete(c);
    }
    case 'advise_mr': {
      const mr = (st.names.get(op.mr) as { mr: MemoryRegion }).mr;
      const dev = st.mrDevice.get(mr)!;
      const inst = st.devices.get(dev)!.inst;
      const c = postToDevice(st, dev, function* () {
        return { result: err(inst.advise_mr ? yield* inst.advise_mr(mr, op.advice, op.offset, op.length) : EINVAL), tokens: [] };
      });
      return yield* complete(c);
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
        st.mrDevice.set(r, op.device);
        if (posted) st.setName(op.as, { kind: 'mr', mr: r });
        return { result: 'ok', tokens: [] };
      });
      return yield* complete(c, () => {
        if (handle) st.setName(op.as, { kind: 'mr', mr: handle });
        return {};
      });
    }
    case 'unmirror': {
      const m = (st.names.get(op.mirror) as { mr: MemoryRegion }).mr;
      const dev = st.mrDevice.get(m)!;
      const inst = st.devices.get(dev)!.inst;
      const c = postToDevice(st, dev, function* () {
        return { result: err(inst.unmirror ? yield* inst.unmirror(m) : EINVAL), tokens: [] };
      });
      return yield* complete(c);
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
        c.counters = { cpages: r.cpages, faults: r.faults };
        if (r.snapshot !== undefined) c.text = r.snapshot;
        return { result: err(r.result), tokens: r.tokens };
      });
      return yield* complete(c, () => ({
        counters: { cpages: stats.cpages, faults: stats.faults },
        ...(stats.snapshot !== undefined ? { text: stats.snapshot } : {}),
      }));
    }
    case 'poll': {
      const c = st.posted.get(op.wr);
      if (!c) {
        // The op failed before it could be posted (a failed dependency, an op the device lacks):
        // poll reports that result.
        const failed = st.results[op.wr];
        if (failed === undefined) throw new Error(`[pinsim internal bug] poll: "${op.wr}" names no posted device op`);
        return { result: failed };
      }
      const t0 = k.now;
      yield* wait_event(c.wq, () => c.done, 'op:poll');
      return { result: c.result, tokens: c.tokens, waitNs: k.now - t0, ...(c.text !== undefined ? { text: c.text } : {}) };
    }
    default:
      return null;
  }
}
