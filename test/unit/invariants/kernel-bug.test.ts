import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { feed, folioFreeOf } from './fixtures.js';
import type { ViolationReport } from '../../../src/invariants/checker.js';
import { kernel_bug } from '../../../src/invariants/kernel-bug.js';
import { BUG_ON } from '../../../src/mm/mmdebug.js';
import type { KernelPolicy } from '../../../src/mm/policy_ops.js';
import type { MmEventOf, MmTraceEvent } from '../../../src/mm/trace_events.js';
import { linux_4_20 } from '../../../src/policy/linux-4.20.js';
import { BUILTIN, createRegistry } from '../../../src/scenario/registry.js';
import { runScenario } from '../../../src/scenario/run/run.js';

function check(evs: MmTraceEvent[]): ViolationReport[] {
  const out: ViolationReport[] = [];
  out.push(...feed(kernel_bug, evs, { policy: 'linux-4.20' }));
  return out;
}

const bug = (time: number, pfn: number, site = 'include/linux/mm.h:folio_put_testzero'): MmEventOf<'kernel_bug'> =>
  ({ type: 'kernel_bug', time, actor: 'nic0', site, pfn, dump: `page:pfn=${pfn} refcount:-1 mapping:f index:0` });
const warn = (time: number): MmEventOf<'kernel_warn'> => ({ type: 'kernel_warn', time, actor: 'app', site: 'mm/gup.c:is_valid_gup_args', pfn: -1, dump: 'FOLL_GET and FOLL_PIN' });

describe('kernel-bug (synthetic trace)', () => {
  it('fires on a modelled VM_BUG_ON_FOLIO with the site and the dumped folio in its message', () => {
    const r = check([bug(42_000, 17)]);
    expect(r).toHaveLength(1);
    expect(r[0]).toMatchObject({ kind: 'kernel-bug', time: 42_000, actor: 'nic0', pfn: 17 });
    expect(r[0]!.message).toBe('kernel BUG at include/linux/mm.h:folio_put_testzero: page:pfn=17 refcount:-1 mapping:f index:0');
    expect(r[0]!.chain).toEqual([{ time: 42_000, actor: 'nic0', event: 'kernel_bug', pfn: 17, fields: expect.objectContaining({ site: 'include/linux/mm.h:folio_put_testzero' }) }]);
  });

  it('does not fire on a WARN, nor on ordinary mm events', () => {
    const free: MmEventOf<'folio_free'> = folioFreeOf(1, 'kernel', 17);
    expect(check([warn(1), free])).toEqual([]);
  });
});

describe('kernel-bug (scenarios)', () => {
  /** linux-4.20 plus a truncate hook whose BUG_ON fires: the real kernel would crash in truncate. */
  const buggy: KernelPolicy = {
    name: 'test-bug-in-truncate', description: 'BUG_ON in truncate (test only)', version: [4, 20],
    ops: {
      *truncate_pinned_range(k) {
        BUG_ON(k, true, 'mm/truncate.c:test_bug', 5, 'page:pfn=5 (test)');
        return 0;
      },
    },
  };
  const registry = createRegistry({ ...BUILTIN, policies: [...BUILTIN.policies, buggy] });
  const example = () => JSON.parse(readFileSync(new URL('../../../examples/gup-nic-truncate.json', import.meta.url), 'utf8'));

  it('a BUG in truncate ends the run: kernel-bug is reported, the truncate and the ops after it are crashed, end-of-run checks are skipped', () => {
    const types: string[] = [];
    const r = runScenario(example(), { policy: 'test-bug-in-truncate', registry, trace: (e) => types.push(e.type) });
    expect(r.violations.map((v) => [v.kind, v.actor, v.pfn])).toEqual([['kernel-bug', 'admin', 5]]);
    expect(r.results['admin.0']).toBe('crashed');
    expect(r.results['w2']).toBe('not-run');
    expect(types[types.length - 1]).toBe('kernel_bug');
    expect(types).not.toContain('frame_final');
    expect(types).not.toContain('run_end');
  });

  it.each(['linux-4.20', 'linux-6.12'])('the same scenario under %s crashes nothing', (policy) => {
    const r = runScenario(example(), { policy });
    expect(r.violations.map((v) => v.kind)).not.toContain('kernel-bug');
    expect(Object.values(r.results)).not.toContain('crashed');
  });

  it('the buggy policy is the only difference: linux-4.20 through the same registry does not crash', () => {
    const r = runScenario(example(), { policy: linux_4_20.name, registry });
    expect(r.results['admin.0']).toBe('ok');
    expect(r.violations.map((v) => v.kind)).not.toContain('kernel-bug');
  });
});
