/**
 * linux-5.19: PageAnonExclusive. Fresh anonymous pages are exclusive, fork clears the flag when it
 * shares a page (and copies a pinned one), do_wp_page() reuses an exclusive page whatever its
 * refcount, and a read-only FOLL_PIN of a page that may be shared takes an unshare fault first, so
 * R/O pins of anonymous memory stay coherent. Still before 6.2: R/O long-term pins of page-cache or
 * zero pages in private mappings are not unshared, and ib_umem_get asks FOLL_WRITE|FOLL_FORCE for a
 * read-only MR; FOLL_COW exists until 6.0. The era is data: mm/features.ts resolves 5.19.
 */
import type { KernelPolicy } from '../mm/policy_ops.js';

export const linux_5_19: KernelPolicy = {
  name: 'linux-5.19',
  description: 'PageAnonExclusive: exclusive pages reused, R/O pins of possibly shared anon pages unshare first; no 6.2 unshare of file/zero pages',
  version: [5, 19],
  ops: {},
};
