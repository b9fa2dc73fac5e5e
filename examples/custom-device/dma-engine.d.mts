// Types of dma-engine.mjs for TypeScript importers.
import type { DeviceModel } from 'pinsim';

/** The per-transfer pinning copy engine (`"model": "dma-engine"`). */
export declare const dma_engine: DeviceModel;
