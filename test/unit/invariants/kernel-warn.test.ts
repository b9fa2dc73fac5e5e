import { describe, expect, it } from 'vitest';
import { feed } from './fixtures.js';
import type { ViolationReport } from '../../../src/invariants/checker.js';
import { kernel_warn } from '../../../src/invariants/kernel-warn.js';
import type { MmEventOf, MmTraceEvent } from '../../../src/mm/trace_events.js';
import { runScenario } from '../../../src/scenario/run/run.js';

function check(evs: MmTraceEvent[]): ViolationReport[] {
  const out: ViolationReport[] = [];
  out.push(...feed(kernel_warn, evs, { policy: 'linux-6.12' }));
  return out;
}

const warn = (time: number, site: string, pfn = -1): MmEventOf<'kernel_warn'> =>
  ({ type: 'kernel_warn', time, actor: 'app', site, pfn, dump: 'gup_flags=FOLL_GET|FOLL_PIN' });

describe('kernel-warn (synthetic trace)', () => {
  it('fires on a modelled WARN_ON_ONCE with its site and dump', () => {
    const r = check([warn(700, 'mm/gup.c:is_valid_gup_args')]);
    expect(r).toHaveLength(1);
    expect(r[0]).toMatchObject({ kind: 'kernel-warn', time: 700, actor: 'app', pfn: -1 });
    expect(r[0]!.message).toBe('WARNING at mm/gup.c:is_valid_gup_args: gup_flags=FOLL_GET|FOLL_PIN');
    expect(r[0]!.chain.map((c) => c.event)).toEqual(['kernel_warn']);
  });

  it('reports every WARN event it sees (de-duplication per (kind, pfn, actor) is the runner\'s job)', () => {
    expect(check([warn(1, 'fs/ext4/inode.c:ext4_set_page_dirty', 12), warn(2, 'mm/gup.c:is_valid_gup_args')]).map((v) => v.pfn)).toEqual([12, -1]);
  });

  it('does not fire on a BUG or on ordinary events', () => {
    const bug: MmEventOf<'kernel_bug'> = { type: 'kernel_bug', time: 1, actor: 'app', site: 'x', pfn: 1, dump: '' };
    const fault: MmEventOf<'fault'> = { type: 'fault', time: 1, actor: 'app', mm: 'app', va: 0, write: true, result: 'SIGSEGV' };
    expect(check([bug, fault])).toEqual([]);
  });
});

/** An anonymous buffer and the GUP calls of an O_DIRECT-style kernel user, each with @flags. */
const gupScenario = (...calls: string[][]) => ({
  name: 'gup-flags',
  kernel: { memory: '64M' },
  actors: {
    app: [
      { op: 'mmap', length: '8K', prot: 'rw', flags: ['private'], as: 'buf' },
      ...calls.map((flags, i) => ({ op: 'gup', addr: 'buf', length: '8K', flags, as: `p${i}` })),
    ],
  },
});

function warnings(s: unknown, policy: string) {
  const sites: string[] = [];
  const r = runScenario(s, { policy, trace: (e) => { if (e.type === 'kernel_warn') sites.push(e.site); } });
  return { r, sites };
}

describe('kernel-warn (scenarios: is_valid_gup_args)', () => {
  it('under linux-6.12 a gup with both FOLL_GET and FOLL_PIN WARNs in is_valid_gup_args and fails with EINVAL', () => {
    const { r, sites } = warnings(gupScenario(['get', 'pin']), 'linux-6.12');
    expect(r.results['p0']).toBe('EINVAL');
    expect(sites).toEqual(['mm/gup.c:is_valid_gup_args:FOLL_GET|FOLL_PIN']);
    const w = r.violations.filter((v) => v.kind === 'kernel-warn');
    expect(w).toHaveLength(1);
    expect(w[0]).toMatchObject({ actor: 'app' });
    expect(w[0]!.message).toMatch(/is_valid_gup_args/);
    expect(r.stats.pins).toBe(0);
  });

  it('under linux-4.20 "get" and "pin" both mean FOLL_GET: the same gup takes references without a WARN', () => {
    const { r, sites } = warnings(gupScenario(['get', 'pin']), 'linux-4.20');
    expect(r.results['p0']).toBe('ok');
    expect(sites).toEqual([]);
    expect(r.violations.map((v) => v.kind)).not.toContain('kernel-warn');
    expect(r.stats.pins).toBeGreaterThan(0);
  });

  it('under linux-6.12 FOLL_LONGTERM without FOLL_PIN WARNs and fails with EINVAL; linux-4.20 calls it get_user_pages_longterm', () => {
    const six = warnings(gupScenario(['longterm']), 'linux-6.12');
    expect(six.r.results['p0']).toBe('EINVAL');
    expect(six.sites).toEqual(['mm/gup.c:is_valid_gup_args:FOLL_LONGTERM']);
    const four = warnings(gupScenario(['longterm']), 'linux-4.20');
    expect(four.r.results['p0']).toBe('ok');
    expect(four.r.violations.map((v) => v.kind)).not.toContain('kernel-warn');
  });

  it('a valid pin_user_pages under linux-6.12 does not WARN', () => {
    const { r, sites } = warnings(gupScenario(['pin', 'write']), 'linux-6.12');
    expect(r.results['p0']).toBe('ok');
    expect(sites).toEqual([]);
  });

  it('WARN_ON_ONCE: the same misuse twice in one run WARNs once, and both calls fail with EINVAL', () => {
    const { r, sites } = warnings(gupScenario(['get', 'pin'], ['get', 'pin']), 'linux-6.12');
    expect([r.results['p0'], r.results['p1']]).toEqual(['EINVAL', 'EINVAL']);
    expect(sites).toHaveLength(1);
  });

  // is_valid_gup_args() has two WARN_ON_ONCE sites in mm/gup.c (FOLL_GET|FOLL_PIN, and
  // FOLL_LONGTERM without FOLL_PIN), each with its own once-flag.
  it('the two is_valid_gup_args checks are distinct WARN_ON_ONCE sites: one of each misuse gives two WARNs', () => {
    const { r, sites } = warnings(gupScenario(['get', 'pin'], ['longterm']), 'linux-6.12');
    expect([r.results['p0'], r.results['p1']]).toEqual(['EINVAL', 'EINVAL']);
    expect(sites).toHaveLength(2);
  });
});
