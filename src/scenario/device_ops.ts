/**
 * Device ops of a scenario (DESIGN §5): reg_mr, dereg_mr, DMA (waited for or posted with
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
    case 'poll': {
      const c = (st.names.get(op.wr) as { c: Completion }).c;
      const t0 = k.now;
      yield* wait_event(c.wq, () => c.done, 'op:poll');
      return { result: c.result, tokens: c.tokens, waitNs: k.now - t0 };
    }
    default:
      return null;
  }
}
