import { describe, expect, it } from 'vitest';
import { IS_ERR } from '../../../src/mm/errno.js';
import { get_user_pages_unlocked, gup_flags_for_era, unpin_user_pages_dirty_lock } from '../../../src/mm/gup.js';
import { do_mmap } from '../../../src/mm/mmap.js';
import type { DmaRef } from '../../../src/mm/pin_registry.js';
import { FOLL_FORCE, FOLL_GET, FOLL_LONGTERM, FOLL_PIN, FOLL_WRITE, GUP_PIN_COUNTING_BIAS } from '../../../src/mm/types.js';
import { makeKernel, PAGE, type TestKernel } from '../../helpers/kernel.js';

function map(t: TestKernel, o: { file?: string; shared?: boolean; prot?: 'r' | 'rw'; pages?: number } = {}): number {
  const p = t.k.processes.get('p') ?? t.k.create_process('p');
  const file = o.file ? (t.k.inodes.get(o.file) ?? t.k.create_inode(o.file, o.file === 'shm' ? 'tmpfs' : 'ext4', false, 16 * PAGE)) : null;
  const r = t.run(do_mmap(t.k, p.mm, {
    addr: null, length: (o.pages ?? 2) * PAGE, prot: o.prot ?? 'rw', shared: o.shared ?? false, private: !(o.shared ?? false),
    fixed: false, populate: false, file, offset: 0,
  }, 'shmem'));
  if (IS_ERR(r)) throw new Error(r);
  return r;
}

function gup(t: TestKernel, addr: number, n: number, flags: number) {
  return t.run(get_user_pages_unlocked(t.k, t.k.processes.get('p')!.mm, addr, n, flags, 'nic0'));
}

describe('GUP reference arithmetic per era', () => {
  it('under linux-4.20 a long-term "pin" is a FOLL_GET reference: refcount +1 per page, no pincount', () => {
    const t = makeKernel('4.20');
    const a = map(t);
    const flags = gup_flags_for_era(t.k, false, true, true, true, false) as number;
    expect(flags & FOLL_GET).toBeTruthy();
    expect(flags & FOLL_PIN).toBe(0);
    const ref = gup(t, a, 2, flags) as DmaRef;
    expect(IS_ERR(ref)).toBe(false);
    for (const pfn of ref.pfns) {
      expect(t.k.mem._refcount[pfn]).toBe(2); // PTE + FOLL_GET
      expect(t.k.mem._pincount[pfn]).toBe(0);
    }
    const ev = t.events.find((e) => e.type === 'dma_ref_get');
    expect(ev && ev.type === 'dma_ref_get' && ev.api).toBe('get_user_pages_longterm');
  });

  it('under linux-6.12 FOLL_PIN adds GUP_PIN_COUNTING_BIAS and counts the pin; unpin restores both', () => {
    const t = makeKernel('6.12');
    const a = map(t);
    const ref = gup(t, a, 2, FOLL_PIN | FOLL_LONGTERM | FOLL_WRITE) as DmaRef;
    const pfn = ref.pfns[0] as number;
    expect(t.k.mem._refcount[pfn]).toBe(1 + GUP_PIN_COUNTING_BIAS);
    expect(t.k.mem._pincount[pfn]).toBe(1);
    expect(t.k.vmstat.nr_foll_pin_acquired).toBe(2);
    expect(t.k.processes.get('p')!.mm.has_pinned).toBe(true);
    t.run(unpin_user_pages_dirty_lock(t.k, ref, false));
    expect(t.k.mem._refcount[pfn]).toBe(1);
    expect(t.k.mem._pincount[pfn]).toBe(0);
    expect(t.k.vmstat.nr_foll_pin_released).toBe(2);
    expect(t.k.pins.live.size).toBe(0);
  });

  it('FOLL_GET together with FOLL_PIN WARNs and fails EINVAL from 5.7, and means two FOLL_GETs in 4.20', () => {
    const t = makeKernel('6.12');
    expect(gup_flags_for_era(t.k, true, true, false, false, false)).toBe('EINVAL');
    expect(t.events.some((e) => e.type === 'kernel_warn' && e.site.includes('is_valid_gup_args'))).toBe(true);
    const old = makeKernel('4.20');
    expect(gup_flags_for_era(old.k, true, true, false, false, false)).toBe(FOLL_GET);
    expect(old.events.some((e) => e.type === 'kernel_warn')).toBe(false);
  });

  it('FOLL_LONGTERM without FOLL_PIN is refused under 6.12 (is_valid_gup_args) but is get_user_pages_longterm in 4.20', () => {
    expect(gup_flags_for_era(makeKernel('6.12').k, true, false, true, false, false)).toBe('EINVAL');
    expect(gup_flags_for_era(makeKernel('4.20').k, true, false, true, false, false)).toBe(FOLL_GET | FOLL_LONGTERM);
  });
});

describe('check_vma_flags admission (kernel-semantics §1.4)', () => {
  it('a writable long-term pin of a shared ext4 mapping is refused with EFAULT from 6.5, and nothing stays referenced', () => {
    const t = makeKernel('6.12');
    const a = map(t, { file: 'f', shared: true });
    expect(gup(t, a, 2, FOLL_PIN | FOLL_LONGTERM | FOLL_WRITE)).toBe('EFAULT');
    expect(t.k.pins.live.size).toBe(0);
    expect(t.k.vmstat.nr_foll_pin_acquired).toBe(0);
  });

  it('the same pin is granted under 4.20, and on shmem and private anonymous memory under 6.12', () => {
    const old = makeKernel('4.20');
    expect(IS_ERR(gup(old, map(old, { file: 'f', shared: true }), 2, FOLL_GET | FOLL_LONGTERM | FOLL_WRITE))).toBe(false);
    const t = makeKernel('6.12');
    expect(IS_ERR(gup(t, map(t, { file: 'shm', shared: true }), 2, FOLL_PIN | FOLL_LONGTERM | FOLL_WRITE))).toBe(false);
    expect(IS_ERR(gup(t, map(t), 2, FOLL_PIN | FOLL_LONGTERM | FOLL_WRITE))).toBe(false);
  });

  it('a short-term writable pin of a shared ext4 mapping is allowed under 6.12 (O_DIRECT)', () => {
    const t = makeKernel('6.12');
    expect(IS_ERR(gup(t, map(t, { file: 'f', shared: true }), 1, FOLL_PIN | FOLL_WRITE))).toBe(false);
  });

  it('FOLL_WRITE on a read-only VMA is EFAULT; FOLL_FORCE breaks COW on a private one and EFAULTs on a shared one', () => {
    const t = makeKernel('4.20');
    const ro = map(t, { prot: 'r' });
    expect(gup(t, ro, 1, FOLL_GET | FOLL_WRITE)).toBe('EFAULT');
    const ref = gup(t, ro, 1, FOLL_GET | FOLL_WRITE | FOLL_FORCE) as DmaRef;
    expect(IS_ERR(ref)).toBe(false);
    expect(t.k.is_anon(ref.pfns[0] as number)).toBe(true);
    const shro = map(t, { file: 'f', shared: true, prot: 'r' });
    expect(gup(t, shro, 1, FOLL_GET | FOLL_WRITE | FOLL_FORCE)).toBe('EFAULT');
  });

  it('a range running off the end of its VMA fails EFAULT and releases the pages already taken', () => {
    const t = makeKernel('6.12');
    const a = map(t, { pages: 2 });
    expect(gup(t, a, 3, FOLL_PIN | FOLL_WRITE)).toBe('EFAULT');
    expect(t.k.pins.live.size).toBe(0);
    expect(t.k.vmstat.nr_foll_pin_acquired).toBe(t.k.vmstat.nr_foll_pin_released);
  });

  it('pinning the shared zero page takes no reference and no pin', () => {
    const t = makeKernel('6.12');
    const a = map(t);
    const ref = gup(t, a, 1, FOLL_PIN) as DmaRef;
    expect(ref.pfns[0]).toBe(0);
    expect(ref.refs[0]).toBe(0);
    expect(t.k.vmstat.nr_foll_pin_acquired).toBe(0);
  });
});
