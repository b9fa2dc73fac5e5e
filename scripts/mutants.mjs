#!/usr/bin/env node
/**
 * npm run mutants: does `npm test` kill the bugs it claims to guard? Each mutant is one deliberate
 * bug in the kernel model (mm/), a device model (devices/), a policy (policy/) or a checker
 * (invariants/), written as a source patch. The patch is applied to a copy of the repository
 * (never to the shipped code, which has no mutant switch), and the copy's test suite runs:
 *
 *   1. first the test files named for the mutant (those that exercise the code it breaks), with
 *      vitest's --bail=1, so the run stops at the first failing test;
 *   2. if they all pass, the whole suite (vitest run --bail=1), to be sure nothing else kills it.
 *
 * The unmutated copy must first pass the mutants' test files (and, before the first whole-suite
 * run, the whole suite), so that a failure is the mutant's.
 *
 * A mutant counts as killed only by a failing *assertion* (an AssertionError from expect). A test
 * that crashes (a TypeError, an import error) or times out is reported as such, not as a kill:
 * a crash proves the code ran, not that a test knew what it should do. Prints the kill table and
 * the score; exits 1 when the score is below 95 % or a mutant is not killed by an assertion.
 *
 * Usage: node scripts/mutants.mjs [--only ID,ID] [--list] [--check] [--jobs N]
 *   --check  only verify that every patch still applies to the sources (the test suite does this
 *            too: test/mutants.test.ts), e.g. after merging main
 */
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Test files several mutants share. */
const T = {
  conformanceRdma: 'test/conformance/conformance.test.ts',
  regress: 'test/regress',
  examples: 'test/examples',
};

/**
 * The mutants. `patches`: [find, replace] pairs applied to `file` (each `find` must occur exactly
 * as written; `all` replaces every occurrence). `tests`: the test files to run first.
 */
export const MUTANTS = [
  // ---- mm/: the kernel model ----
  {
    id: 'mremap-no-notifier', file: 'src/mm/mremap.ts', why: 'mremap moves PTEs and drops the old VMA without any MMU notifier',
    patches: [
      ['  yield* mmu_notifier_invalidate_range_start(k, range);\n  // The old PTEs are still in place here.', '  // The old PTEs are still in place here.'],
      ['  yield* mmu_notifier_invalidate_range_end(k, range);\n}', '}'],
      ['  if (!dontunmap) yield* unmap_locked(k, mm, old, old + old_len);', '  if (!dontunmap) mm.vmas = mm.vmas.filter((v) => !(v.vm_start >= old && v.vm_end <= old + old_len));'],
    ],
    tests: ['test/unit/mm/mremap.test.ts', T.conformanceRdma],
  },
  {
    id: 'munmap-free-before-notifier', file: 'src/mm/mmap.ts', why: 'munmap zaps and frees the pages before invalidate_range_start',
    patches: [['  yield* mmu_notifier_invalidate_range_start(k, range);\n  // Every page is still mapped here.', '  { const g0 = []; for (const v of victims) zap_pte_range(k, mm, v.vm_start, v.vm_end, g0); tlb_finish_mmu(k, g0); }\n  yield* mmu_notifier_invalidate_range_start(k, range);']],
    tests: ['test/unit/mm/mmap.test.ts', 'test/unit/invariants/notifier-teardown-incomplete.test.ts', T.conformanceRdma],
  },
  {
    id: 'truncate-skips-unmap', file: 'src/mm/truncate.ts', why: 'truncate removes pages from the page cache without unmapping them first',
    patches: [['  yield* unmap_mapping_range(k, inode.i_mapping, holebegin, holelen, newsize !== null);\n', '']],
    tests: ['test/unit/mm/truncate.test.ts', T.conformanceRdma],
  },
  {
    id: 'truncate-keeps-i_size', file: 'src/mm/truncate.ts', why: 'truncate forgets to update i_size',
    patches: [['  inode.i_size = size;\n', '']],
    tests: ['test/unit/mm/truncate.test.ts'],
  },
  {
    id: 'fork-forgets-pinned-copy', file: 'src/mm/fork.ts', why: 'fork shares a maybe-pinned anonymous page COW instead of copying it for the child (5.9+)',
    patches: [['function folio_needs_cow_for_dma(k: Kernel, parent: Process, pfn: number): boolean {\n', 'function folio_needs_cow_for_dma(k: Kernel, parent: Process, pfn: number): boolean {\n  if (pfn) return false;\n']],
    tests: ['test/unit/mm/fork.test.ts', 'test/regress/fork-vs-truncate.test.ts'],
  },
  {
    id: 'writeback-keeps-pte-writable', file: 'src/mm/page-writeback.ts', why: 'folio_mkclean leaves the PTE writable, so the next store skips page_mkwrite',
    patches: [['vma.vm_mm.pgtable.set(va / PAGE_SIZE, mk_pte(pfn, 0));', 'vma.vm_mm.pgtable.set(va / PAGE_SIZE, pte);']],
    tests: ['test/unit/mm/read_write.test.ts', 'test/unit/mm/truncate.test.ts'],
  },
  {
    id: 'unpin-without-dirty', file: 'src/mm/gup.ts', why: 'unpin_user_pages_dirty_lock ignores make_dirty',
    patches: [['if (make_dirty && pfn !== ZERO_PFN', 'if (false && make_dirty && pfn !== ZERO_PFN']],
    tests: ['test/unit/mm/gup.test.ts', 'test/unit/invariants/dirty-page-without-buffers.test.ts'],
  },
  {
    id: 'pin-bias-off-by-one', file: 'src/mm/gup.ts', why: 'gup_put_folio drops one reference less than the pin took',
    patches: [['if (refs) k.folio_put_refs(head, refs * nr);', 'if (refs) k.folio_put_refs(head, refs > 1 ? refs * nr - 1 : refs * nr);']],
    tests: ['test/unit/mm/gup.test.ts', 'test/unit/invariants/refcount-leak.test.ts'],
  },
  {
    id: 'no-longterm-file-write-refusal', file: 'src/mm/gup.ts', why: 'writable long-term pins of dirty-tracked file mappings are not refused (6.5)',
    patches: [['&& vma_needs_dirty_tracking(vma)) return EFAULT;', '&& false) return EFAULT;']],
    tests: ['test/unit/mm/gup.test.ts', 'test/unit/policy/linux-6.12.test.ts'],
  },
  {
    id: 'no-fsdax-refusal', file: 'src/mm/gup.ts', why: 'long-term pins of fsdax are not refused (EOPNOTSUPP)',
    patches: [['if (admit === null && gup_flags & FOLL_LONGTERM && vma_is_fsdax(vma)) return EOPNOTSUPP;', 'if (false) return EOPNOTSUPP;']],
    tests: ['test/unit/mm/gup.test.ts', 'test/unit/policy/linux-4.20.test.ts'],
  },
  {
    id: 'dax-never-busy', file: 'src/mm/fs/dax.ts', why: 'DAX break-layouts never finds a busy page',
    patches: [['if (busy < 0 && k.mem.refcount(v - 1) > 1) busy = v - 1;', ';']],
    tests: ['test/unit/mm/dax.test.ts'],
  },
  {
    id: 'itree-seq-stays-odd', file: 'src/mm/mmu_interval_notifier.ts', why: 'the last inv_end forgets to make invalidate_seq even',
    patches: [['  subs.invalidate_seq++;\n', '']],
    tests: ['test/unit/devices/odp-nic.test.ts', 'test/unit/mm/mmu_interval_notifier.test.ts'],
  },
  {
    id: 'read-begin-no-wait', file: 'src/mm/mmu_interval_notifier.ts', why: 'mmu_interval_read_begin does not wait while an invalidation of its interval is in progress',
    patches: [['  if (seq === subs.invalidate_seq) {', '  if (false && seq === subs.invalidate_seq) {']],
    tests: ['test/unit/mm/mmu_interval_notifier.test.ts'],
  },
  {
    id: 'dontneed-no-zap', file: 'src/mm/madvise.ts', why: 'MADV_DONTNEED does not zap the range',
    patches: [['      if (e > s) yield* zap_page_range_single(k, vma, s, e);', '      ;']],
    tests: ['test/unit/invariants/incoherent-mapping.test.ts', T.conformanceRdma],
  },
  {
    id: 'hugetlb-wp-refcount', file: 'src/mm/hugetlb_fault.ts', why: 'hugetlb COW reuses a huge page only for a sole holder (refcount), not by mapcount',
    patches: [['if (k.is_anon(old) && m.folio_entire_mapcount(old) === 1) {', 'if (k.is_anon(old) && m.refcount(old) === 1) {']],
    tests: ['test/unit/mm/hugetlb_fault.test.ts', T.conformanceRdma],
  },
  {
    id: 'hugetlb-fork-shares-pinned', file: 'src/mm/hugetlb_fault.ts', why: 'fork COW-shares a maybe-pinned huge page in every era (no 5.12 copy)',
    patches: [['  if (k.features.hugetlb_fork_copies_pinned && parent.mm.has_pinned && folio_maybe_dma_pinned(k, head)) return false;\n', '']],
    tests: ['test/unit/mm/hugetlb_fault.test.ts', 'test/unit/invariants/huge-pages.test.ts'],
  },
  {
    id: 'hugetlb-no-reservation', file: 'src/mm/hugetlb.ts', why: 'mmap reserves huge pages the pool does not have',
    patches: [['  if (delta > 0 && h.resv_huge_pages + delta > h.free_huge_pages) return ENOMEM;\n', '']],
    tests: ['test/unit/mm/hugetlb.test.ts'],
  },
  {
    id: 'ext4-dirty-no-warn', file: 'src/mm/page-writeback.ts', why: "ext4's set_page_dirty WARN on a page without buffers is gone",
    patches: [["WARN_ON_ONCE(k, !buffers, 'fs/ext4/inode.c:ext4_dirty_folio'", "WARN_ON_ONCE(k, false, 'fs/ext4/inode.c:ext4_dirty_folio'"]],
    tests: ['test/unit/invariants/kernel-warn.test.ts', 'test/unit/invariants/dirty-page-without-buffers.test.ts'],
  },
  {
    id: 'ext4-writepages-bug-gone', file: 'src/mm/page-writeback.ts', why: 'ext4 writepages no longer BUGs on a dirty page without buffers before 5.18',
    patches: [['if (k.features.ext4_writepages_bug) BUG_ON(', 'if (false) BUG_ON(']],
    tests: ['test/unit/invariants/kernel-bug.test.ts', 'test/unit/policy/linux-4.20.test.ts'],
  },
  {
    id: 'ext4-bug-boundary-5.19', file: 'src/mm/features.ts', why: "ext4's writepages BUG is gone only from 5.19, not 5.18 (cc5095747edf)",
    patches: [["version: [5, 18], set: { ext4_writepages_bug: false }", "version: [5, 19], set: { ext4_writepages_bug: false }"]],
    tests: ['test/unit/mm/features.test.ts'],
  },
  {
    id: 'truncate-no-orphan', file: 'src/mm/filemap.ts', why: 'a folio removed from the page cache keeps its mapping',
    patches: [['      m.mapping[pfn] = MAPPING_NONE;\n', '']],
    tests: ['test/unit/invariants/lost-write.test.ts', 'test/unit/mm/truncate.test.ts'],
  },
  {
    id: 'migrate-ignores-references', file: 'src/mm/migrate.ts', why: 'migrate_pages moves a folio that holds references beyond its mappings (a DMA pin)',
    patches: [['  if (m.refcount(old) !== expected) {', '  if (false && m.refcount(old) !== expected) {']],
    tests: ['test/unit/invariants/pinned-page-moved.test.ts', 'test/regress/migrate-stale-pte.test.ts'],
  },
  {
    id: 'compaction-no-gain-check', file: 'src/mm/compaction.ts', why: 'kcompactd migrates pages it already put in place, every pass',
    patches: [['      if (k.compacted.get(pfn) === k.mem.genOf(pfn)) return;\n', '']],
    tests: ['test/regress/kcompactd-nothing-to-gain.test.ts'],
  },

  // ---- devices/: the device models ----
  {
    id: 'odp-install-without-read-retry', file: 'src/devices/odp-nic/umem_odp.ts', why: 'the ODP fault path installs without mmu_interval_read_retry under umem_mutex',
    patches: [['    if (mmu_interval_read_retry(umem.notifier, seq)) {', '    if (false) {']],
    tests: ['test/unit/devices/odp-nic.test.ts', 'test/explore/reduction.test.ts'],
  },
  {
    id: 'odp-invalidate-no-zap', file: 'src/devices/odp-nic/odp.ts', why: 'the ODP invalidate sets the seq but keeps its MTT entries',
    patches: [['  if (!ret) ib_umem_odp_unmap_dma_pages(umem, first, end, true);', '  if (!ret) ;']],
    tests: ['test/unit/devices/odp-nic.test.ts', T.conformanceRdma],
  },
  {
    id: 'odp-invalidate-no-set-seq', file: 'src/devices/odp-nic/odp.ts', why: 'the ODP invalidate zaps without mmu_interval_set_seq, so a fault in flight does not retry',
    patches: [['  mmu_interval_set_seq(sub, cur_seq);\n  // Every entry', '  // Every entry']],
    tests: ['test/unit/devices/odp-nic.test.ts', 'test/unit/mm/mmu_interval_notifier.test.ts'],
  },
  {
    id: 'odp-nonblock-accepted', file: 'src/devices/odp-nic/odp.ts', why: 'the ODP invalidate accepts a non-blockable range and sleeps in it',
    patches: [['  if (!(range.flags & MMU_NOTIFIER_RANGE_BLOCKABLE)) return false;\n', '']],
    tests: ['test/unit/devices/odp-nic.test.ts', 'test/unit/invariants/nonblock-slept.test.ts'],
  },
  {
    id: 'odp-dereg-no-fence', file: 'src/devices/odp-nic/odp-nic.ts', why: 'dereg_mr releases the umem while a fault still holds the mkey',
    patches: [["  yield* wait_event(mr.mkey_wait, () => mr.usecount === 0, 'odp:dereg_wait_mkey');\n", '']],
    tests: ['test/regress/odp-dma-posted-before-dereg.test.ts'],
  },
  {
    id: 'odp-destroyed-mkey-still-works', file: 'src/devices/odp-nic/odp-nic.ts', why: "the HCA's accesses through a destroyed mkey still complete",
    patches: [["    if (mr.deregistered) return 'remote-access-error';\n", '']],
    tests: ['test/regress/odp-dma-posted-before-dereg.test.ts', 'test/unit/devices/odp-nic.test.ts'],
  },
  {
    id: 'gpu-install-without-read-retry', file: 'src/devices/gpu-hmm/dmirror.ts', why: 'the GPU fault path installs without mmu_interval_read_retry under its mutex',
    patches: [['    if (!d.dev.p.skipReadRetry && mmu_interval_read_retry(d.notifier, seq)) {', '    if (false) {']],
    tests: ['test/unit/devices/gpu-hmm.test.ts', 'test/explore/reduction.test.ts'],
  },
  {
    id: 'gpu-invalidate-no-erase', file: 'src/devices/gpu-hmm/dmirror.ts', why: 'the GPU invalidate sets the seq but keeps its device PTEs',
    patches: [['  d.table.eraseRange(first, end);', '  ;']],
    tests: ['test/unit/devices/gpu-hmm.test.ts', T.conformanceRdma],
  },
  {
    id: 'gpu-skips-every-own-range', file: 'src/devices/gpu-hmm/dmirror.ts', why: "the GPU ignores every range it owns, not only its own MIGRATE and EXCLUSIVE: any owner's range is skipped",
    patches: [['  if ((range.event === MMU_NOTIFY_MIGRATE || range.event === MMU_NOTIFY_EXCLUSIVE) && range.owner === ctx.name) return true;', "  if (typeof range.owner === 'string' && range.owner !== '') return true;"]],
    tests: ['test/unit/devices/gpu-hmm.test.ts', T.conformanceRdma],
  },
  {
    id: 'revoke-dma-keeps-going', file: 'src/devices/gup-nic/gup-nic.ts', why: 'a DMA in flight keeps going after its MR was revoked',
    patches: [['    if (mr.revoked || mr.deregistered) {', '    if (false) {']],
    tests: ['test/unit/policy/revoke.test.ts'],
  },
  {
    id: 'gup-nic-release-clean', file: 'src/devices/gup-nic/umem.ts', why: 'ib_umem_release drops the references of a writable MR without dirtying its pages',
    patches: [['  yield* unpin_user_pages_dirty_lock(ctx.k, umem.ref, umem.writable);', '  yield* unpin_user_pages_dirty_lock(ctx.k, umem.ref, false);']],
    tests: ['test/unit/invariants/dirty-page-without-buffers.test.ts', 'test/unit/mm/gup.test.ts'],
  },

  // ---- policy/: the kernel variants ----
  {
    id: 'lease-break-no-wait', file: 'src/policy/lease-break-dummy.ts', why: 'lease-break-dummy redirects at once even when a lease was broken',
    patches: [['if (leased) {', 'if (false) {']],
    tests: ['test/unit/policy/lease-break-dummy.test.ts'],
  },
  {
    id: 'lease-break-no-redirect', file: 'src/policy/lease-break-dummy.ts', why: 'lease-break-dummy proceeds without redirecting the device to the dummy page',
    patches: [['for (const pfn of ref_pfns_on_range(ref, inode, first, last)) yield* ref.ops.redirect_to_dummy(ref, pfn, dummy);', ';']],
    tests: ['test/unit/policy/lease-break-dummy.test.ts'],
  },
  {
    id: 'block-truncate-no-wait', file: 'src/policy/block-truncate.ts', why: 'block-truncate never waits',
    patches: [['if (!held().length) return 0;', 'return 0;']],
    tests: ['test/unit/policy/block-truncate.test.ts'],
  },
  {
    id: 'revoke-first-mr-only', file: 'src/policy/revoke.ts', why: 'revoke revokes only the first of several MRs on a truncated page',
    patches: [['if (ref.ops?.revoke) yield* ref.ops.revoke(ref);', 'if (ref.ops?.revoke) { yield* ref.ops.revoke(ref); break; }']],
    tests: ['test/unit/policy/revoke.test.ts'],
  },
  {
    id: 'iommu-unmaps-whole-mr', file: 'src/policy/iommu-backstop.ts', why: 'iommu-backstop unmaps every IOVA of an MR on a partial truncate',
    patches: [['yield* ref.ops.iommu_unmap(ref, ref_pfns_on_range(ref, inode, first, last));', 'yield* ref.ops.iommu_unmap(ref, ref.pfns);']],
    tests: ['test/unit/policy/iommu-backstop.test.ts'],
  },
  {
    id: 'layout-lease-no-etxtbsy', file: 'src/policy/layout-lease.ts', why: 'layout-lease lets truncate of pinned pages proceed instead of failing ETXTBSY',
    patches: [['return longterm_refs_on_range(k, inode, first, last).length ? ETXTBSY : 0;', 'return longterm_refs_on_range(k, inode, first, last).length ? 0 : 0;']],
    tests: ['test/unit/policy/layout-lease.test.ts'],
  },

  // ---- invariants/: the checkers ----
  {
    id: 'lost-write-never-reported', file: 'src/invariants/lost-write.ts', why: 'lost-write keeps its findings for a DMA and never reports them',
    patches: [["if (l && ev.status === 'ok') for (const v of l) ctx.report(v);", ';']],
    tests: ['test/unit/invariants/lost-write.test.ts'],
  },
  {
    id: 'dma-use-after-free-off-by-one', file: 'src/invariants/dma-use-after-free.ts', why: 'dma-use-after-free compares generations off by one, missing a free since the translation',
    patches: [['        if (!frames.freedSince(ev.pfn, ev.gen)) return;', '        if (!frames.freedSince(ev.pfn, ev.gen + 1)) return;']],
    tests: ['test/unit/invariants/dma-use-after-free.test.ts'],
  },
  {
    id: 'dma-into-reused-page-off', file: 'src/invariants/dma-into-reused-page.ts', why: 'dma-into-reused-page treats a reallocated frame as the same generation',
    patches: [['        if (frames.gen.get(ev.pfn) <= ev.gen) return;', '        if (frames.gen.get(ev.pfn) <= ev.gen + 1) return;']],
    tests: ['test/unit/invariants/dma-into-reused-page.test.ts'],
  },
  {
    id: 'stale-read-where-pte-exists', file: 'src/invariants/stale-read.ts', why: 'stale-read skips every read where a PTE exists, not only one whose frame differs',
    patches: [['if (ev.cpuPfn >= 0 && ev.cpuPfn !== ev.pfn) return;', 'if (ev.cpuPfn >= 0) return;']],
    tests: ['test/unit/invariants/stale-read.test.ts'],
  },
  {
    id: 'huge-frame-books-off', file: 'src/invariants/books.ts', why: 'the frame books give a large folio\'s new generation to its head only',
    patches: [['    this.gen.a.fill(ev.gen, ev.pfn, ev.pfn + nr);', '    this.gen.a[ev.pfn] = ev.gen;']],
    tests: ['test/unit/invariants/huge-pages.test.ts'],
  },
  {
    id: 'incoherent-mapping-off', file: 'src/invariants/incoherent-mapping.ts', why: 'incoherent-mapping never compares the device frame with the PTE',
    patches: [['        if (!p || p.pfn === ev.pfn) return;', '        return;']],
    tests: ['test/unit/invariants/incoherent-mapping.test.ts'],
  },
  {
    id: 'hang-bound-ignored', file: 'src/invariants/hang.ts', why: 'hang ignores an op blocked past the liveness bound that did end',
    patches: [['        if (ev.blockedNs <= bound) return;', '        return;']],
    tests: ['test/unit/invariants/hang.test.ts'],
  },
  {
    id: 'refcount-leak-ignores-pincount', file: 'src/invariants/refcount-leak.ts', why: 'refcount-leak compares the refcount only, not the pincount',
    patches: [['    if (refcount <= want && pincount <= wantPins) return;', '    if (refcount <= want) return;']],
    tests: ['test/unit/invariants/refcount-leak.test.ts'],
  },
  {
    id: 'kernel-bug-not-reported', file: 'src/invariants/kernel-bug.ts', why: 'a modelled BUG is not reported',
    patches: [['      kernel_bug(ev) {\n', '      kernel_bug(ev) {\n        return;\n']],
    tests: ['test/unit/invariants/kernel-bug.test.ts'],
  },
  {
    id: 'notifier-unpaired-open-ignored', file: 'src/invariants/notifier-unpaired.ts', why: 'a start still open at the end of an uncut run is not reported',
    patches: [['          if (ctx.cutByUntil?.() === true) {\n            ctx.note?.(cutNote(s));', '          if (true) {\n            ctx.note?.(cutNote(s));']],
    tests: ['test/regress/until-cut.test.ts', 'test/unit/invariants/notifier-unpaired.test.ts'],
  },
  {
    id: 'until-cut-reported', file: 'src/invariants/notifier-unpaired.ts', why: 'a range kernel.until cut is reported as notifier-unpaired again',
    patches: [['          if (ctx.cutByUntil?.() === true) {\n            ctx.note?.(cutNote(s));', '          if (false) {\n            ctx.note?.(cutNote(s));']],
    tests: ['test/regress/until-cut.test.ts'],
  },
  {
    id: 'install-during-ignores-across', file: 'src/invariants/install-during-invalidation.ts', why: 'an install from a snapshot taken across an invalidation that has ended is not reported',
    patches: [['        const across = l.slice(k).filter(overlaps);', '        const across: Invalidation[] = [];']],
    tests: ['test/unit/invariants/install-during-invalidation.test.ts'],
  },
  {
    id: 'install-during-own-migrate', file: 'src/invariants/install-during-invalidation.ts', why: "a device's own MIGRATE range counts again",
    patches: [["if (ev.event === 'MMU_NOTIFY_MIGRATE' && ev.owner) migrateOwner.set(ev.id, ev.owner);", ';']],
    tests: ['test/regress/gpu-own-migrate-during-fault.test.ts', 'test/unit/invariants/install-during-invalidation.test.ts'],
  },
  {
    id: 'teardown-books-per-device', file: 'src/invariants/notifier-teardown-incomplete.ts', why: 'notifier-teardown-incomplete books per device again, not per subscription',
    patches: [['    const id = sub ?? NONE;', '    const id = sub === undefined ? NONE : NONE;']],
    tests: ['test/unit/invariants/notifier-teardown-incomplete.test.ts', 'test/regress/odp-two-mrs-one-page.test.ts'],
  },
  {
    id: 'teardown-ignores-dma-in-flight', file: 'src/invariants/notifier-teardown-incomplete.ts', why: 'a DMA still in flight when the invalidate returns is not reported',
    patches: [['          if (h.mm !== done.mm || h.va < done.start || h.va >= done.end) continue;', '          continue;']],
    tests: ['test/unit/invariants/notifier-teardown-incomplete.test.ts'],
  },
  {
    id: 'access-after-release-off', file: 'src/invariants/access-after-release.ts', why: 'a device access after MMU_NOTIFY_RELEASE is not reported',
    patches: [['      if (!r) return;', '      if (r || !r) return;']],
    tests: ['test/unit/invariants/access-after-release.test.ts'],
  },
  {
    id: 'dummy-page-dma-off', file: 'src/invariants/dummy-page-dma.ts', why: 'the dummy page is never recorded, so DMA into it is not reported',
    patches: [['        dummies.add(ev.dummy);', '        ;']],
    tests: ['test/unit/invariants/dummy-page-dma.test.ts'],
  },
  {
    id: 'pinned-page-moved-off', file: 'src/invariants/pinned-page-moved.ts', why: 'migration of a page holding a DMA reference is not reported',
    patches: [['        if (pfn >= 0) report(ev, pfn, `migration', '        if (false) report(ev, pfn, `migration']],
    tests: ['test/unit/invariants/pinned-page-moved.test.ts'],
  },
  {
    id: 'dirty-without-buffers-off', file: 'src/invariants/dirty-page-without-buffers.ts', why: 'a stripped page dirtied at unpin is not reported',
    patches: [["        if (ev.file && !ev.buffers && s & STRIPPED && ev.via.startsWith('unpin')) {", '        if (false) {']],
    tests: ['test/unit/invariants/dirty-page-without-buffers.test.ts'],
  },
  {
    id: 'failed-blockable-off', file: 'src/invariants/notifier-failed-blockable.ts', why: 'a blockable callback that failed is not reported',
    patches: [['        if (ev.ok || !ev.blockable) return;', '        return;']],
    tests: ['test/unit/invariants/notifier-failed-blockable.test.ts'],
  },
  {
    id: 'thp-fork-shares-pinned', file: 'src/mm/huge_memory.ts', why: 'fork COW-shares a maybe-pinned THP\'s PMD in 5.9+ instead of splitting it and copying for the child',
    patches: [['    if (exclusive_pinned) {', '    if (false && exclusive_pinned) {']],
    tests: ['test/unit/mm/huge_memory.test.ts'],
  },
  {
    id: 'thp-split-invalidates-4k', file: 'src/mm/huge_memory.ts', why: 'split_huge_pmd invalidates the first 4 KiB only, not the whole 2 MiB a device may mirror',
    patches: [['mmu_notifier_range_init(k, mm, MMU_NOTIFY_CLEAR, haddr, haddr + HPAGE_PMD_SIZE);\n  yield* mmu_notifier_invalidate_range_start(k, range);\n  yield* schedPoint(\'thp:split_after_notifier_start\');',
      'mmu_notifier_range_init(k, mm, MMU_NOTIFY_CLEAR, haddr, haddr + PAGE_SIZE);\n  yield* mmu_notifier_invalidate_range_start(k, range);\n  yield* schedPoint(\'thp:split_after_notifier_start\');']],
    tests: ['test/unit/mm/huge_memory.test.ts'],
  },
  {
    id: 'collapse-ignores-pins', file: 'src/mm/khugepaged.ts', why: 'khugepaged and MADV_COLLAPSE collapse a range holding a pinned page',
    patches: [["  for (const head of heads.keys()) if (m.refcount(head) !== m.folio_mapcount(head)) return 'SCAN_PAGE_COUNT';\n", '']],
    tests: ['test/unit/mm/huge_memory.test.ts'],
  },
  {
    id: 'partial-truncate-removes-dirty', file: 'src/mm/truncate.ts', why: 'a pinned dirty large folio partly truncated is removed whole, as a clean one is',
    patches: [["shmem || folio_test_dirty(k, head) ? 'kept' : 'removed'", "shmem ? 'kept' : 'removed'"]],
    tests: ['test/unit/mm/large_folio.test.ts'],
  },
];

/** apply() - @m's patched text of @src; throws naming the first `find` that does not occur. */
export function apply(m, src) {
  let out = src;
  for (const [find, replace] of m.patches) {
    if (!out.includes(find)) throw new Error(`mutant ${m.id}: "${find.slice(0, 70)}" is not in ${m.file} (the source moved: update the mutant)`);
    out = m.all ? out.split(find).join(replace) : out.replace(find, replace);
  }
  if (out === src) throw new Error(`mutant ${m.id}: its patches change nothing in ${m.file}`);
  return out;
}

/** A copy of the repository to mutate: sources, tests, fixtures; node_modules linked, not copied. */
function copyRepo() {
  const dir = mkdtempSync(join(tmpdir(), 'pinsim-mutants-'));
  // dist/ is copied too: tests that import the package by name read its types and modules there
  // (a test that needs the mutated build rebuilds it, as it would after any source change).
  const skip = new Set(['node_modules', '.git', 'dist-check', 'coverage']);
  cpSync(ROOT, dir, { recursive: true, filter: (src) => !skip.has(src.slice(ROOT.length).split('/')[0]) && !/\/\.tmp-/.test(src) });
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}

/**
 * vitest() - run vitest over @files (all when empty) in @dir, stopping at the first failure.
 * Return: the verdict: 'killed' (an assertion failed, with the test's name), 'crashed', 'timeout'
 * or 'survived'.
 */
function vitest(dir, files, timeoutMs) {
  const out = join(dir, '.mutant-report.json');
  rmSync(out, { force: true });
  // The whole suite less test/mutants.test.ts, which checks that the patches apply to the sources:
  // in a mutated copy one of them, by design, no longer does.
  const scope = files.length ? files : ['--exclude', 'test/mutants.test.ts'];
  return new Promise((settle) => {
    const child = spawn(process.execPath, [join(dir, 'node_modules/vitest/vitest.mjs'), 'run', ...scope, '--bail=1', '--reporter=json', `--outputFile=${out}`],
      { cwd: dir, stdio: 'ignore', detached: true });
    const timer = setTimeout(() => { try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ } }, timeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (signal === 'SIGKILL') return settle({ verdict: 'timeout', by: `no verdict within ${timeoutMs / 1000} s` });
      let report;
      try {
        report = JSON.parse(readFileSync(out, 'utf8'));
      } catch {
        return settle({ verdict: code === 0 ? 'survived' : 'crashed', by: `vitest exited ${code} without a report` });
      }
      settle(classify(report));
    });
  });
}

/** classify() - a vitest JSON report as a verdict on the mutant. */
function classify(report) {
  let crash = null;
  for (const file of report.testResults ?? []) {
    for (const t of file.assertionResults ?? []) {
      if (t.status !== 'failed') continue;
      const msg = (t.failureMessages ?? [])[0] ?? '';
      const where = `${file.name.replace(/^.*?\/test\//, 'test/')} > ${t.fullName ?? t.title}`;
      if (/^AssertionError/.test(msg)) return { verdict: 'killed', by: where };
      if (/timed out/i.test(msg)) crash ??= { verdict: 'timeout', by: where };
      else crash ??= { verdict: 'crashed', by: `${where}: ${msg.split('\n')[0]}` };
    }
    if (file.status === 'failed' && !(file.assertionResults ?? []).some((t) => t.status === 'failed')) {
      crash ??= { verdict: 'crashed', by: `${file.name.replace(/^.*?\/test\//, 'test/')}: ${(file.message ?? '').split('\n')[0]}` };
    }
  }
  return crash ?? { verdict: 'survived', by: '' };
}

async function main() {
  const argv = process.argv.slice(2);
  const onlyI = argv.indexOf('--only');
  const only = onlyI >= 0 ? new Set((argv[onlyI + 1] ?? '').split(',')) : null;
  const chosen = MUTANTS.filter((m) => !only || only.has(m.id));
  if (argv.includes('--list')) {
    for (const m of chosen) console.log(`${m.id.padEnd(34)} ${m.file}: ${m.why}`);
    return 0;
  }
  for (const m of chosen) apply(m, readFileSync(join(ROOT, m.file), 'utf8'));
  if (argv.includes('--check')) {
    console.log(`${chosen.length} mutants apply to the current sources`);
    return 0;
  }
  const dir = copyRepo();
  const rows = [];
  const t0 = Date.now();
  try {
    // The unmutated copy must pass what will judge the mutants, or a kill would mean nothing.
    const relevant = [...new Set(chosen.flatMap((m) => m.tests))];
    const base = await vitest(dir, relevant, 900_000);
    if (base.verdict !== 'survived') {
      console.error(`the unmutated copy fails the mutants' tests (${base.verdict}): ${base.by}`);
      return 2;
    }
    let wholeBase = null;
    for (const m of chosen) {
      const file = join(dir, m.file);
      const original = readFileSync(file, 'utf8');
      writeFileSync(file, apply(m, original));
      const started = Date.now();
      let r = await vitest(dir, m.tests, 300_000);
      let stage = 'its tests';
      if (r.verdict === 'survived') {
        writeFileSync(file, original);
        wholeBase ??= await vitest(dir, [], 900_000);
        if (wholeBase.verdict !== 'survived') {
          console.error(`the unmutated copy fails the whole suite (${wholeBase.verdict}): ${wholeBase.by}`);
          return 2;
        }
        writeFileSync(file, apply(m, original));
        r = await vitest(dir, [], 900_000);
        stage = 'the whole suite';
      }
      writeFileSync(file, original);
      const row = { m, ...r, stage, secs: (Date.now() - started) / 1000 };
      rows.push(row);
      console.log(`${r.verdict.padEnd(8)} ${m.id.padEnd(34)} ${row.secs.toFixed(0).padStart(4)} s  ${r.verdict === 'survived' ? `(${stage}) ${m.why}` : r.by}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const killed = rows.filter((r) => r.verdict === 'killed').length;
  const pct = rows.length ? (100 * killed) / rows.length : 0;
  console.log(`\nkill table (${rows.length} mutants, ${((Date.now() - t0) / 60000).toFixed(1)} min):`);
  console.log(`  ${'layer'.padEnd(11)} ${'mutants'.padStart(7)} ${'killed'.padStart(7)}`);
  for (const layer of ['mm', 'devices', 'policy', 'invariants']) {
    const of = rows.filter((r) => r.m.file.startsWith(`src/${layer}/`));
    console.log(`  ${layer.padEnd(11)} ${String(of.length).padStart(7)} ${String(of.filter((r) => r.verdict === 'killed').length).padStart(7)}`);
  }
  console.log(`\nmutation score: ${killed}/${rows.length} killed by an assertion of npm test (${pct.toFixed(1)} %)`);
  for (const r of rows.filter((x) => x.verdict !== 'killed')) console.log(`  not killed: ${r.m.id} (${r.m.file}): ${r.verdict}: ${r.m.why}${r.by ? ` [${r.by}]` : ''}`);
  return pct >= 95 ? 0 : 1;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) process.exitCode = await main();
