/**
 * Any linux-X.Y: a kernel era that is not a named preset, resolved from the era timeline
 * (mm/features.ts) at version X.Y. Like the presets it is a version and no hooks; its description
 * names the preset it matches, or the newest timeline boundary at or before it.
 */
import { compareVersions, ERA_TIMELINE, formatVersion, parseEraName } from '../mm/features.js';
import type { KernelPolicy } from '../mm/policy_ops.js';

/**
 * linux_era() - the policy a name `linux-X.Y` stands for, or null when @name is not such a name
 * (or names a release before the earliest era pinsim runs).
 */
export function linux_era(name: string): KernelPolicy | null {
  const version = parseEraName(name);
  if (!version) return null;
  const last = [...ERA_TIMELINE].reverse().find((b) => compareVersions(b.version, version) <= 0);
  const since = last ? `; newest boundary at or before it: ${formatVersion(last.version)} (${last.subject})` : '';
  return { name, description: `linux-${formatVersion(version)} resolved from the era timeline${since}`, version, ops: {} };
}
