/**
 * The one registry: device models, policies and invariant checkers, registered by name once, as a
 * value (no import-time side effects, no global mutable state). Names of the format not built yet
 * are known here so that input naming them is refused as `not-implemented`, never run as a stub.
 * Policy names are resolved here, and only here: validation, the CLI's --policy and the runner
 * all ask policyIssue() / resolvePolicy().
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
import { EARLIEST_ERA, formatVersion, kernelFeatures, type KernelFeatures } from '../mm/features.js';
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
import { closest } from './format/closest.js';
import { OP_TABLE, opDescriptor } from './ops/table.js';
import { ScenarioError, type Issue } from './format/types.js';

/** Every named policy (era presets and the 2018 thread's proposals), built or not. */
export const CONTRACT_POLICIES = [
  'linux-4.20', 'linux-5.7', 'linux-5.9', 'linux-5.19', 'linux-6.12', 'block-truncate', 'lease-break-dummy', 'layout-lease', 'revoke', 'iommu-backstop',
] as const;

/** Every built-in device model name, built or not. */
export const CONTRACT_MODELS = ['gup-nic', 'odp-nic', 'gpu-hmm'] as const;

/** Every invariant kind, checked yet or not. */
export const INVARIANT_KINDS = [
  'dma-use-after-free', 'dma-into-reused-page', 'lost-write', 'stale-read', 'incoherent-mapping',
  'notifier-teardown-incomplete', 'install-during-invalidation', 'notifier-unpaired', 'notifier-failed-blockable',
  'nonblock-slept', 'access-after-release', 'pinned-page-moved', 'dirty-page-without-buffers', 'dummy-page-dma',
  'hang', 'refcount-leak', 'kernel-bug', 'kernel-warn',
] as const;

/** The default policy: today's kernel. */
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

/** A device model's `ops` must name device ops of the op table. */
function checkModelOps(m: DeviceModel): void {
  for (const op of m.ops) {
    const d = opDescriptor(op);
    if (d?.runs !== 'device') {
      throw new Error(`device model "${m.name}" lists "${op}" in its ops, which is ${d ? 'not a device op' : 'no op'} (device ops: ${OP_TABLE.filter((x) => x.runs === 'device').map((x) => x.name).join(', ')})`);
    }
  }
}

/**
 * createRegistry() - build a registry from plugin tables. Throws on a duplicate name, and on a device
 * model whose `ops` name anything but device ops.
 */
export function createRegistry(p: { devices: readonly DeviceModel[]; policies: readonly KernelPolicy[]; invariants: readonly Checker[] }): Registry {
  p.devices.forEach(checkModelOps);
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

/** The policy names a build knows: those it can run, and every name input may mention. */
export interface PolicyNames {
  readonly built: readonly string[];
  /** built ones and the named policies not built yet (expectByPolicy keys may name any) */
  readonly known: readonly string[];
}

/** policyNames() - the policy names of @registry. */
export function policyNames(registry: Registry): PolicyNames {
  const built = [...registry.policies.keys()];
  return { built, known: [...new Set([...CONTRACT_POLICIES, ...built])] };
}

/**
 * isPolicyName() - may input name policy @name (an expectByPolicy key): a known name, built or not,
 * or any `linux-X.Y` of the era timeline.
 */
export function isPolicyName(names: PolicyNames, name: string): boolean {
  return names.known.includes(name) || linux_era(name) !== null;
}

/**
 * policyIssue() - why policy @name cannot be run, or null: a registered policy and any `linux-X.Y`
 * of the era timeline run; `not-implemented` for a named policy not built yet, else `unknown-policy`
 * with the closest name. @more: also offer `all` (the CLI's --policy).
 */
export function policyIssue(name: string, names: PolicyNames, path: string, more: { all?: boolean } = {}): Issue | null {
  if (names.built.includes(name) || linux_era(name)) return null;
  const expected = `one of ${names.built.join(', ')}${more.all ? ', a comma list of them, or all' : ''}, or linux-X.Y (from ${formatVersion(EARLIEST_ERA)})`;
  if (names.known.includes(name)) return { code: 'not-implemented', path, message: `policy "${name}" is part of the contract but not built yet`, expected };
  const issue: Issue = { code: 'unknown-policy', path, message: `unknown policy "${name}"`, expected };
  const guess = closest(name, [...names.built, ...names.known, ...(more.all ? ['all'] : [])]);
  if (guess !== undefined) issue.didYouMean = guess;
  return issue;
}

/** A policy ready to run: its hooks and its era's features. */
export interface ResolvedPolicy {
  readonly policy: KernelPolicy;
  readonly features: KernelFeatures;
}

/** policyFeatures() - the kernel features of @policy's era (its version). */
export function policyFeatures(policy: KernelPolicy): KernelFeatures {
  return kernelFeatures(policy.version[0], policy.version[1]);
}

/** resolvePolicy() - policy @name of @registry with its features. Throws ScenarioError when it cannot run. */
export function resolvePolicy(name: string, registry: Registry, path = 'policy'): ResolvedPolicy {
  const policy = lookupPolicy(registry, name);
  if (!policy) throw new ScenarioError([policyIssue(name, policyNames(registry), path) ?? { code: 'unknown-policy', path, message: `unknown policy "${name}"` }]);
  return { policy, features: policyFeatures(policy) };
}
