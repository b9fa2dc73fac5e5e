// Types of shadow-mmu.mjs for TypeScript importers.
import type { DeviceModel } from 'pinsim';

/** A device answering a classic mmu_notifier (`"model": "shadow-mmu"`). */
export declare const shadow_mmu: DeviceModel;
