/**
 * Eras that are not presets, resolved from the era timeline: each COW/GUP boundary seen from both
 * sides — 5.8 (GUP breaks COW for any FOLL_GET/FOLL_PIN of a COW mapping), 6.0 (FOLL_COW removed),
 * 6.2 (R/O long-term pins of page-cache and zero pages unshare) — plus the lookup of an arbitrary
 * linux-X.Y by runScenario.
 */
import { describe, expect, it } from 'vitest';
import { runScenario } from '../../../src/scenario/run/run.js';
import {
  eraRunner, kinds, of, FORCE_WRITE_RO_VMA, privateFileRoPin, RO_PIN_AFTER_FORK, RO_PIN_PREVIOUSLY_SHARED, VMSPLICE_CHILD,
} from './era-fixtures.js';

const zeroPagePin = {
  name: 'era-zero-page-ro-pin', kernel: { memory: '64M' },
  actors: {
    app: [
      { op: 'mmap', length: '4K', prot: 'rw', flags: ['private'], as: 'mem' },
      { op: 'load', addr: 'mem', length: '4K', as: 'mem0' },
      { op: 'gup', addr: 'mem', length: '4K', flags: ['pin', 'longterm'], as: 'pin' },
      { op: 'store', addr: 'mem', length: '4K', as: 'ff' },
      { op: 'pin_read', pins: 'pin', length: '4K', as: 'pinread' },
    ],
  },
};

describe('linux-5.8: "gup: document and work around COW can break either way issue"', () => {
  const run = eraRunner('linux-5.8');

  it('a R/O GUP of a page fork shared breaks COW first: the pin gets the parent\'s own copy, which the write then reuses', () => {
    const { r, evs } = run(RO_PIN_AFTER_FORK);
    expect(of(evs, 'gup_cow').map((e) => e.reason)).toEqual(['force_cow_break']);
    expect(r.observed).toMatchObject({ pinread: 'new', childsaw: 'old' });
    expect(kinds(r)).toEqual([]);
  });

  it('the child\'s vmsplice breaks COW in the child, so the parent\'s write reuses a page the pipe does not hold', () => {
    expect(run(VMSPLICE_CHILD).r.observed['piperead']).toBe('old');
  });

  it('a R/O GUP of a private file mapping gets an anonymous copy; of untouched anonymous memory, a real page, not the zero page', () => {
    expect(run(privateFileRoPin('tmpfs')).r.observed['pinread']).toBe('ff');
    const { r, evs } = run(zeroPagePin);
    expect(of(evs, 'dma_ref_get')[0]!.pfn).not.toBe(0);
    expect(r.observed['pinread']).toBe('ff');
  });

  it('5.7 and 5.9 on either side do not break COW for a R/O GUP', () => {
    for (const era of ['linux-5.7', 'linux-5.9']) expect(of(eraRunner(era)(RO_PIN_AFTER_FORK).evs, 'gup_cow'), era).toEqual([]);
  });
});

describe('linux-6.0: FOLL_COW removed ("mm/gup: fix FOLL_FORCE COW security issue and remove FOLL_COW")', () => {
  it('5.19 needs two faults for a FOLL_FORCE write of an untouched R/O private page, 6.0 one', () => {
    expect(of(eraRunner('linux-5.19')(FORCE_WRITE_RO_VMA).evs, 'fault')).toHaveLength(2);
    expect(of(eraRunner('linux-6.0')(FORCE_WRITE_RO_VMA).evs, 'fault')).toHaveLength(1);
  });
});

describe('linux-6.2: "mm/gup: reliable R/O long-term pinning in COW mappings"', () => {
  it('6.1 pins the page-cache page (stale after the write), 6.2 unshares it into an anonymous copy first', () => {
    expect(eraRunner('linux-6.1')(privateFileRoPin('ext4')).r.observed['pinread']).toBe('zero');
    expect(eraRunner('linux-6.2')(privateFileRoPin('ext4')).r.observed['pinread']).toBe('ff');
  });

  it('the shared zero page of a private anonymous mapping: pinned as it is in 6.1, unshared in 6.2', () => {
    const old = eraRunner('linux-6.1')(zeroPagePin);
    expect(of(old.evs, 'dma_ref_get')[0]!.pfn).toBe(0);
    expect(kinds(old.r)).toEqual(['incoherent-mapping']);
    const now = eraRunner('linux-6.2')(zeroPagePin);
    expect(of(now.evs, 'gup_cow').map((e) => e.reason)).toEqual(['unshare_longterm_cow']);
    expect(now.r.observed['pinread']).toBe('ff');
    expect(kinds(now.r)).toEqual([]);
  });

  it('a short-term R/O pin is not unshared for a page-cache page, even in 6.12', () => {
    const s = privateFileRoPin('tmpfs');
    const gup = s.actors.app.find((o) => o.op === 'gup') as { flags: string[] };
    gup.flags = ['pin'];
    const { evs } = eraRunner('linux-6.12')(s);
    expect(of(evs, 'gup_cow')).toEqual([]);
  });
});

describe('runScenario under any linux-X.Y', () => {
  it('reports the era it ran, and the boundaries it has (linux-5.15: refcount reuse, no unshare)', () => {
    const r = runScenario(RO_PIN_PREVIOUSLY_SHARED, { policy: 'linux-5.15' });
    expect(r.policy).toBe('linux-5.15');
    expect(r.observed['pinread']).toBe('old');
  });
});
