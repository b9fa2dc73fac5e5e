/**
 * get_user_pages and pin_user_pages: walk the range, fault pages in, check each VMA
 * (check_vma_flags, per era) and take a DMA reference per page with the
 * era's arithmetic: FOLL_GET adds 1; FOLL_PIN (5.7+) adds GUP_PIN_COUNTING_BIAS and counts the pin.
 * Before 5.7 there is no FOLL_PIN: a "pin" is a FOLL_GET reference. Every reference is recorded in
 * the pin registry for its holder. How GUP meets copy-on-write is the era's: FOLL_FORCE writes of
 * read-only private VMAs through FOLL_COW (before 6.0) or PageAnonExclusive (6.0+), the 5.8 forced
 * COW break of every GUP of a COW mapping, and the 5.19/6.2 unshare faults of read-only pins
 * (docs/cow-gup-eras.md).
 * Kernel: mm/gup.c __get_user_pages(), follow_page_pte(), faultin_page(), check_vma_flags(),
 * try_grab_folio(), gup_put_folio(), unpin_user_pages_dirty_lock(), is_valid_gup_args();
 * mm/internal.h gup_must_unshare(); v4.15 get_user_pages_longterm().
 * Simplified: GUP-fast is the slow path; order-0 folios only.
 */
import { HPAGE_PMD_NR, pmd_trans_huge } from './huge_memory.js';
import { delay, type Co } from '../engine/actor.js';
import { EFAULT, EINVAL, ENOMEM, EOPNOTSUPP, type Errno } from './errno.js';
import type { Kernel } from './kernel.js';
import { down_read, up_read } from './locking.js';
import { __handle_mm_fault, vpn } from './memory.js';
import {
  find_vma, is_cow_mapping, pte_dirty, pte_pfn, pte_present, pte_write, vma_is_fsdax, vma_needs_dirty_tracking, type MmStruct, type VmAreaStruct,
} from './mm_types.js';
import { PINSIM_BUG, WARN_ON_ONCE } from './mmdebug.js';
import { folio_has_pincount, PageAnonExclusive } from './page-flags.js';
import { do_migrate_pages } from './migrate.js';
import { folio_is_longterm_pinnable } from './mmzone.js';
import { set_page_dirty_lock } from './page-writeback.js';
import type { DmaRef } from './pin_registry.js';
import type { MmEventOf } from './trace_events.js';
import {
  FAULT_FLAG_UNSHARE, FAULT_FLAG_WRITE, FOLL_COW, FOLL_FORCE, FOLL_GET, FOLL_LONGTERM, FOLL_PIN, FOLL_WRITE, foll_names,
  GUP_PIN_COUNTING_BIAS, PAGE_SIZE, PG_dirty, VM_FAULT_OOM, VM_FAULT_SIGBUS, VM_FAULT_SIGSEGV, VM_FAULT_WRITE, VM_IO,
  VM_MAYREAD, VM_MAYSHARE, VM_MAYWRITE, VM_PFNMAP, VM_READ, VM_SHARED, VM_WRITE, ZERO_PFN,
} from './types.js';

/**
 * gup_flags_for_era() - the FOLL_* flags a caller's request means in this era: before 5.7 a pin is
 * FOLL_GET. Return: the flags, or EINVAL (with a WARN, as is_valid_gup_args) for misuse the era
 * rejects: FOLL_GET with FOLL_PIN (5.7+), FOLL_LONGTERM without FOLL_PIN (6.4+).
 */
export function gup_flags_for_era(k: Kernel, get: boolean, pin: boolean, longterm: boolean, write: boolean, force: boolean): number | Errno {
  const f = k.features;
  if (f.gup_get_pin_exclusive && get && pin) {
    WARN_ON_ONCE(k, true, 'mm/gup.c:is_valid_gup_args:FOLL_GET|FOLL_PIN', -1, 'FOLL_GET and FOLL_PIN in one call');
    return EINVAL;
  }
  if (f.gup_longterm_needs_pin && longterm && !pin) {
    WARN_ON_ONCE(k, true, 'mm/gup.c:is_valid_gup_args:FOLL_LONGTERM', -1, 'FOLL_LONGTERM without FOLL_PIN');
    return EINVAL;
  }
  let flags = pin && f.foll_pin ? FOLL_PIN : FOLL_GET;
  if (longterm) flags |= FOLL_LONGTERM;
  if (write) flags |= FOLL_WRITE;
  if (force) flags |= FOLL_FORCE;
  return flags;
}

/** The API a caller of this era used, for causal chains. */
export function gup_api_name(k: Kernel, gup_flags: number): string {
  if (gup_flags & FOLL_PIN) return gup_flags & FOLL_LONGTERM ? 'pin_user_pages(FOLL_LONGTERM)' : 'pin_user_pages';
  if (gup_flags & FOLL_LONGTERM) return k.features.foll_pin ? 'get_user_pages(FOLL_LONGTERM)' : 'get_user_pages_longterm';
  return 'get_user_pages';
}

/**
 * check_vma_flags() - may GUP with @gup_flags touch @vma? The era's checks, in the kernel's order.
 * Return: 0, EFAULT or EOPNOTSUPP (long-term on fsdax).
 */
export function check_vma_flags(k: Kernel, vma: VmAreaStruct, gup_flags: number): 0 | Errno {
  const vm_flags = vma.vm_flags;
  const write = (gup_flags & FOLL_WRITE) !== 0;
  if (vm_flags & (VM_IO | VM_PFNMAP)) return EFAULT;
  // A proposal may decide long-term pins of file pages itself (layout-lease).
  const admit = gup_flags & FOLL_LONGTERM && vma.vm_file && k.policy.ops.longterm_pin_admit ? k.policy.ops.longterm_pin_admit(k, vma) : null;
  if (admit) return admit;
  // get_user_pages_longterm() (4.15) and FOLL_LONGTERM (5.2+) refuse fsdax.
  if (admit === null && gup_flags & FOLL_LONGTERM && vma_is_fsdax(vma)) return EOPNOTSUPP;
  // writable_file_mapping_allowed() (6.5).
  if (write && k.features.longterm_file_write_refused && (gup_flags & (FOLL_PIN | FOLL_LONGTERM)) === (FOLL_PIN | FOLL_LONGTERM)
    && vma_needs_dirty_tracking(vma)) return EFAULT;
  if (write) {
    if (!(vm_flags & VM_WRITE)) {
      if (!(gup_flags & FOLL_FORCE)) return EFAULT;
      if (!is_cow_mapping(vm_flags)) return EFAULT;
    }
  } else if (!(vm_flags & VM_READ)) {
    if (!(gup_flags & FOLL_FORCE) || !(vm_flags & VM_MAYREAD)) return EFAULT;
  }
  return 0;
}

/**
 * try_grab_folio() - take the reference @gup_flags asks for on @nr pages from @pfn (pages of one
 * folio; more than one only for a huge page) for @ref, as the era counts them: FOLL_GET +1 on the
 * folio per page; FOLL_PIN (5.7+) GUP_PIN_COUNTING_BIAS for an order-0 folio, or +1 and +1 pin
 * count per page for a large folio with its own pin count. Pairs with gup_put_folio().
 * The zero page takes nothing (pins on it are no-ops). A large folio's pages are traced as one
 * `dma_ref_get` of `nr` pages on its `head`.
 * Kernel: mm/gup.c try_grab_folio(), follow_hugetlb_page() / gup_hugepte() (a huge page's pages at once).
 */
function try_grab_folio(k: Kernel, ref: DmaRef, pfn: number, va: number, nr = 1): void {
  const m = k.mem;
  const pin = (ref.gup_flags & FOLL_PIN) !== 0;
  const head = m.folio_head(pfn);
  const order = m.folio_order(head);
  const large_pin = pin && folio_has_pincount(k, order);
  const refs = pfn === ZERO_PFN ? 0 : pin && !large_pin ? GUP_PIN_COUNTING_BIAS : 1;
  if (refs) {
    k.folio_ref_add(head, refs * nr);
    if (pin) {
      m._pincount[head] = m.pincount(head) + nr;
      k.vmstat.nr_foll_pin_acquired += nr;
      ref.mm.has_pinned = true;
    }
  }
  for (let i = 0; i < nr; i++) {
    k.pins.hold(ref, pfn + i, refs);
    const o = k.owner_of(pfn + i);
    ref.obtained.push({ gen: m.gen[pfn + i] as number, file: o.file, index: o.index });
  }
  const o = k.owner_of(pfn);
  const ev: MmEventOf<'dma_ref_get'> = {
    type: 'dma_ref_get', time: k.now, actor: k.actorName(), ref: ref.id, holder: ref.holder, api: gup_api_name(k, ref.gup_flags),
    mm: ref.mm.owner, va, pfn, gen: m.genOf(pfn), file: o.file, index: o.index, flags: ref.gup_flags,
    fnames: foll_names(ref.gup_flags), longterm: ref.longterm, pin: pin && refs > 0, refs, refcount: m.refcount(head), pincount: m.pincount(head),
  };
  if (order) { ev.nr = nr; ev.head = head; }
  k.emit(ev);
}

/**
 * gup_put_folio() - drop @ref's reference on its page @i (and the @nr - 1 pages after it, of the
 * same folio), dirtying the folio first if @make_dirty.
 * Kernel: mm/gup.c gup_put_folio(), unpin_user_pages_dirty_lock(); 4.20 put_page() after
 * set_page_dirty_lock(). Pairs with try_grab_folio().
 */
export function gup_put_folio(k: Kernel, ref: DmaRef, i: number, make_dirty: boolean, nr = 1): void {
  const pfn = ref.pfns[i] as number;
  if (pfn < 0) return;
  const m = k.mem;
  const refs = ref.refs[i] as number;
  const head = m.folio_head(pfn);
  const order = m.folio_order(head);
  if (make_dirty && pfn !== ZERO_PFN && !(m.flagsOf(head) & PG_dirty)) set_page_dirty_lock(k, pfn, `unpin:${ref.holder}`);
  const pin = (ref.gup_flags & FOLL_PIN) !== 0 && refs > 0;
  if (pin) {
    m._pincount[head] = m.pincount(head) - nr;
    k.vmstat.nr_foll_pin_released += nr;
  }
  for (let j = 0; j < nr; j++) k.pins.drop(ref, i + j);
  const ev: MmEventOf<'dma_ref_put'> = {
    type: 'dma_ref_put', time: k.now, actor: k.actorName(), ref: ref.id, holder: ref.holder, pfn, gen: m.genOf(pfn),
    dirty: make_dirty, pin, refs, refcount: m.refcount(head) - refs * nr, pincount: m.pincount(head),
  };
  if (order) { ev.nr = nr; ev.head = head; }
  k.emit(ev);
  if (refs) k.folio_put_refs(head, refs * nr);
}

/**
 * same_folio_run() - (pinsim-only) how many of @ref's pages from @i on are the following pages of
 * the same large folio (1 for an order-0 folio): what one gup_put_folio() may drop at once.
 */
function same_folio_run(k: Kernel, ref: DmaRef, i: number): number {
  const pfn = ref.pfns[i] as number;
  if (pfn < 0 || k.mem.folio_order(pfn) === 0) return 1;
  const head = k.mem.folio_head(pfn), end = head + k.mem.folio_nr_pages(head);
  let n = 1;
  while (i + n < ref.pfns.length && ref.pfns[i + n] === pfn + n && pfn + n < end && ref.refs[i + n] === ref.refs[i]) n++;
  return n;
}

/** unpin_all() - (pinsim-only) drop every reference @ref holds, clean, at once (a failed GUP undoing its work). */
function unpin_all(k: Kernel, ref: DmaRef): void {
  for (let i = 0; i < ref.pfns.length;) {
    const run = same_folio_run(k, ref, i);
    gup_put_folio(k, ref, i, false, run);
    i += run;
  }
}

/** unpin_user_pages_dirty_lock() - release every page @ref holds. */
export function* unpin_user_pages_dirty_lock(k: Kernel, ref: DmaRef, make_dirty: boolean): Co {
  const n = ref.pfns.length;
  for (let i = 0; i < n;) {
    const run = same_folio_run(k, ref, i);
    gup_put_folio(k, ref, i, make_dirty, run);
    i += run;
  }
  yield* delay(n * k.timing.unpinPerPage, 'gup:unpinned');
}

/**
 * can_follow_write_pte() - may a FOLL_WRITE GUP take the page behind the present, non-writable
 * @pte? Before 6.0 only after a COW fault (FOLL_COW) left the PTE dirty, and only for FOLL_FORCE
 * (in 5.8 the forced COW break sets FOLL_COW without it); from 6.0 only an exclusive anonymous
 * page in a read-only private mapping, for FOLL_FORCE. Kernel: mm/gup.c can_follow_write_pte()
 * (4.20; 5.8: 17839856fd58; 6.0: 5535be309971).
 */
function can_follow_write_pte(k: Kernel, pte: number, vma: VmAreaStruct, foll: number): boolean {
  if (pte_write(pte)) return true;
  if (k.features.foll_cow) {
    const forced = k.features.gup_forces_cow_break || (foll & FOLL_FORCE) !== 0;
    return forced && (foll & FOLL_COW) !== 0 && pte_dirty(pte);
  }
  if (!(foll & FOLL_FORCE)) return false;
  if (vma.vm_flags & (VM_SHARED | VM_MAYSHARE) || !(vma.vm_flags & VM_MAYWRITE) || vma.vm_flags & VM_WRITE) return false;
  const pfn = pte_pfn(pte);
  return pfn !== ZERO_PFN && k.is_anon(pfn) && PageAnonExclusive(k, pfn);
}

/**
 * gup_must_unshare() - must a GUP with @foll take an unshare fault before taking @pfn? Only a R/O
 * FOLL_PIN: of an anonymous page that is not PageAnonExclusive (5.19), or, as a FOLL_LONGTERM
 * pin, of any other page (page cache, the zero page) in a COW mapping (6.2).
 * Kernel: mm/internal.h gup_must_unshare() (5.19: a7f226604170; 6.2: 84209e87c696).
 */
function gup_must_unshare(k: Kernel, vma: VmAreaStruct, foll: number, pfn: number): string | null {
  if ((foll & (FOLL_WRITE | FOLL_PIN)) !== FOLL_PIN) return null;
  if (pfn === ZERO_PFN || !k.is_anon(pfn)) {
    return k.features.gup_unshare_longterm_cow && foll & FOLL_LONGTERM && is_cow_mapping(vma.vm_flags) ? 'unshare_longterm_cow' : null;
  }
  return k.features.gup_unshare_anon && !PageAnonExclusive(k, pfn) ? 'unshare_anon' : null;
}

/** A GUP that keeps faulting on one page is pinsim's bug: the kernel's loop always makes progress. */
const FOLLOW_RETRIES = 16;

/**
 * follow_page_or_fault() - take @ref's reference on the page at @addr, faulting it in first as the
 * era's GUP does: a missing page, a non-writable PTE for FOLL_WRITE (5.8: forced for any GUP of a
 * COW mapping), an unshare; after a fault that broke COW of a read-only VMA, FOLL_COW (before 6.0).
 * In a hugetlb VMA the entry maps a whole huge page: its pages from @addr on, up to @max, are taken
 * at once (follow_hugetlb_page()).
 * Context: mmap_lock held for read; may sleep. Return: the number of pages taken (≥ 1), or EFAULT /
 * ENOMEM from the fault.
 * Kernel: mm/gup.c __get_user_pages(), follow_page_pte(), faultin_page(); mm/hugetlb.c
 * follow_hugetlb_page() (≤ 6.4; later the generic walk). Simplified: GUP-fast is this slow path (it
 * falls back to it whenever a fault, a COW break or an unshare is needed).
 */
function* follow_page_or_fault(k: Kernel, ref: DmaRef, vma: VmAreaStruct, addr: number, gup_flags: number, max = 1): Co<number | Errno> {
  const mm = vma.vm_mm;
  let foll = gup_flags;
  const force_cow = k.features.gup_forces_cow_break && is_cow_mapping(vma.vm_flags) && (foll & (FOLL_GET | FOLL_PIN)) !== 0;
  if (force_cow) foll |= FOLL_WRITE; // should_force_cow_break() (5.8)
  for (let tries = 0; tries < FOLLOW_RETRIES; tries++) {
    const pte = mm.pgtable.get(vpn(addr));
    let fault_flags: number;
    let why: string | null = null;
    if (!pte_present(pte)) fault_flags = foll & FOLL_WRITE ? FAULT_FLAG_WRITE : 0;
    else if (foll & FOLL_WRITE && !can_follow_write_pte(k, pte, vma, foll)) {
      fault_flags = FAULT_FLAG_WRITE;
      if (force_cow && !(gup_flags & FOLL_WRITE)) why = 'force_cow_break';
    } else if ((why = gup_must_unshare(k, vma, foll, pte_pfn(pte)))) fault_flags = FAULT_FLAG_UNSHARE;
    else {
      const pfn = pte_pfn(pte);
      let n = 1;
      if (vma.vm_huge_order) {
        const nr = 2 ** vma.vm_huge_order;
        n = Math.min(max, nr - (vpn(addr) % nr));
      } else if (mm.huge_pmds.size && pfn !== ZERO_PFN && pmd_trans_huge(mm, addr)) {
        // follow_trans_huge_pmd(): a THP's PMD maps its pages alike; they are taken at once.
        n = Math.min(max, HPAGE_PMD_NR - (vpn(addr) % HPAGE_PMD_NR));
      }
      try_grab_folio(k, ref, pfn, addr, n);
      return n;
    }
    if (why) {
      k.emit({
        type: 'gup_cow', time: k.now, actor: k.actorName(), holder: ref.holder, mm: mm.owner, va: addr,
        pfn: pte_present(pte) ? pte_pfn(pte) : -1, fnames: foll_names(gup_flags), reason: why,
      });
    }
    // faultin_page(): GUP checked the VMA already, so a write may break COW of a read-only one.
    const ret = yield* __handle_mm_fault(k, vma, addr, fault_flags, true);
    if (ret & (VM_FAULT_OOM | VM_FAULT_SIGBUS | VM_FAULT_SIGSEGV)) return ret & VM_FAULT_OOM ? ENOMEM : EFAULT;
    if (k.features.foll_cow && ret & VM_FAULT_WRITE && !(vma.vm_flags & VM_WRITE)) foll |= FOLL_COW;
  }
  return PINSIM_BUG(`GUP of ${mm.owner} va 0x${addr.toString(16)} made no progress after ${FOLLOW_RETRIES} faults`);
}

/**
 * get_user_pages_unlocked() - take DMA references on @nr_pages pages of @mm from @start for
 * @holder, with @gup_flags as the era took them (FOLL_PIN in them makes it pin_user_pages_unlocked()).
 * Context: takes mmap_lock for read itself (the caller must not hold it); may sleep (faults).
 * From 5.13 a long-term pin first migrates pages out of ZONE_MOVABLE (ENOMEM if one will not move).
 * Return: the DmaRef holding every page, or an errno with nothing held (a partial success is
 * undone, as ib_umem_get and O_DIRECT callers do): EINVAL, EFAULT, ENOMEM, EOPNOTSUPP.
 * Kernel: mm/gup.c get_user_pages_unlocked(), pin_user_pages_unlocked() → __gup_longterm_locked()
 * with no lock held; __get_user_pages(); check_and_migrate_movable_folios() (5.13).
 */
export function* get_user_pages_unlocked(
  k: Kernel, mm: MmStruct, start: number, nr_pages: number, gup_flags: number, holder: string, retries = 0,
): Co<DmaRef | Errno> {
  if (start % PAGE_SIZE !== 0) return EINVAL;
  if (nr_pages === 0) return EINVAL;
  yield* down_read(mm.mmap_lock, 'gup:mmap_read_lock');
  const ref = k.pins.create(holder, mm, gup_flags, (gup_flags & FOLL_LONGTERM) !== 0, start);
  let err: 0 | Errno = 0;
  let last: VmAreaStruct | null = null;
  for (let i = 0; i < nr_pages && !err;) {
    const addr = start + i * PAGE_SIZE;
    const vma = find_vma(mm, addr);
    if (!vma) { err = EFAULT; break; }
    if (vma !== last) {
      err = check_vma_flags(k, vma, gup_flags);
      if (err) break;
      last = vma;
    }
    const got = yield* follow_page_or_fault(k, ref, vma, addr, gup_flags, nr_pages - i);
    if (typeof got === 'string') { err = got; break; }
    i += got;
    // pin_user_pages spends ≈62 ns per page (gup_test -LT); another CPU may run meanwhile.
    yield* delay(got * k.timing.pinPerPage, 'gup:page_grabbed');
  }
  if (!err && k.features.longterm_migrates_movable && (gup_flags & (FOLL_PIN | FOLL_LONGTERM)) === (FOLL_PIN | FOLL_LONGTERM)) {
    // check_and_migrate_movable_folios(): unpin everything, migrate what sits in ZONE_MOVABLE out
    // (targets allocated under PF_MEMALLOC_PIN), and pin again; a page that will not move: ENOMEM.
    // One page of each folio to migrate: a huge page moves whole.
    const heads = new Set<number>();
    const movable = ref.pfns.map((pfn, i) => {
      const head = k.mem.folio_head(pfn);
      if (folio_is_longterm_pinnable(k, head) || heads.has(head)) return -1;
      heads.add(head);
      return i;
    }).filter((i) => i >= 0);
    if (movable.length) {
      unpin_all(k, ref);
      k.pins.live.delete(ref.id);
      k.movable.memalloc_pin++;
      let failed = false;
      for (const i of movable) if ((yield* do_migrate_pages(k, mm, start + i * PAGE_SIZE, PAGE_SIZE)) !== 0) failed = true;
      k.movable.memalloc_pin--;
      up_read(mm.mmap_lock);
      if (failed) return ENOMEM;
      if (retries >= 3) return ENOMEM;
      return yield* get_user_pages_unlocked(k, mm, start, nr_pages, gup_flags, holder, retries + 1);
    }
  }
  up_read(mm.mmap_lock);
  if (err) {
    unpin_all(k, ref);
    ref.released = true;
    k.pins.live.delete(ref.id);
    return err;
  }
  return ref;
}

/**
 * get_user_pages_locked() - the name pinsim 0.1.0 gave get_user_pages_unlocked(), kept because the
 * plugin API is stable. In the kernel `_locked` means the caller holds mmap_lock; this takes it.
 * @deprecated Call get_user_pages_unlocked().
 */
export const get_user_pages_locked = get_user_pages_unlocked;
