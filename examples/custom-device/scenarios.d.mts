// Types of scenarios.mjs for TypeScript importers.
import type { ScenarioInput } from 'pinsim';

/** dma-engine writes a shared ext4 mapping; truncate lands between two transfers. */
export declare const dmaEngineTruncate: ScenarioInput;
/** The README's gup-nic-truncate under the user-written policy no-shared-file-longterm. */
export declare const gupNicTruncate: ScenarioInput;
/** The OOM reaper against two classic notifier subscribers, one refusing non-blockable ranges. */
export declare function shadowMmuOomKill(refuserHasEnd: boolean): ScenarioInput;
