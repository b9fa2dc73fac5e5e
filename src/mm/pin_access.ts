/**
 * (pinsim-only) What a kernel GUP user does through the references it holds, as opposed to a
 * device's DMA: vmsplice's pipe reader or an O_DIRECT write to disk reads the pinned pages
 * (pin_read); an O_DIRECT read or an io_uring fixed-buffer read writes into them (pin_write). The
 * access goes to the frames the GUP took, whatever the process's page tables map now, one page per
 * CPU load/store time. It is traced as a DMA by the reference's holder (`dma_start`, one
 * `dma_access` per page with what a CPU load of the pinning process's mm would see there,
 * `dma_complete`), so the invariant checkers judge it as they judge a device's. A write makes new
 * content but does not dirty the folio: only an unpin with dirty does (set_page_dirty_lock()).
 * Kernel: fs/splice.c (vmsplice pipe buffers), fs/direct-io.c / iomap (O_DIRECT), io_uring/rsrc.c
 * (fixed buffers): they copy to and from the pages GUP returned.
 */
import { delay, type Co } from '../engine/actor.js';
import { cpu_view } from './cpu.js';
import { EINVAL, type Errno } from './errno.js';
import type { Kernel } from './kernel.js';
import type { DmaRef } from './pin_registry.js';
import { PAGE_SIZE } from './types.js';

/** Where a GUP user's buffer lies: @addr (unaligned) and @length, as its gup asked. */
export interface PinnedBuffer {
  readonly ref: DmaRef;
  readonly addr: number;
  readonly length: number;
}

export interface PinAccessResult {
  result: 0 | Errno;
  /** Content tokens read, one per page (pin_read). */
  tokens: number[];
}

/**
 * pin_access() - the holder of @buf's references reads (@token < 0) or writes @token over
 * [offset, offset + length) of its buffer, named @wr in traces.
 * Return: 0, or EINVAL when the range leaves the buffer or the references were released.
 */
function* pin_access(k: Kernel, buf: PinnedBuffer, offset: number, length: number, token: number, wr: string): Co<PinAccessResult> {
  const ref = buf.ref;
  const write = token >= 0;
  const tokens: number[] = [];
  if (ref.released || offset + length > buf.length) return { result: EINVAL, tokens };
  const start = buf.addr + offset;
  const first = Math.floor(start / PAGE_SIZE);
  const n = length === 0 ? 0 : Math.ceil((start + length) / PAGE_SIZE) - first;
  const op = write ? 'pin_write' : 'pin_read';
  const holder = ref.holder;
  const m = k.mem;
  k.emit({ type: 'dma_start', time: k.now, actor: holder, wr, op, device: holder, length, pages: n, ns: n * k.timing.cpuAccessPerPage });
  for (let p = first; p < first + n; p++) {
    const i = p - ref.start / PAGE_SIZE;
    const pfn = ref.pfns[i] ?? -1;
    const got = ref.obtained[i];
    if (pfn < 0 || !got) return { result: EINVAL, tokens };
    const va = p * PAGE_SIZE;
    if (write) m.content[pfn] = token;
    else tokens.push(m.content[pfn] as number);
    const cpu = cpu_view(k, ref.mm.owner, va);
    const bytes = Math.min(start + length, va + PAGE_SIZE) - Math.max(start, va);
    k.emit({
      type: 'dma_access', time: k.now, actor: holder, wr, device: holder, op, length: bytes, mm: ref.mm.owner, va, pfn, gen: got.gen,
      file: got.file, index: got.index, write, token: m.content[pfn] as number, ok: true, cpuPfn: cpu.pfn, cpuToken: cpu.token,
    });
    // A page of memcpy by the CPU; another CPU, a device or the process may run meanwhile.
    yield* delay(k.timing.cpuAccessPerPage, 'pin:page_accessed');
  }
  k.emit({ type: 'dma_complete', time: k.now, actor: holder, wr, device: holder, status: 'ok' });
  return { result: 0, tokens };
}

/**
 * pin_read() - the GUP user reads [offset, offset + length) of its pinned buffer now (vmsplice's
 * pipe reader, an O_DIRECT write to disk). Context: no locks; one CPU load time per page.
 * Return: 0 with the tokens seen, or EINVAL (out of the buffer, or after unpin).
 */
export function* pin_read(k: Kernel, buf: PinnedBuffer, offset: number, length: number, wr: string): Co<PinAccessResult> {
  return yield* pin_access(k, buf, offset, length, -1, wr);
}

/**
 * pin_write() - the GUP user writes new content @token into [offset, offset + length) of its pinned
 * buffer (an O_DIRECT read, an io_uring fixed-buffer read); the folio is not dirtied.
 * Context: no locks; one CPU store time per page. Return: 0, or EINVAL (out of range, after unpin).
 */
export function* pin_write(k: Kernel, buf: PinnedBuffer, offset: number, length: number, token: number, wr: string): Co<PinAccessResult> {
  return yield* pin_access(k, buf, offset, length, token, wr);
}
