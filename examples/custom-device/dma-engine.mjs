// @ts-check
/**
 * dma-engine: a user-written device model, registered beside the built-in ones. It is a copy engine
 * whose driver pins user pages *per transfer*, as O_DIRECT and most DMA engines do: `reg_mr` only
 * records a window of the process's address space (no pin, no MMU notifier); each DMA pins the pages
 * it touches with pin_user_pages() (FOLL_PIN; FOLL_GET before 5.7, no FOLL_LONGTERM), moves them one
 * page at a time over `dmaLatency`, and releases them with unpin_user_pages_dirty_lock() (dirty when
 * the device wrote). Because it pins late and briefly, it follows the address space: after a truncate
 * or munmap its next transfer faults (remote-access-error) instead of writing a page the file lost.
 *
 * A device model is a const ops table (as pinsim's own models are): `name`, `description`, `params` (each with kind,
 * default and doc; COMMON_DEVICE_PARAMS adds `iommu` and `pcieErrorHandling`), the device `ops` it
 * executes, and `create(ctx)` returning the instance whose optional methods the runner calls. The
 * methods are generators: every `yield*` is a point where another actor (a CPU, another device) may
 * run. Everything comes through `ctx`: the kernel `ctx.k`, the device's name, its params, its PRNG
 * stream and its IOMMU domain.
 */
import {
  COMMON_DEVICE_PARAMS, EINVAL, IS_ERR, PAGE_SIZE, delay, dma_iommu_fault, dma_map_translation, dma_transfer_page,
  dma_unmap_translation, get_user_pages_unlocked, gup_flags_for_era, page_bytes, schedPoint, unpin_user_pages_dirty_lock,
} from './kit.mjs';

/** @typedef {import('pinsim').DeviceModel} DeviceModel */
/** @typedef {import('pinsim').DeviceCtx} DeviceCtx */
/** @typedef {import('pinsim').DeviceInstance} DeviceInstance */
/** @typedef {import('pinsim').DmaRequest} DmaRequest */
/** @typedef {import('pinsim').DmaResult} DmaResult */
/** @typedef {import('pinsim').MemoryRegion} MemoryRegion */
/** @typedef {Parameters<NonNullable<DeviceInstance['reg_mr']>>[0]} Process */
/**
 * The window a `reg_mr` opens: addresses in the process, nothing held.
 * @typedef {MemoryRegion & { name: string, proc: Process, start: number, writable: boolean, closed: boolean }} Window
 */

/**
 * @param {DeviceCtx} ctx
 * @returns {DeviceInstance}
 */
function create(ctx) {
  const k = ctx.k;
  const dmaLatency = /** @type {number} */ (ctx.params['dmaLatency']);
  /** @type {Window[]} */
  const windows = [];

  return {
    /** Open a window on [addr, addr + length): recorded only, nothing pinned. */
    *reg_mr(proc, addr, length, access, name) {
      if (length === 0) return EINVAL;
      /** @type {Window} */
      const w = { device: ctx.name, length, name, proc, start: addr, writable: access === 'rw', closed: false };
      windows.push(w);
      // The ioctl returns to user space: another actor may run.
      yield* schedPoint('dma-engine:window_opened');
      return w;
    },

    /** Close a window; transfers already running finish with the pages they pinned. */
    *dereg_mr(m) {
      const w = /** @type {Window} */ (m);
      if (w.closed) return EINVAL;
      w.closed = true;
      yield* schedPoint('dma-engine:window_closed');
      return 0;
    },

    /**
     * One transfer: pin the pages (short-term), DMA-map them, move them one at a time, then unmap and
     * unpin, dirtying what the device wrote.
     * @param {DmaRequest} req
     * @returns {Generator<any, DmaResult, boolean>}
     */
    *dma(req) {
      const w = /** @type {Window} */ (req.mr);
      /** @type {number[]} */
      const tokens = [];
      if (w.closed || req.offset + req.length > w.length || (req.write && !w.writable) || req.length === 0) {
        yield* delay(dmaLatency, 'dma-engine:bad_descriptor');
        return { status: 'remote-access-error', tokens };
      }
      const base = w.start + req.offset;
      const first = Math.floor(base / PAGE_SIZE) * PAGE_SIZE;
      const n = Math.ceil((base + req.length) / PAGE_SIZE) - first / PAGE_SIZE;
      // pin_user_pages(FOLL_WRITE when the device writes memory): FOLL_PIN from 5.7, FOLL_GET before.
      const flags = gup_flags_for_era(k, false, true, false, req.write, false);
      if (IS_ERR(flags)) return { status: 'device-error', tokens };
      const ref = yield* get_user_pages_unlocked(k, w.proc.mm, first, n, flags, ctx.name);
      if (IS_ERR(ref)) {
        // The driver could not pin the buffer (no VMA, SIGBUS beyond EOF, …): the descriptor fails.
        yield* delay(dmaLatency, 'dma-engine:pin_failed');
        return { status: 'remote-access-error', tokens };
      }
      k.emit({
        type: 'dma_start', time: k.now, actor: ctx.name, wr: req.wr, op: req.write ? 'dma_write' : 'dma_read', device: ctx.name,
        length: req.length, pages: n, ns: dmaLatency,
      });
      const xs = ref.pfns.map((pfn, i) => dma_map_translation(ctx, pfn, w.proc.mm.owner, first + i * PAGE_SIZE));
      const step = Math.floor(dmaLatency / n);
      let status = /** @type {DmaResult['status']} */ ('ok');
      for (const [i, x] of xs.entries()) {
        // Each page access is a point where the CPU side may run first.
        if (i === 0) yield* schedPoint('dma-engine:dma_page');
        else yield* delay(step, 'dma-engine:dma_page');
        // The trace names the op and how many bytes of this page the transfer moves.
        const seen = dma_transfer_page(ctx, x, req.write, req.token, req.wr, req.write ? 'dma_write' : 'dma_read', page_bytes(base, req.length, x.va));
        if (seen < 0) {
          status = yield* dma_iommu_fault(ctx);
          break;
        }
        tokens.push(seen);
      }
      if (status === 'ok') yield* delay(dmaLatency - step * (n - 1), 'dma-engine:dma_done');
      for (const x of xs) dma_unmap_translation(ctx, x);
      // Pairs with get_user_pages_unlocked() above: set_page_dirty_lock() then unpin, as O_DIRECT reads do.
      yield* unpin_user_pages_dirty_lock(k, ref, req.write);
      return { status, tokens };
    },

    /** The process exits: its windows close (nothing is pinned between transfers). */
    *release_process(proc) {
      for (const w of windows) if (w.proc === proc) w.closed = true;
    },
  };
}

/** @type {DeviceModel} */
export const dma_engine = {
  name: 'dma-engine',
  description: 'user-written copy engine: pins per transfer (pin_user_pages, not long-term), unpins with dirty at completion',
  params: {
    dmaLatency: { kind: 'time', default: 1000, doc: 'time from posting a transfer to its completion' },
    ...COMMON_DEVICE_PARAMS,
  },
  ops: ['reg_mr', 'dereg_mr', 'dma_read', 'dma_write'],
  create,
};
