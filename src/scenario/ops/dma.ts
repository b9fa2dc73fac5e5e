/** dma_read / dma_write: the NIC moves data through an MR (an RDMA READ or WRITE served by it). */
import { complete, postToDevice, regionOf, type DeviceOpResult } from '../run/device.js';
import type { DeviceInstance, MemoryRegion } from '../../devices/device.js';
import type { Exec, OpCtx } from '../run/state.js';
import type { Co } from '../../engine/actor.js';
import { INNER } from './common.js';
import { F, deviceOp } from './op.js';

const fields = { mr: F.mr('the `as` of the reg_mr', { required: true }), ...INNER };
const results = ['ok', 'remote-access-error', 'device-error'];

/** One DMA over the MR's [offset, offset + length): a page access at a time, completing after dmaLatency. */
function* dma(x: OpCtx, op: { mr: string; offset: number; length: number; as?: string; wait?: boolean }, write: boolean): Co<Exec> {
  const k = x.k;
  const { mr, dev, inst } = regionOf(x.st, op.mr);
  const token = write ? k.new_content(x.name) : -1;
  const c = postToDevice(x.st, dev, dmaBody(x, dev, inst, mr, write, op.offset, op.length, token));
  return yield* complete(x, op, c);
}

/** The NIC's side of one DMA: the device model's dma(), then its completion traced. */
function* dmaBody(x: OpCtx, dev: string, inst: DeviceInstance, mr: MemoryRegion, write: boolean, offset: number, length: number, token: number): Co<DeviceOpResult> {
  if (!inst.dma) return { result: 'remote-access-error', tokens: [] };
  const k = x.k;
  const r = yield* inst.dma({ mr, write, offset, length, token, wr: x.name });
  k.emit({ type: 'dma_complete', time: k.now, actor: dev, wr: x.name, device: dev, status: r.status });
  return { result: r.status, tokens: r.tokens };
}

export const dma_read = deviceOp({
  name: 'dma_read',
  doc: 'the NIC reads the MR\'s range (a page access every dmaLatency/n); its `as` records what it saw in `observed`',
  produces: 'read',
  observes: true,
  results,
  fields,
  exec: (x, op) => dma(x, op, false),
});

export const dma_write = deviceOp({
  name: 'dma_write',
  doc: 'the NIC writes new content (named by `as`) into the MR\'s range',
  produces: 'write',
  results,
  fields,
  exec: (x, op) => dma(x, op, true),
});
