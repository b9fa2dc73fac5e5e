// @ts-check
/**
 * The kernel entry points a device model or a policy calls, in one place. They all come from pinsim's
 * public entry; inside this repository `'pinsim'` resolves to the package itself (Node's package
 * self-reference through "exports"), so this example runs exactly as it would in a user's project.
 */
export { delay, schedPoint } from 'pinsim';
export { EAGAIN, EINVAL, EOPNOTSUPP, IS_ERR } from 'pinsim';
export { mmu_notifier_range_blockable, mmu_notifier_register } from 'pinsim';
export { get_user_pages_unlocked, gup_flags_for_era, unpin_user_pages_dirty_lock } from 'pinsim';
export { PAGE_SIZE, VM_SHARED } from 'pinsim';
export {
  COMMON_DEVICE_PARAMS, dma_iommu_fault, dma_map_translation, dma_transfer_page, dma_unmap_translation, page_bytes,
} from 'pinsim';
