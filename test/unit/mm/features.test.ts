/**
 * The era timeline (mm/features.ts) and linux-X.Y resolution (policy/linux-era.ts): every boundary
 * folds in at its version, the presets are exactly their versions, the three older presets keep
 * the features they had before the timeline existed, and names outside mainline are refused.
 */
import { describe, expect, it } from 'vitest';
import { compareVersions, EARLIEST_ERA, ERA_TIMELINE, kernelFeatures, parseEraName, type KernelFeatures } from '../../../src/mm/features.js';
import { linux_era } from '../../../src/policy/linux-era.js';
import { lookupPolicy, defaultRegistry } from '../../../src/scenario/registry.js';

const pick = (f: KernelFeatures, keys: readonly (keyof KernelFeatures)[]) => Object.fromEntries(keys.map((k) => [k, f[k]]));
const COW = ['wp_reuse', 'gup_forces_cow_break', 'foll_cow', 'anon_exclusive', 'gup_unshare_anon', 'gup_unshare_longterm_cow', 'umem_force_write', 'fork_copies_pinned'] as const;

describe('the era timeline', () => {
  it('is ordered oldest first, and every boundary names its commit subject and where it is', () => {
    for (let i = 1; i < ERA_TIMELINE.length; i++) expect(compareVersions(ERA_TIMELINE[i - 1]!.version, ERA_TIMELINE[i]!.version)).toBeLessThanOrEqual(0);
    for (const b of ERA_TIMELINE) {
      expect(b.subject.length).toBeGreaterThan(10);
      expect(b.where).toMatch(/\.[ch]\b/);
      expect(b.commit).toMatch(/^([0-9a-f]{12})?$/);
      expect(Object.keys(b.set).length).toBeGreaterThan(0);
    }
  });

  it('anonymous COW and GUP change at 5.8, 5.9, 5.19, 6.0 and 6.2, as the kernel did', () => {
    expect(pick(kernelFeatures(5, 7), COW)).toEqual({
      wp_reuse: 'mapcount', gup_forces_cow_break: false, foll_cow: true, anon_exclusive: false, gup_unshare_anon: false,
      gup_unshare_longterm_cow: false, umem_force_write: true, fork_copies_pinned: false,
    });
    expect(pick(kernelFeatures(5, 8), COW)).toMatchObject({ wp_reuse: 'mapcount', gup_forces_cow_break: true, foll_cow: true });
    expect(pick(kernelFeatures(5, 9), COW)).toMatchObject({ wp_reuse: 'refcount', gup_forces_cow_break: false, fork_copies_pinned: true });
    expect(pick(kernelFeatures(5, 18), COW)).toMatchObject({ wp_reuse: 'refcount', anon_exclusive: false, gup_unshare_anon: false });
    expect(pick(kernelFeatures(5, 19), COW)).toMatchObject({ wp_reuse: 'anon_exclusive', anon_exclusive: true, gup_unshare_anon: true, foll_cow: true, gup_unshare_longterm_cow: false });
    expect(pick(kernelFeatures(6, 0), COW)).toMatchObject({ foll_cow: false, umem_force_write: true, gup_unshare_longterm_cow: false });
    expect(pick(kernelFeatures(6, 1), COW)).toMatchObject({ umem_force_write: true, gup_unshare_longterm_cow: false });
    expect(pick(kernelFeatures(6, 2), COW)).toMatchObject({ umem_force_write: false, gup_unshare_longterm_cow: true });
  });

  it('keeps the features linux-4.20, linux-5.7 and linux-6.12 had before the timeline', () => {
    const OLD = ['foll_pin', 'gup_get_pin_exclusive', 'gup_longterm_needs_pin', 'longterm_file_write_refused', 'umem_force_write', 'ext4_dirty_nobuffers_warn',
      'ext4_writepages_bug', 'fork_copies_pinned', 'anon_exclusive', 'longterm_migrates_movable', 'mlx5_umr_recovery', 'mremap_vma_lookup_first'] as const;
    const row = (...v: boolean[]) => Object.fromEntries(OLD.map((k, i) => [k, v[i]]));
    expect(pick(kernelFeatures(4, 20), OLD)).toEqual(row(false, false, false, false, true, true, true, false, false, false, false, false));
    expect(pick(kernelFeatures(5, 7), OLD)).toEqual(row(true, true, false, false, true, true, true, false, false, false, false, false));
    expect(pick(kernelFeatures(6, 12), OLD)).toEqual(row(true, true, true, true, false, true, false, true, true, true, true, true));
  });

  it('ext4 stops BUGging on a dirty page without buffers in 5.18 (cc5095747edf), not before and not later', () => {
    expect(kernelFeatures(5, 17).ext4_writepages_bug).toBe(true);
    expect(kernelFeatures(5, 18).ext4_writepages_bug).toBe(false);
  });

  it('the presets linux-5.9 and linux-5.19 are those versions, registered beside the other eras', () => {
    const reg = defaultRegistry();
    expect([...reg.policies.keys()].filter((n) => n.startsWith('linux-'))).toEqual(['linux-4.20', 'linux-5.7', 'linux-5.9', 'linux-5.19', 'linux-6.12']);
    expect(reg.policies.get('linux-5.9')?.version).toEqual([5, 9]);
    expect(reg.policies.get('linux-5.19')?.version).toEqual([5, 19]);
  });
});

describe('linux-X.Y names', () => {
  it('resolve any mainline release from the earliest era on', () => {
    expect(EARLIEST_ERA).toEqual([4, 19]);
    expect(parseEraName('linux-4.19')).toEqual([4, 19]);
    expect(parseEraName('linux-5.15')).toEqual([5, 15]);
    expect(parseEraName('linux-6.0')).toEqual([6, 0]);
    expect(parseEraName('linux-7.1')).toEqual([7, 1]);
  });

  it('refuse what names no release pinsim runs: older than 4.19, past a series, or not canonical', () => {
    for (const n of ['linux-4.18', 'linux-3.19', 'linux-5.20', 'linux-6.20', 'linux-8.0', 'linux-05.15', 'linux-5.015', 'linux-5.15.3', 'linux-5', 'revoke']) {
      expect(parseEraName(n), n).toBeNull();
    }
  });

  it('become a policy with no hooks, described by the newest boundary it has; presets win the lookup', () => {
    const p = linux_era('linux-5.15')!;
    expect(p).toMatchObject({ name: 'linux-5.15', version: [5, 15], ops: {} });
    expect(p.description).toContain('5.13');
    expect(linux_era('block-truncate')).toBeNull();
    const reg = defaultRegistry();
    expect(lookupPolicy(reg, 'linux-6.12')).toBe(reg.policies.get('linux-6.12'));
    expect(lookupPolicy(reg, 'linux-6.1')?.version).toEqual([6, 1]);
    expect(lookupPolicy(reg, 'linux-4.9')).toBeUndefined();
  });
});
