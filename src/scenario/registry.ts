/**
 * The one registry: device models, policies and invariant checkers, registered by name once, as a
 * value (no import-time side effects, no global mutable state). Contract names not built yet are
 * known here so that input naming them is refused as `not-implemented`, never run as a stub.
 */
import type { DeviceModel } from '../devices/device.js';
import { gup_nic } from '../devices/gup-nic/gup-nic.js';
import { gpu_hmm } from '../devices/gpu-hmm/gpu-hmm.js';
import { odp_nic } from '../devices/odp-nic/odp-nic.js';
import type { Checker } from '../invariants/checker.js';
import { access_after_release } from '../invariants/access-after-release.js';
import { dma_into_reused_page } from '../invariants/dma-into-reused-page.js';
import { install_during_invalidation } from '../invariants/install-during-invalidation.js';
import { nonblock_slept } from '../invariants/nonblock-slept.js';
import { notifier_failed_blockable } from '../invariants/notifier-failed-blockable.js';
import { notifier_teardown_incomplete } from '../invariants/notifier-teardown-incomplete.js';
import { notifier_unpaired } from '../invariants/notifier-unpaired.js';
import { dma_use_after_free } from '../invariants/dma-use-after-free.js';
import { dirty_page_without_buffers } from '../invariants/dirty-page-without-buffers.js';
import { dummy_page_dma } from '../invariants/dummy-page-dma.js';
import { hang } from '../invariants/hang.js';
import { incoherent_mapping } from '../invariants/incoherent-mapping.js';
import { kernel_bug } from '../invariants/kernel-bug.js';
import { kernel_warn } from '../invariants/kernel-warn.js';
import { lost_write } from '../invariants/lost-write.js';
import { pinned_page_moved } from '../invariants/pinned-page-moved.js';
import { refcount_leak } from '../invariants/refcount-leak.js';
import { stale_read } from '../invariants/stale-read.js';
import type { KernelPolicy } from '../mm/policy_ops.js';
import { linux_4_20 } from '../policy/linux-4.20.js';
import { linux_5_7 } from '../policy/linux-5.7.js';
import { linux_5_9 } from '../policy/linux-5.9.js';
import { linux_5_19 } from '../policy/linux-5.19.js';
import { linux_era } from '../policy/linux-era.js';
import { linux_6_12 } from '../policy/linux-6.12.js';
import { block_truncate } from '../policy/block-truncate.js';
import { iommu_backstop } from '../policy/iommu-backstop.js';
import { layout_lease } from '../policy/layout-lease.js';
import { lease_break_dummy } from '../policy/lease-break-dummy.js';
import { revoke } from '../policy/revoke.js';

/** Every policy name of DESIGN §7b, built or not. */
export const CONTRACT_POLICIES = [
  'linux-4.20', 'linux-5.7', 'linux-5.9', 'linux-5.19', 'linux-6.12', 'block-truncate', 'lease-break-dummy', 'layout-lease', 'revoke', 'iommu-backstop',
] as const;

/** Every device model of DESIGN §7b, built or not. */
export const CONTRACT_MODELS = ['gup-nic', 'odp-nic', 'gpu-hmm'] as const;

/** Every invariant kind of DESIGN §7, checked yet or not. */
export const INVARIANT_KINDS = [
  'dma-use-after-free', 'dma-into-reused-page', 'lost-write', 'stale-read', 'incoherent-mapping',
  'notifier-teardown-incomplete', 'install-during-invalidation', 'notifier-unpaired', 'notifier-failed-blockable',
  'nonblock-slept', 'access-after-release', 'pinned-page-moved', 'dirty-page-without-buffers', 'dummy-page-dma',
  'hang', 'refcount-leak', 'kernel-bug', 'kernel-warn',
] as const;

/** The default policy (DESIGN §7b). */
export const DEFAULT_POLICY = 'linux-6.12';

export interface Registry {
  readonly devices: ReadonlyMap<string, DeviceModel>;
  readonly policies: ReadonlyMap<string, KernelPolicy>;
  readonly invariants: ReadonlyMap<string, Checker>;
}

function byName<T extends { name?: string; kind?: string }>(what: string, list: readonly T[]): Map<string, T> {
  const m = new Map<string, T>();
  for (const x of list) {
    const n = (x.name ?? x.kind) as string;
    if (m.has(n)) throw new Error(`duplicate ${what} "${n}" in the registry`);
    m.set(n, x);
  }
  return m;
}

/** createRegistry() - build a registry from plugin tables; duplicate names throw. */
export function createRegistry(p: { devices: readonly DeviceModel[]; policies: readonly KernelPolicy[]; invariants: readonly Checker[] }): Registry {
  return { devices: byName('device model', p.devices), policies: byName('policy', p.policies), invariants: byName('invariant', p.invariants) };
}

/** The built-in plugins. */
export const BUILTIN = {
  devices: [gup_nic, odp_nic, gpu_hmm] as readonly DeviceModel[],
  policies: [
    linux_4_20, linux_5_7, linux_5_9, linux_5_19, linux_6_12, block_truncate, lease_break_dummy, layout_lease, revoke, iommu_backstop,
  ] as readonly KernelPolicy[],
  invariants: [
    lost_write, dma_use_after_free, dma_into_reused_page, stale_read, incoherent_mapping, notifier_teardown_incomplete,
    install_during_invalidation, notifier_unpaired, notifier_failed_blockable, nonblock_slept, access_after_release,
    dummy_page_dma, hang, dirty_page_without_buffers, pinned_page_moved, refcount_leak, kernel_bug, kernel_warn,
  ] as readonly Checker[],
};

/**
 * lookupPolicy() - the policy @name runs: a registered one, or else any other `linux-X.Y`, resolved
 * from the era timeline. Return: undefined for a name that is neither.
 */
export function lookupPolicy(registry: Registry, name: string): KernelPolicy | undefined {
  return registry.policies.get(name) ?? linux_era(name) ?? undefined;
}

export function defaultRegistry(): Registry {
  return createRegistry(BUILTIN);
}

/** The ops this build executes; the contract's others are refused as not-implemented. */
export const IMPLEMENTED_OPS: ReadonlySet<string> = new Set([
  'mmap', 'munmap', 'mremap', 'madvise', 'mprotect', 'fork', 'exit', 'load', 'store', 'msync', 'ftruncate', 'truncate',
  'fallocate', 'fsync', 'pread', 'pwrite', 'drop_caches', 'setlease', 'sleep',
  'gup', 'unpin', 'pin_read', 'pin_write', 'reg_mr', 'dereg_mr', 'dma_read', 'dma_write', 'poll', 'advise_mr',
  'mirror', 'unmirror', 'gpu_read', 'gpu_write', 'snapshot', 'migrate_to_device', 'migrate_to_host', 'make_exclusive', 'check_exclusive',
  'writeback_now', 'reclaim', 'migrate',
]);
