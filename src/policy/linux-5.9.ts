/**
 * linux-5.9: anonymous COW decided by the refcount (do_wp_page() reuses a page only when its
 * refcount shows a sole holder, so a GUP reference always makes the next write copy), the 5.8
 * forced COW break of GUP removed again, and fork copying maybe-DMA-pinned anonymous pages for the
 * child. FOLL_PIN with the 1024 bias as in 5.7; ib_umem_get still asks FOLL_WRITE|FOLL_FORCE for a
 * read-only MR (before 6.2); ext4 BUGs on a dirty page without buffers (before 5.18). The era is
 * data: mm/features.ts resolves 5.9.
 */
import type { KernelPolicy } from '../mm/policy_ops.js';

export const linux_5_9: KernelPolicy = {
  name: 'linux-5.9',
  description: 'refcount-based COW reuse (a GUP reference makes the next write copy), fork copies pinned anon pages; FOLL_PIN as in 5.7',
  version: [5, 9],
  ops: {},
};
