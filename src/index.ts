/**
 * pinsim's public API. Re-exports only, as an explicit list.
 *
 * @example
 *   import { scenario, runScenario } from 'pinsim';
 *   const s = scenario('gup-nic-truncate')
 *     .kernel({ policy: 'linux-4.20' })
 *     .file('f', { fs: 'ext4', size: '64K' })
 *     .device('nic0', { model: 'gup-nic' })
 *     .actor('app', [
 *       { op: 'mmap', file: 'f', length: '64K', prot: 'rw', flags: ['shared'], as: 'buf' },
 *       { op: 'reg_mr', device: 'nic0', addr: 'buf', length: '64K', access: 'rw', as: 'mr' },
 *       { op: 'dma_write', mr: 'mr', offset: 0, length: '4K', at: '30us', as: 'w2' },
 *     ])
 *     .actor('admin', [{ op: 'ftruncate', file: 'f', length: 0, at: '20us' }])
 *     .build();
 *   runScenario(s).violations.map((v) => v.kind); // ['lost-write'] under linux-4.20
 */
export { runScenario, runValidated, type RunOptions } from './scenario/run/run.js';
export type { RunResult, Violation, OpTiming, Outcome } from './scenario/run/result.js';
export { scenario, type ScenarioBuilder, type OpBuild } from './scenario/format/builder.js';
export { validateScenario, validateOrThrow } from './scenario/format/validate.js';
export { validationContext, type ValidationContext } from './scenario/format/context.js';
export { collectScenarioFiles, loadScenarioInput } from './scenario/format/load.js';
export {
  ScenarioError, formatIssues,
  type Scenario, type ScenarioInput, type Op, type OpInput, type Issue, type Expect, type ValidationResult,
} from './scenario/format/types.js';
export { ALL_OPS, OP_TABLE, opDescriptor, type OpName } from './scenario/ops/table.js';
export type { OpDescriptor, FieldSpec, WordSpec } from './scenario/ops/op.js';
export {
  createRegistry, defaultRegistry, lookupPolicy, BUILTIN, CONTRACT_POLICIES, CONTRACT_MODELS, INVARIANT_KINDS, DEFAULT_POLICY,
  type Registry,
} from './scenario/registry.js';
export type { DeviceModel, DeviceCtx, DeviceInstance, DeviceParamSpec, MemoryRegion, DmaRequest, DmaResult, RegMrFlags } from './devices/device.js';
export type { KernelPolicy, KernelPolicyOps } from './mm/policy_ops.js';
export type { Checker, CheckerCtx, ViolationReport, ChainEvent } from './invariants/checker.js';
export type { MmTraceEvent } from './mm/trace_events.js';
export { formatTime, formatSize, parseSize, parseTime } from './engine/clock.js';
export { encodeChoices, decodeChoices, type Choices } from './engine/choices.js';
export {
  explore, exploreValidated, exploreSteps, mergeResults,
  type ExploreBound, type ExploreOptions, type ExploreResult, type FinalState, type OutcomeVerdict, type StrategyName, type Verdict,
} from './explore/explore.js';
export { replay, replayFileOf, type ReplayRecord, type ReplayOutcome } from './explore/replay.js';
export { tellChain } from './report/story.js';
export { formatRunText } from './report/text.js';

// What a user-written device model or policy calls (see examples/custom-device/).
export { delay, schedPoint, type Co } from './engine/actor.js';
export { wait_event, wake_up_all, WaitQueueHead } from './engine/waitqueue.js';
export { IS_ERR, EINVAL, EFAULT, ENOMEM, EPERM, EOPNOTSUPP, EBUSY, ETXTBSY, EAGAIN, type Errno } from './mm/errno.js';
export {
  mmu_notifier_register, mmu_notifier_range_blockable, type MmuNotifier, type MmuNotifierOps, type MmuNotifierRange,
} from './mm/mmu_notifier.js';
export { get_user_pages_locked, get_user_pages_unlocked, gup_flags_for_era, unpin_user_pages_dirty_lock } from './mm/gup.js';
export { PAGE_SIZE, VM_SHARED, VM_WRITE, FOLL_PIN, FOLL_GET, FOLL_LONGTERM, FOLL_WRITE } from './mm/types.js';
export {
  COMMON_DEVICE_PARAMS, dma_iommu_fault, dma_map_translation, dma_transfer_page, dma_unmap_translation, page_bytes,
  type Translation, type MirrorOpResult,
} from './devices/device.js';
export { longterm_refs_on_range, ref_pfns_on_range } from './mm/truncate.js';
export type { DmaRef, PinOwnerOps } from './mm/pin_registry.js';
export type { Kernel, Process } from './mm/kernel.js';
