/**
 * The IOMMU: a per-device IOVA domain. dma_map_page() gives a device an IOVA for a frame;
 * dma_unmap_page() removes it, after which the device's DMA to that IOVA faults (a PCIe error the
 * device either aborts — a remote-access-error completion — or hangs on, per pcieErrorHandling).
 * A device without an IOMMU uses physical addresses: its DMA reaches whatever frame it was given.
 * Kernel: drivers/iommu/dma-iommu.c iommu_dma_map_page()/iommu_dma_unmap_page(), include/linux/dma-mapping.h.
 * Simplified: one 4 KiB IOVA per mapped page, no IOTLB (unmap takes effect at once).
 */
export class IommuDomain {
  readonly device: string;
  private readonly map = new Map<number, number>();
  private next = 0x100000; // IOVA page numbers start above 4 GiB

  constructor(device: string) {
    this.device = device;
  }

  /** reset() - nothing mapped, IOVAs from the first again, as new (a machine reused by the next execution). */
  reset(): void {
    if (this.map.size) this.map.clear();
    this.next = 0x100000;
  }

  /** dma_map_page() - Return: the IOVA page number now translating to @pfn. */
  dma_map_page(pfn: number): number {
    const iova = this.next++;
    this.map.set(iova, pfn);
    return iova;
  }

  /** dma_unmap_page() - later DMA to @iova faults. Pairs with dma_map_page(). */
  dma_unmap_page(iova: number): void {
    this.map.delete(iova);
  }

  /** The pfn @iova translates to, or -1 (an IOMMU fault). */
  translate(iova: number): number {
    return this.map.get(iova) ?? -1;
  }
}
