// Types of no-shared-file-longterm.mjs for TypeScript importers.
import type { KernelPolicy } from 'pinsim';

/** linux-4.20 refusing long-term DMA references to shared file mappings (EOPNOTSUPP). */
export declare const no_shared_file_longterm: KernelPolicy;
