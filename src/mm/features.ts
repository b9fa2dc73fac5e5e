/**
 * Kernel feature boundaries (the era timeline of docs/kernel-model.md), resolved for one
 * version. Eras are presets of a version; a later pinsim may accept any linux-X.Y.
 * (pinsim-only)
 */
export interface KernelFeatures {
  readonly version: readonly [number, number];
  /** FOLL_PIN with GUP_PIN_COUNTING_BIAS tracking (5.7); before it a "pin" is FOLL_GET. */
  readonly foll_pin: boolean;
  /** get/pin mixed in one call is a WARN + EINVAL (5.7 pin_user_pages). */
  readonly gup_get_pin_exclusive: boolean;
  /** FOLL_LONGTERM without FOLL_PIN is a WARN + EINVAL (is_valid_gup_args, 6.4 [U]). */
  readonly gup_longterm_needs_pin: boolean;
  /** Writable long-term pins of dirty-tracked shared file mappings refused with EFAULT (6.5). */
  readonly longterm_file_write_refused: boolean;
  /** ib_umem_get asks FOLL_WRITE (and FOLL_FORCE for read-only MRs) before 6.2. */
  readonly umem_force_write: boolean;
  /** ext4 set_page_dirty WARNs on a page without buffers (4.10). */
  readonly ext4_dirty_nobuffers_warn: boolean;
  /** ext4 writepages on a dirty page without buffers: BUG before 5.18, WARN and skip after. */
  readonly ext4_writepages_bug: boolean;
  /** fork copies pinned anon pages for the child (5.9). */
  readonly fork_copies_pinned: boolean;
  /** Anonymous pages carry PageAnonExclusive; pinned anon pages are exclusive (5.19). */
  readonly anon_exclusive: boolean;
  /** Long-term pins migrate pages out of ZONE_MOVABLE/CMA first (5.13). */
  readonly longterm_migrates_movable: boolean;
  /** mlx5 WARNs on a bad UMR completion (2022, 6.0+). */
  readonly mlx5_umr_warn: boolean;
  /** mremap looks up the source VMA first and fails EFAULT before any other work (≈5.16 [U]). */
  readonly mremap_vma_lookup_first: boolean;
}

function ge(v: readonly [number, number], maj: number, min: number): boolean {
  return v[0] > maj || (v[0] === maj && v[1] >= min);
}

/** kernelFeatures() - the feature set of linux-@major.@minor. */
export function kernelFeatures(major: number, minor: number): KernelFeatures {
  const v = [major, minor] as const;
  return {
    version: v,
    foll_pin: ge(v, 5, 7),
    gup_get_pin_exclusive: ge(v, 5, 7),
    gup_longterm_needs_pin: ge(v, 6, 4),
    longterm_file_write_refused: ge(v, 6, 5),
    umem_force_write: !ge(v, 6, 2),
    ext4_dirty_nobuffers_warn: ge(v, 4, 10),
    ext4_writepages_bug: !ge(v, 5, 18),
    fork_copies_pinned: ge(v, 5, 9),
    anon_exclusive: ge(v, 5, 19),
    longterm_migrates_movable: ge(v, 5, 13),
    mlx5_umr_warn: ge(v, 6, 0),
    mremap_vma_lookup_first: ge(v, 5, 16),
  };
}
