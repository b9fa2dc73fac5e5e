/**
 * examples/custom-device/: a user-written device model (dma-engine, pinning per transfer) and a
 * user-written policy (no-shared-file-longterm), registered beside the built-in plugins, run their
 * scenarios and meet their expectations in every era; the registry refuses a second plugin with a
 * name already taken, and a scenario naming the user's model without the user's registry is refused
 * as bad input. Everything goes through the package entries (`pinsim`, `pinsim/vitest`, i.e. dist/),
 * as a user's test would: run `npm run build` first.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BUILTIN, createRegistry, get_user_pages_locked, get_user_pages_unlocked, runScenario, ScenarioError } from 'pinsim';
import 'pinsim/vitest';
import { dma_engine } from '../../examples/custom-device/dma-engine.mjs';
import { no_shared_file_longterm } from '../../examples/custom-device/no-shared-file-longterm.mjs';
import { dmaEngineTruncate, gupNicTruncate, shadowMmuOomKill } from '../../examples/custom-device/scenarios.mjs';
import { shadow_mmu } from '../../examples/custom-device/shadow-mmu.mjs';

const ROOT = join(import.meta.dirname, '..', '..');
const ERAS = ['linux-4.20', 'linux-5.7', 'linux-6.12'];

const registry = createRegistry({
  devices: [...BUILTIN.devices, dma_engine, shadow_mmu],
  policies: [...BUILTIN.policies, no_shared_file_longterm],
  invariants: BUILTIN.invariants,
});

describe('the dma-engine device model (pins per transfer)', () => {
  it('is a const ops table with params, ops and create', () => {
    expect(dma_engine.name).toBe('dma-engine');
    expect(dma_engine.ops).toEqual(['reg_mr', 'dereg_mr', 'dma_read', 'dma_write']);
    expect(Object.keys(dma_engine.params)).toEqual(expect.arrayContaining(['dmaLatency', 'iommu', 'pcieErrorHandling']));
    expect(registry.devices.get('dma-engine')).toBe(dma_engine);
  });

  it.each(ERAS)('under %s: the transfer before truncate lands in the page cache, the one after fails, nothing is lost', (policy) => {
    const r = runScenario(dmaEngineTruncate, { policy, registry });
    expect(r).toMeetExpectations();
    expect(r).toHaveNoViolations();
    expect(r.observed['seen']).toBe('w1');
    expect(r.results['w2']).toBe('remote-access-error');
    // Each transfer took its references and gave them back (no refcount-leak at the end of the run).
    expect(r.stats.pins).toBeGreaterThan(0);
  });

  it('pins late and briefly, so a classic MR\'s lost write does not happen to it (linux-4.20)', () => {
    const gup = runScenario(gupNicTruncate, { policy: 'linux-4.20', registry });
    expect(gup).toHaveViolation('lost-write', { actor: 'nic0' });
    expect(runScenario(dmaEngineTruncate, { policy: 'linux-4.20', registry })).not.toHaveViolation('lost-write');
  });

  it('takes its parameters from the scenario: dmaLatency stretches every transfer, iommu maps through a domain', () => {
    const slow = { ...dmaEngineTruncate, devices: { dma0: { model: 'dma-engine', dmaLatency: '5us', iommu: true } } };
    const r = runScenario(slow, { policy: 'linux-6.12', registry });
    expect(r).toMeetExpectations();
    const w1 = r.ops['w1']!;
    expect(w1.end - w1.start).toBeGreaterThanOrEqual(5000);
  });

  it('is refused as bad input by a registry that does not have it, with the JSON path', () => {
    let err: unknown;
    try {
      runScenario(dmaEngineTruncate, { policy: 'linux-6.12' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ScenarioError);
    expect((err as ScenarioError).issues.map((i) => i.path)).toContain('devices.dma0.model');
  });
});

describe('the no-shared-file-longterm policy', () => {
  it('is a const ops table built on linux-4.20 with one hook', () => {
    expect(no_shared_file_longterm.version).toEqual([4, 20]);
    expect(Object.keys(no_shared_file_longterm.ops)).toEqual(['longterm_pin_admit']);
  });

  it('refuses the classic MR on a shared ext4 mapping (EOPNOTSUPP), so the truncate loses nothing', () => {
    const r = runScenario(gupNicTruncate, { registry }); // the scenario names the policy
    expect(r.policy).toBe('no-shared-file-longterm');
    expect(r).toMeetExpectations();
    expect(r).toHaveNoViolations();
    expect(r.results['mr']).toBe('EOPNOTSUPP');
  });

  it('leaves the per-transfer engine alone (its pins are not long-term)', () => {
    const r = runScenario(dmaEngineTruncate, { policy: 'no-shared-file-longterm', registry });
    expect(r).toMeetExpectations();
  });

  it('leaves linux-4.20 itself as it was: the same scenario is a lost write there', () => {
    expect(runScenario(gupNicTruncate, { policy: 'linux-4.20', registry })).toMeetExpectations();
  });
});

describe('the shadow-mmu device model (a classic mmu_notifier) and the OOM reaper', () => {
  it.each(['linux-4.20', 'linux-5.12'])('under %s the subscriber whose start succeeded never gets its _end after another refused: notifier-unpaired', (policy) => {
    const r = runScenario(shadowMmuOomKill(false), { policy, registry });
    expect(r.violations.map((v) => v.kind)).toEqual(['notifier-unpaired']);
    expect(r.violations[0]!.message).toMatch(/kvm0's invalidate_range_start .* never got its _end/);
  });

  it.each(['linux-5.13', 'linux-6.12'])('under %s every subscriber\'s _end is called after the refusal: paired, nothing fires', (policy) => {
    expect(runScenario(shadowMmuOomKill(false), { policy, registry }).violations).toEqual([]);
  });

  it('under linux-6.12 a refusing subscriber with an _end gets it after its own failed start: notifier-unpaired and the kernel\'s WARN', () => {
    const r = runScenario(shadowMmuOomKill(true), { policy: 'linux-6.12', registry });
    expect(r.violations.map((v) => v.kind).sort()).toEqual(['kernel-warn', 'notifier-unpaired']);
    expect(r.violations.find((v) => v.kind === 'notifier-unpaired')!.message).toMatch(/drv0's invalidate_range_end .* after its own non-blockable start failed/);
  });
});

describe('the registry', () => {
  it('rejects a second device model with a name already taken', () => {
    expect(() => createRegistry({ ...BUILTIN, devices: [...BUILTIN.devices, dma_engine, dma_engine] })).toThrow(/duplicate device model "dma-engine"/);
    expect(() => createRegistry({ ...BUILTIN, devices: [...BUILTIN.devices, { ...dma_engine, name: 'gup-nic' }] })).toThrow(/duplicate device model "gup-nic"/);
  });

  it('rejects a second policy with a name already taken', () => {
    expect(() => createRegistry({ ...BUILTIN, policies: [...BUILTIN.policies, { ...no_shared_file_longterm, name: 'linux-6.12' }] })).toThrow(/duplicate policy "linux-6.12"/);
  });
});

describe('the plugin API kept stable', () => {
  it('get_user_pages_locked, the 0.1.0 name of get_user_pages_unlocked, is still exported as the same function', () => {
    expect(typeof get_user_pages_unlocked).toBe('function');
    expect(get_user_pages_locked).toBe(get_user_pages_unlocked);
  });
});

describe('examples/custom-device/run.mjs', () => {
  it('runs its scenarios with its registry and exits 0', () => {
    const p = spawnSync(process.execPath, [join(ROOT, 'examples', 'custom-device', 'run.mjs')], { encoding: 'utf8' });
    expect(p.stderr).toBe('');
    expect(p.status).toBe(0);
    expect(p.stdout).toMatch(/^ok {3}dma-engine-truncate \[linux-4\.20\]: violations none;/m);
    expect(p.stdout).toMatch(/^ok {3}gup-nic-truncate-no-shared-file-longterm \[linux-4\.20\]: violations lost-write;/m);
    expect(p.stdout).toMatch(/^ok {3}shadow-mmu-oom-kill \[linux-4\.20\]: violations notifier-unpaired;/m);
    expect(p.stdout).not.toMatch(/FAIL/);
  });
});
