/**
 * Kernel feature boundaries as data: the era timeline. Each entry is one mainline change pinsim
 * models, with the first release that has it, its commit and subject; kernelFeatures() folds every
 * entry up to a version into the feature set the kernel model reads. A named era (linux-4.20,
 * linux-6.12, ...) is a preset of a version, and any linux-X.Y from EARLIEST_ERA on resolves the same
 * way. `pinsim list` prints the timeline. (pinsim-only)
 */

export type KernelVersion = readonly [number, number];

/** How do_wp_page() decides that a write-protected anonymous page may be reused in place. */
export type WpReuse =
  /** reuse_swap_page(): the page is mapped once (≤ 5.8), whatever other references it has. */
  | 'mapcount'
  /** the page's refcount shows a sole holder: no GUP reference, no other mapping (5.9–5.18). */
  | 'refcount'
  /** PageAnonExclusive, or else a sole holder, which then marks it exclusive (5.19+). */
  | 'anon_exclusive';

export interface KernelFeatures {
  readonly version: KernelVersion;
  /** FOLL_PIN with GUP_PIN_COUNTING_BIAS tracking (5.7); before it a "pin" is FOLL_GET. */
  readonly foll_pin: boolean;
  /** get/pin mixed in one call is a WARN + EINVAL (pin_user_pages(), 5.6). */
  readonly gup_get_pin_exclusive: boolean;
  /** FOLL_LONGTERM without FOLL_PIN is a WARN + EINVAL (is_valid_gup_args, 6.4 [U]). */
  readonly gup_longterm_needs_pin: boolean;
  /** Writable long-term pins of dirty-tracked shared file mappings refused with EFAULT (6.5). */
  readonly longterm_file_write_refused: boolean;
  /** ib_umem_get asks FOLL_WRITE (and FOLL_FORCE for read-only MRs) before 6.2. */
  readonly umem_force_write: boolean;
  /** ext4 set_page_dirty WARNs on a page without buffers (4.10). */
  readonly ext4_dirty_nobuffers_warn: boolean;
  /** ext4 writepages on a dirty page without buffers: BUG before 5.18; after, ext4_warning_inode() (no WARN) and skip. */
  readonly ext4_writepages_bug: boolean;
  /** fork copies pinned anon pages for the child (5.9). */
  readonly fork_copies_pinned: boolean;
  /** do_wp_page()'s reuse rule for anonymous pages. */
  readonly wp_reuse: WpReuse;
  /** 5.8 only: a FOLL_GET/FOLL_PIN GUP of a COW mapping breaks COW (FOLL_WRITE forced, gup-fast too). */
  readonly gup_forces_cow_break: boolean;
  /** FOLL_COW + a dirty PTE lets FOLL_FORCE write a R/O PTE after a COW fault (before 6.0). */
  readonly foll_cow: boolean;
  /** Anonymous pages carry PageAnonExclusive: set when fresh, cleared when fork shares them (5.19). */
  readonly anon_exclusive: boolean;
  /** A R/O FOLL_PIN of a non-exclusive anonymous page takes an unshare fault first (5.19). */
  readonly gup_unshare_anon: boolean;
  /** ... and so does a R/O FOLL_LONGTERM pin of any non-anonymous page in a COW mapping (6.2). */
  readonly gup_unshare_longterm_cow: boolean;
  /** Long-term pins migrate pages out of ZONE_MOVABLE/CMA first (5.13). */
  readonly longterm_migrates_movable: boolean;
  /** mlx5 WARNs on a bad UMR completion and recovers the UMR QP (6.0); before, the QP stays in error. */
  readonly mlx5_umr_recovery: boolean;
  /** mremap looks up the source VMA first and fails EFAULT before any other work (≈5.16 [U]). */
  readonly mremap_vma_lookup_first: boolean;
  /** hmm_range_fault() reports the order of the mapping of each page (PMD/PUD) (5.9). */
  readonly hmm_pfn_order: boolean;
  /** ODP with IB_ACCESS_HUGETLB uses HPAGE_SHIFT entries, no VMA check (5.10); the VMA's size before. */
  readonly odp_hugetlb_hpage_shift: boolean;
  /** fork copies maybe-pinned anonymous hugetlb pages for the child (5.12). */
  readonly hugetlb_fork_copies_pinned: boolean;
  /** mremap of a hugetlb VMA (aligned, not growing); EINVAL before (5.16). */
  readonly hugetlb_mremap: boolean;
  /** MADV_DONTNEED on hugetlb VMAs: aligned start, the end rounded up to the huge page; EINVAL before (5.18). */
  readonly madv_dontneed_hugetlb: boolean;
  /** fallocate(PUNCH_HOLE) on hugetlbfs zeroes the partial huge pages at the ends of the hole (5.19). */
  readonly hugetlbfs_zero_partial: boolean;
  /** MADV_DONTNEED on hugetlb rounds the end down, not up (6.1). */
  readonly madv_dontneed_hugetlb_round_down: boolean;
  /** A THP COW that cannot reuse splits the PMD and copies 4 KiB; before, it copies the whole THP (5.8). */
  readonly thp_cow_split: boolean;
  /** khugepaged collapses pages shared with another process (max_ptes_shared) (5.8); refused before. */
  readonly khugepaged_shared: boolean;
  /** fork splits the PMD of a maybe-pinned THP and copies its exclusive pages for the child (5.9). */
  readonly thp_fork_splits_pinned: boolean;
  /** MADV_COLLAPSE (6.1): EINVAL before. */
  readonly madv_collapse: boolean;
  /** MADV_COLLAPSE answers EAGAIN for a page with extra references (6.3); EINVAL before. */
  readonly madv_collapse_eagain: boolean;
  /** shmem truncate tries to split a partly truncated THP (and keeps it whole when that fails) (5.7). */
  readonly shmem_truncate_split: boolean;
  /** xfs page cache folios larger than 4 KiB from readahead and faults (5.18). */
  readonly xfs_large_folios: boolean;
  /** ... and from buffered writes too (6.6). */
  readonly large_folio_writes: boolean;
  /** tmpfs folios of any order, not only 4 KiB or 2 MiB (6.14). */
  readonly shmem_any_order: boolean;
  /** ext4 page cache folios larger than 4 KiB (6.16). */
  readonly ext4_large_folios: boolean;
  /** fsdax break-layouts unmaps the whole file with even_cows, zapping private COW copies (before 5.3). */
  readonly dax_busy_unmaps_cows: boolean;
  /** fsdax break-layouts returns at once when no VMA maps the file (mapping_mapped(), before 6.15). */
  readonly dax_busy_skips_unmapped: boolean;
  /** Reclaim keeps a clean MADV_FREE page that has references beyond its mappings (5.18). */
  readonly lazyfree_checks_refs: boolean;
  /** mremap() knows MREMAP_DONTUNMAP (5.7). */
  readonly mremap_dontunmap: boolean;
  /** MREMAP_DONTUNMAP works on any VMA but VM_PFNMAP/VM_DONTEXPAND, not only private anonymous ones (5.13). */
  readonly mremap_dontunmap_any_vma: boolean;
  /** MADV_REMOVE needs VM_SHARED and VM_MAYWRITE (6.7), no longer VM_SHARED and VM_WRITE. */
  readonly madv_remove_maywrite: boolean;
  /** A refused non-blockable start calls every classic subscriber's invalidate_range_end (5.13). */
  readonly mn_nonblock_fail_ends: boolean;
  /** PAGEVEC_SIZE: the folios a folio_batch holds, so truncate removes at once (15; 31 from 6.9). */
  readonly folio_batch_size: number;
}

type FeatureValues = Omit<KernelFeatures, 'version'>;

/** One boundary of the timeline: from @version on, the features in @set take these values. */
export interface EraBoundary {
  readonly version: KernelVersion;
  readonly set: Partial<FeatureValues>;
  /** Abbreviated upstream commit ('' when the project has not recorded it). */
  readonly commit: string;
  /** The commit's subject; without a commit, what changed. */
  readonly subject: string;
  /** The kernel file and function the change is in. */
  readonly where: string;
  /** What pinsim does with it, in a few words. */
  readonly effect: string;
}

/** The values before the first boundary. */
const BEFORE_TIMELINE: FeatureValues = {
  foll_pin: false, gup_get_pin_exclusive: false, gup_longterm_needs_pin: false, longterm_file_write_refused: false,
  umem_force_write: true, ext4_dirty_nobuffers_warn: false, ext4_writepages_bug: true, fork_copies_pinned: false,
  wp_reuse: 'mapcount', gup_forces_cow_break: false, foll_cow: true, anon_exclusive: false, gup_unshare_anon: false,
  gup_unshare_longterm_cow: false, longterm_migrates_movable: false, mlx5_umr_recovery: false,
  mremap_vma_lookup_first: false, dax_busy_unmaps_cows: true, dax_busy_skips_unmapped: true, lazyfree_checks_refs: false,
  mremap_dontunmap: false, mremap_dontunmap_any_vma: false, madv_remove_maywrite: false, mn_nonblock_fail_ends: false,
  hmm_pfn_order: false, odp_hugetlb_hpage_shift: false, hugetlb_fork_copies_pinned: false, hugetlb_mremap: false,
  madv_dontneed_hugetlb: false, hugetlbfs_zero_partial: false, madv_dontneed_hugetlb_round_down: false, folio_batch_size: 15,
  thp_cow_split: false, khugepaged_shared: false, thp_fork_splits_pinned: false, madv_collapse: false, madv_collapse_eagain: false,
  shmem_truncate_split: false, xfs_large_folios: false, large_folio_writes: false, shmem_any_order: false, ext4_large_folios: false,
};

/**
 * The era timeline, oldest first. Versions are the first mainline release with the change; the
 * sources behind each are in docs/cow-gup-eras.md (anonymous COW and GUP) and docs/decisions.md.
 */
export const ERA_TIMELINE: readonly EraBoundary[] = [
  {
    version: [4, 10], set: { ext4_dirty_nobuffers_warn: true }, commit: '', subject: 'ext4: WARN in set_page_dirty of a page without buffers',
    where: 'fs/ext4/inode.c ext4_set_page_dirty()', effect: 'dirtying a buffer-less ext4 page at unpin WARNs',
  },
  {
    version: [5, 3], set: { dax_busy_unmaps_cows: false }, commit: '', subject: 'dax: dax_layout_busy_page() should not unmap cow pages',
    where: 'fs/dax.c dax_layout_busy_page()', effect: 'fsdax break-layouts keeps the private COW copies of the file (even_cows 0)',
  },
  {
    version: [5, 6], set: { gup_get_pin_exclusive: true }, commit: 'eddb1c228f79', subject: 'mm/gup: introduce pin_user_pages*() and FOLL_PIN',
    where: 'mm/gup.c pin_user_pages()', effect: 'FOLL_GET with FOLL_PIN in one call WARNs and fails EINVAL',
  },
  {
    version: [5, 7], set: { foll_pin: true }, commit: '3faa52c03f44', subject: 'mm/gup: track FOLL_PIN pages',
    where: 'mm/gup.c try_grab_page()', effect: 'a pin adds GUP_PIN_COUNTING_BIAS (1024); folio_maybe_dma_pinned() sees it',
  },
  {
    version: [5, 7], set: { shmem_truncate_split: true }, commit: '71725ed10c40', subject: 'mm: huge tmpfs: try to split_huge_page() when punching hole',
    where: 'mm/shmem.c shmem_punch_compound()', effect: 'a partly truncated tmpfs THP is split when it can be; kept whole (the range zeroed) when not',
  },
  {
    version: [5, 7], set: { mremap_dontunmap: true }, commit: 'e346b3813067', subject: 'mm/mremap: add MREMAP_DONTUNMAP to mremap()',
    where: 'mm/mremap.c mremap(), move_vma()', effect: 'MREMAP_DONTUNMAP moves the pages and leaves the old range mapped and empty (private anonymous VMAs only)',
  },
  {
    version: [5, 8], set: { gup_forces_cow_break: true }, commit: '17839856fd58',
    subject: 'gup: document and work around "COW can break either way" issue',
    where: 'mm/gup.c __get_user_pages() should_force_cow_break(), internal_get_user_pages_fast()',
    effect: 'any FOLL_GET/FOLL_PIN GUP of a COW mapping write-faults (breaks COW), read-only ones included',
  },
  {
    version: [5, 8], set: { thp_cow_split: true }, commit: '3917c80280c9', subject: 'thp: change CoW semantics for anon-THP',
    where: 'mm/huge_memory.c do_huge_pmd_wp_page()', effect: 'a THP write fault that cannot reuse splits the PMD and copies 4 KiB, not the whole THP',
  },
  {
    version: [5, 8], set: { khugepaged_shared: true }, commit: '', subject: 'khugepaged: allow to collapse PTE-mapped compound pages shared across fork (max_ptes_shared)',
    where: 'mm/khugepaged.c khugepaged_scan_pmd(), __collapse_huge_page_isolate()', effect: 'khugepaged collapses pages shared with another process; pinned ones still refused',
  },
  {
    version: [5, 9], set: { wp_reuse: 'refcount' }, commit: '09854ba94c6a', subject: 'mm: do_wp_page() simplification',
    where: 'mm/memory.c do_wp_page()', effect: 'an anonymous page is reused only when its refcount shows a sole holder',
  },
  {
    version: [5, 9], set: { gup_forces_cow_break: false }, commit: 'a308c71bf1e6', subject: 'mm/gup: Remove enfornced COW mechanism',
    where: 'mm/gup.c __get_user_pages()', effect: 'the 5.8 forced COW break is gone; FOLL_COW needs FOLL_FORCE again',
  },
  {
    version: [5, 9], set: { fork_copies_pinned: true }, commit: '70e806e4e645', subject: 'mm: Do early cow for pinned pages during fork() for ptes',
    where: 'mm/memory.c copy_present_page()', effect: 'fork copies a maybe-DMA-pinned anonymous page for the child',
  },
  {
    version: [5, 9], set: { thp_fork_splits_pinned: true }, commit: 'd042035eaf5f', subject: "mm/thp: Split huge pmds/puds if they're pinned when fork()",
    where: 'mm/huge_memory.c copy_huge_pmd()', effect: 'fork splits a maybe-pinned THP\'s PMD; the child gets 4 KiB copies of its exclusive pages',
  },
  {
    version: [5, 9], set: { hmm_pfn_order: true }, commit: '3b50a6e536d2', subject: 'mm/hmm: provide the page mapping order in hmm_range_fault()',
    where: 'mm/hmm.c hmm_vma_walk_pmd(), hmm_vma_walk_hugetlb_entry()', effect: 'a huge mapping reports its order (dmirror\'s snapshot: PMD, PUD)',
  },
  {
    version: [5, 10], set: { odp_hugetlb_hpage_shift: true }, commit: '36f30e486dce', subject: 'IB/core: Improve ODP to use hmm_range_fault()',
    where: 'drivers/infiniband/core/umem_odp.c ib_init_umem_odp(), ib_umem_odp_map_dma_and_lock()',
    effect: 'IB_ACCESS_HUGETLB: 2 MiB entries whatever the VMA; a page mapped smaller fails the fault',
  },
  {
    version: [5, 12], set: { hugetlb_fork_copies_pinned: true }, commit: '4eae4efa2c29', subject: 'hugetlb: do early cow when page pinned on src mm',
    where: 'mm/hugetlb.c copy_hugetlb_page_range()', effect: 'fork copies a maybe-pinned anonymous huge page for the child',
  },
  {
    version: [5, 13], set: { longterm_migrates_movable: true }, commit: 'd1e153fea2a8', subject: 'mm/gup: migrate pinned pages out of movable zone',
    where: 'mm/gup.c check_and_migrate_movable_pages()', effect: 'a long-term pin first migrates pages out of ZONE_MOVABLE',
  },
  {
    version: [5, 13], set: { mn_nonblock_fail_ends: true }, commit: '', subject: 'mm/mmu_notifiers: ensure range_end() is paired with range_start()',
    where: 'mm/mmu_notifier.c mn_hlist_invalidate_range_start()',
    effect: 'after a refused non-blockable start every classic subscriber with an invalidate_range_end gets it; before, those whose start succeeded got none',
  },
  {
    version: [5, 13], set: { mremap_dontunmap_any_vma: true }, commit: 'a4609387859f', subject: 'mm: extend MREMAP_DONTUNMAP to non-anonymous mappings',
    where: 'mm/mremap.c vma_to_resize()', effect: 'MREMAP_DONTUNMAP works on file and shared mappings too (not VM_PFNMAP or VM_DONTEXPAND)',
  },
  {
    version: [5, 16], set: { mremap_vma_lookup_first: true }, commit: '', subject: 'mremap looks the source VMA up before any other work [U]',
    where: 'mm/mremap.c mremap()', effect: 'mremap of an unmapped source fails EFAULT first',
  },
  {
    version: [5, 16], set: { hugetlb_mremap: true }, commit: '550a7d60bd5e', subject: 'mm, hugepages: add mremap() support for hugepage backed vma',
    where: 'mm/mremap.c mremap(), move_hugetlb_page_tables()', effect: 'mremap of a hugetlb VMA (huge page aligned, not growing) instead of EINVAL',
  },
  {
    version: [5, 18], set: { madv_dontneed_hugetlb: true }, commit: '90e7e7f5ef3f', subject: 'mm: enable MADV_DONTNEED for hugetlb mappings',
    where: 'mm/madvise.c madvise_dontneed_free_valid_vma()', effect: 'MADV_DONTNEED zaps hugetlb pages (aligned start; the end rounded up) instead of EINVAL',
  },
  {
    version: [5, 18], set: { ext4_writepages_bug: false }, commit: 'cc5095747edf', subject: "ext4: don't BUG if someone dirty pages without asking ext4 first",
    where: 'fs/ext4/inode.c mpage_prepare_extent_to_map()', effect: 'writeback logs ext4_warning_inode (a printk, not a WARN) and skips a dirty page without buffers instead of BUG',
  },
  {
    version: [5, 18], set: { lazyfree_checks_refs: true }, commit: '6c8e2a256915', subject: 'mm: fix race between MADV_FREE reclaim and blkdev direct IO read',
    where: 'mm/rmap.c try_to_unmap_one()', effect: 'reclaim keeps a clean MADV_FREE page referenced beyond its mappings (a GUP reference) instead of discarding it',
  },
  {
    version: [5, 18], set: { xfs_large_folios: true }, commit: '6795801366da', subject: 'xfs: Support large folios',
    where: 'fs/xfs/xfs_icache.c xfs_inode_alloc() mapping_set_large_folios()', effect: 'xfs files cache folios of folioSize from readahead and faults',
  },
  {
    version: [5, 19], set: { anon_exclusive: true, wp_reuse: 'anon_exclusive' }, commit: '6c287605fd56',
    subject: 'mm: remember exclusively mapped anonymous pages with PG_anon_exclusive',
    where: 'mm/memory.c do_wp_page(), copy_present_pte(); include/linux/rmap.h page_try_dup_anon_rmap()',
    effect: 'PageAnonExclusive: fork clears it (or copies a pinned page); do_wp_page reuses an exclusive page',
  },
  {
    version: [5, 19], set: { gup_unshare_anon: true }, commit: 'a7f226604170',
    subject: 'mm/gup: trigger FAULT_FLAG_UNSHARE when R/O-pinning a possibly shared anonymous page',
    where: 'mm/internal.h gup_must_unshare(); mm/gup.c follow_page_pte(), faultin_page()',
    effect: 'a R/O FOLL_PIN of a non-exclusive anonymous page takes an unshare fault first',
  },
  {
    version: [5, 19], set: { hugetlbfs_zero_partial: true }, commit: '', subject: 'hugetlbfs: zero partial pages during fallocate hole punch',
    where: 'fs/hugetlbfs/inode.c hugetlbfs_punch_hole(), hugetlbfs_zero_partial_page()', effect: 'punching part of a huge page zeroes that part (before: left as it was)',
  },
  {
    version: [6, 0], set: { foll_cow: false }, commit: '5535be309971', subject: 'mm/gup: fix FOLL_FORCE COW security issue and remove FOLL_COW',
    where: 'mm/gup.c can_follow_write_pte()', effect: 'FOLL_FORCE may write a R/O PTE only of an exclusive anonymous page in a R/O COW mapping',
  },
  {
    version: [6, 0], set: { mlx5_umr_recovery: true }, commit: '158e71bb69e3', subject: 'RDMA/mlx5: Add a umr recovery flow',
    where: 'drivers/infiniband/hw/mlx5/umr.c mlx5r_umr_post_send_wait(), mlx5r_umr_recover()',
    effect: 'a bad UMR completion WARNs and the UMR QP is reset to RTS (the failed UMR is not re-applied); before, the QP stayed in error and every later UMR failed',
  },
  {
    version: [6, 1], set: { madv_dontneed_hugetlb_round_down: true }, commit: '8ebe0a5eaaeb',
    subject: 'mm,madvise,hugetlb: fix unexpected data loss with MADV_DONTNEED on hugetlbfs',
    where: 'mm/madvise.c madvise_dontneed_free_valid_vma()', effect: 'MADV_DONTNEED on hugetlb rounds the end down (a partial huge page is kept)',
  },
  {
    version: [6, 1], set: { madv_collapse: true }, commit: '7d8faaf15545', subject: 'mm/madvise: introduce MADV_COLLAPSE sync hugepage collapse',
    where: 'mm/khugepaged.c madvise_collapse()', effect: 'MADV_COLLAPSE collapses a range into THP now (EINVAL before)',
  },
  {
    version: [6, 2], set: { gup_unshare_longterm_cow: true }, commit: '84209e87c696', subject: 'mm/gup: reliable R/O long-term pinning in COW mappings',
    where: 'mm/internal.h gup_must_unshare()', effect: 'a R/O FOLL_LONGTERM pin of a page-cache or zero page in a COW mapping unshares first',
  },
  {
    version: [6, 2], set: { umem_force_write: false }, commit: 'b40656aa7d55', subject: 'RDMA/umem: remove FOLL_FORCE usage',
    where: 'drivers/infiniband/core/umem.c ib_umem_get()', effect: 'a read-only MR is pinned read-only (no FOLL_WRITE|FOLL_FORCE)',
  },
  {
    version: [6, 3], set: { madv_collapse_eagain: true }, commit: '', subject: 'mm/MADV_COLLAPSE: set EAGAIN on unexpected page refcount',
    where: 'mm/khugepaged.c madvise_collapse_errno()', effect: 'MADV_COLLAPSE refusing a pinned or extra-referenced page answers EAGAIN, not EINVAL',
  },
  {
    version: [6, 4], set: { gup_longterm_needs_pin: true }, commit: '', subject: 'is_valid_gup_args(): FOLL_LONGTERM only with FOLL_PIN [U]',
    where: 'mm/gup.c is_valid_gup_args()', effect: 'FOLL_LONGTERM without FOLL_PIN WARNs and fails EINVAL',
  },
  {
    version: [6, 5], set: { longterm_file_write_refused: true }, commit: '8ac268436e6d',
    subject: 'mm/gup: disallow FOLL_LONGTERM GUP-nonfast writing to file-backed mappings',
    where: 'mm/gup.c check_vma_flags() writable_file_mapping_allowed()', effect: 'a writable long-term pin of a dirty-tracked shared file mapping fails EFAULT',
  },
  {
    version: [6, 6], set: { large_folio_writes: true }, commit: '', subject: 'iomap: create large folios in the buffered write path',
    where: 'fs/iomap/buffered-io.c iomap_get_folio()', effect: 'buffered writes to xfs make folios of folioSize too (4 KiB before)',
  },
  {
    version: [6, 7], set: { madv_remove_maywrite: true }, commit: '', subject: 'mm: drop the assumption that VM_SHARED always implies writable [U]',
    where: 'mm/madvise.c madvise_remove() vma_is_shared_maywrite()', effect: 'MADV_REMOVE of a shared mapping needs VM_MAYWRITE, no longer VM_WRITE (a PROT_READ mapping of a writable file may punch)',
  },
  {
    version: [6, 9], set: { folio_batch_size: 31 }, commit: '9cecde80aae0', subject: 'mm: increase folio batch size',
    where: 'include/linux/pagevec.h PAGEVEC_SIZE; mm/truncate.c truncate_inode_pages_range()',
    effect: 'truncate removes up to 31 folios from the page cache at once (15 before), one preemption point per batch',
  },
  {
    version: [6, 14], set: { shmem_any_order: true }, commit: '', subject: 'mm: shmem: add large folio support for tmpfs',
    where: 'mm/shmem.c shmem_huge_global_enabled(), shmem_allowable_huge_orders()', effect: 'tmpfs folios of any folioSize, not only 4 KiB or 2 MiB',
  },
  {
    version: [6, 15], set: { dax_busy_skips_unmapped: false }, commit: '',
    subject: 'fs/dax: dax_layout_busy_page_range() no longer returns early for an unmapped file [U]',
    where: 'fs/dax.c dax_layout_busy_page_range()', effect: 'fsdax break-layouts waits for a busy page even when no VMA maps the file',
  },
  {
    version: [6, 16], set: { ext4_large_folios: true }, commit: '', subject: 'ext4: enable large folio for regular file',
    where: 'fs/ext4/inode.c ext4_should_enable_large_folio()', effect: 'ext4 files cache folios of folioSize',
  },
];

/** The oldest kernel a linux-X.Y may name: blockable notifiers (4.19) are in every era pinsim runs. */
export const EARLIEST_ERA: KernelVersion = [4, 19];

/** The last minor of each mainline series (7.x is open-ended). */
const LAST_MINOR: ReadonlyMap<number, number> = new Map([[4, 20], [5, 19], [6, 19], [7, 99]]);

/** compareVersions() - <0, 0, >0 as @a is older than, the same as, newer than @b. */
export function compareVersions(a: KernelVersion, b: KernelVersion): number {
  return a[0] - b[0] || a[1] - b[1];
}

/**
 * kernelFeatures() - the feature set of linux-@major.@minor: every timeline entry up to it, folded
 * into one object (a world is built per explorer execution: the fold copies each entry's few
 * fields, never the whole set again).
 */
export function kernelFeatures(major: number, minor: number): KernelFeatures {
  const version = [major, minor] as const;
  const f: { -readonly [K in keyof FeatureValues]: FeatureValues[K] } = { ...BEFORE_TIMELINE };
  for (const b of ERA_TIMELINE) if (compareVersions(b.version, version) <= 0) Object.assign(f, b.set);
  return { version, ...f };
}

/**
 * parseEraName() - the version a policy name `linux-X.Y` names, or null when it is not of that form
 * or names no mainline release pinsim can run (before EARLIEST_ERA, or past a series' last minor).
 */
export function parseEraName(name: string): KernelVersion | null {
  const m = /^linux-([1-9]\d?)\.(0|[1-9]\d?)$/.exec(name);
  if (!m) return null;
  const v = [Number(m[1]), Number(m[2])] as const;
  const last = LAST_MINOR.get(v[0]);
  if (last === undefined || v[1] > last || compareVersions(v, EARLIEST_ERA) < 0) return null;
  return v;
}

/** formatVersion() - `5.19`. */
export function formatVersion(v: KernelVersion): string {
  return `${v[0]}.${v[1]}`;
}
