/**
 * iommu-backstop: truncate (and punch-hole) unmaps the IOVA entries of the pinning devices that sit
 * behind an IOMMU (`"iommu": true`, PinOwnerOps.iommu_unmap) and proceeds; their later DMA faults at
 * the IOMMU (remote-access-error, or a hang with pcieErrorHandling "hang"). Devices without an IOMMU
 * behave as in 4.20.
 */
import type { KernelPolicy } from '../mm/policy_ops.js';
import { longterm_refs_on_range, ref_pfns_on_range } from '../mm/truncate.js';
import { linux_4_20 } from './linux-4.20.js';

export const iommu_backstop: KernelPolicy = {
  name: 'iommu-backstop',
  description: "the IOMMU as a backstop: truncate unmaps pinning devices' IOVAs, their later DMA faults (devices without an IOMMU as 4.20)",
  version: linux_4_20.version,
  ops: {
    *truncate_pinned_range(k, inode, first, last) {
      for (const ref of longterm_refs_on_range(k, inode, first, last)) {
        if (ref.ops?.has_iommu && ref.ops.iommu_unmap) yield* ref.ops.iommu_unmap(ref, ref_pfns_on_range(ref, inode, first, last));
      }
      return 0;
    },
  },
};
