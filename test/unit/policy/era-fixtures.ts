/**
 * What the era tests (linux-4.20, linux-5.7, linux-5.9, linux-5.19, linux-6.12, and the eras between
 * them) share: a runner for one era, and the scenarios each era is asked about, so that the files
 * differ only in what they expect.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { MmEventOf, MmTraceEvent } from '../../../src/mm/trace_events.js';
import type { RunResult } from '../../../src/scenario/run/result.js';
import { runScenario } from '../../../src/scenario/run/run.js';

export const example = (name: string) => JSON.parse(readFileSync(new URL(`../../../examples/${name}.json`, import.meta.url), 'utf8'));

/** A runner that runs a scenario under @era and keeps its trace. */
export function eraRunner(era: string): (s: unknown) => { r: RunResult; evs: MmTraceEvent[] } {
  return (s) => {
    const evs: MmTraceEvent[] = [];
    const r = runScenario(s, { policy: era, trace: (e) => evs.push(e) });
    return { r, evs };
  };
}
export const kinds = (r: RunResult) => [...new Set(r.violations.map((v) => v.kind))].sort();
export const of = <T extends MmTraceEvent['type']>(evs: MmTraceEvent[], type: T) => evs.filter((e): e is MmEventOf<T> => e.type === type);

/** One private anonymous page, written, then referenced by @pin (a gup op or a gup-nic MR). */
export function anonPin(pin: Record<string, unknown>) {
  return {
    name: 'era-anon-pin', kernel: { memory: '64M' }, devices: { nic0: { model: 'gup-nic' } },
    actors: {
      app: [
        { op: 'mmap', length: '4K', prot: 'rw', flags: ['private'], as: 'mem' },
        { op: 'store', addr: 'mem', length: '4K', as: 's0' },
        { ...pin, addr: 'mem', length: '4K', as: 'ref' },
      ],
    },
  };
}
/** A long-term pin (gup op or MR) of a shared mapping of a @fs file. */
export function filePin(fs: string, pin: Record<string, unknown>, dax = false) {
  return {
    name: 'era-file-pin', kernel: { memory: '64M' }, files: { f: { fs, size: '16K', ...(dax ? { dax: true } : {}) } },
    devices: { nic0: { model: 'gup-nic' } },
    actors: { app: [{ op: 'mmap', file: 'f', length: '16K', prot: 'rw', flags: ['shared'], as: 'buf' }, { ...pin, addr: 'buf', length: '16K', as: 'ref' }] },
  };
}
/**
 * kernel-semantics §2 S1–S7 with a short-term writable pin (allowed in every era): writeback cleans
 * the pinned ext4 page, reclaim strips its buffers, the pin is released with dirty, writeback again.
 */
export const BUFFERLESS = {
  name: 'era-dirty-without-buffers', kernel: { memory: '64M' }, files: { f: { fs: 'ext4', size: '16K' } },
  actors: {
    app: [
      { op: 'mmap', file: 'f', length: '16K', prot: 'rw', flags: ['shared'], as: 'buf' },
      { op: 'gup', addr: 'buf', length: '4K', flags: ['pin', 'write'], as: 'dio' },
      { op: 'writeback_now', file: 'f', as: 'wb1' },
      { op: 'reclaim', target: 'buffers', as: 'strip' },
      { op: 'unpin', pins: 'dio', dirty: true, as: 'put' },
      { op: 'writeback_now', file: 'f', as: 'wb2' },
    ],
  },
};

// ---------------------------------------------------------------------------------------------
// Anonymous COW and GUP, asked of every era (docs/cow-gup-eras.md)

const anonPage = [
  { op: 'mmap', length: '4K', prot: 'rw', flags: ['private'], as: 'mem' },
  { op: 'store', addr: 'mem', length: '4K', as: 'old' },
];

/**
 * cow.c COW-03: the child takes a FOLL_GET reference (vmsplice) on the page fork shares, unmaps it,
 * the parent writes, the child reads its pipe: `piperead` is `new` where the parent's write reused
 * the page the pipe holds (CVE-2020-29374), `old` where it copied.
 */
export const VMSPLICE_CHILD = {
  name: 'era-vmsplice-child', kernel: { memory: '64M' },
  actors: {
    app: [...anonPage, { op: 'fork', as: 'child' }, { op: 'store', addr: 'mem', length: '4K', at: '20us', as: 'new' }],
    kid: { process: 'child', ops: [
      { op: 'gup', addr: 'mem', length: '4K', flags: ['get'], as: 'pipe' },
      { op: 'munmap', addr: 'mem', length: '4K' },
      { op: 'pin_read', pins: 'pipe', length: '4K', at: '40us', as: 'piperead' },
    ] },
  },
};

/** cow.c COW-09: fork (the child stays), a R/O long-term pin in the parent, the parent writes, the pin is read. */
export const RO_PIN_AFTER_FORK = {
  name: 'era-ro-pin-after-fork', kernel: { memory: '64M' },
  actors: {
    app: [...anonPage, { op: 'fork', as: 'child' },
      { op: 'gup', addr: 'mem', length: '4K', flags: ['pin', 'longterm'], as: 'pin' },
      { op: 'store', addr: 'mem', length: '4K', as: 'new' },
      { op: 'pin_read', pins: 'pin', length: '4K', as: 'pinread' },
      { op: 'unpin', pins: 'pin' }],
    kid: { process: 'child', ops: [{ op: 'load', addr: 'mem', length: '4K', at: '50us', as: 'childsaw' }] },
  },
};

/** cow.c COW-11: as COW-09, but the child has exited before the pin: the page is mapped once, R/O. */
export const RO_PIN_PREVIOUSLY_SHARED = {
  name: 'era-ro-pin-previously-shared', kernel: { memory: '64M' },
  actors: {
    app: [...anonPage, { op: 'fork', as: 'child' },
      { op: 'gup', addr: 'mem', length: '4K', flags: ['pin', 'longterm'], at: '50us', as: 'pin' },
      { op: 'store', addr: 'mem', length: '4K', as: 'new' },
      { op: 'pin_read', pins: 'pin', length: '4K', as: 'pinread' }],
    kid: { process: 'child', ops: [{ op: 'exit' }] },
  },
};

/** cow.c COW-07 with a gup pin: R/W pinned while exclusive, write-protected by mprotect, written, read through the pin. */
export const PINNED_WRITE_PROTECTED = {
  name: 'era-pinned-write-protected', kernel: { memory: '64M' },
  actors: {
    app: [...anonPage,
      { op: 'gup', addr: 'mem', length: '4K', flags: ['pin', 'longterm', 'write'], as: 'pin' },
      { op: 'mprotect', addr: 'mem', length: '4K', prot: 'r' },
      { op: 'mprotect', addr: 'mem', length: '4K', prot: 'rw' },
      { op: 'store', addr: 'mem', length: '4K', as: 'new' },
      { op: 'pin_read', pins: 'pin', length: '4K', as: 'pinread' }],
  },
};

/** cow.c COW-20: a R/O long-term pin of a page-cache page a private mapping maps read-only, then a write through it. */
export function privateFileRoPin(fs: 'tmpfs' | 'ext4') {
  return {
    name: 'era-private-file-ro-pin', kernel: { memory: '64M' }, files: { f: { fs, size: '4K' } },
    actors: {
      app: [
        { op: 'mmap', file: 'f', length: '4K', prot: 'rw', flags: ['private'], as: 'mem' },
        { op: 'load', addr: 'mem', length: '4K', as: 'mem0' },
        { op: 'gup', addr: 'mem', length: '4K', flags: ['pin', 'longterm'], as: 'pin' },
        { op: 'store', addr: 'mem', length: '4K', as: 'ff' },
        { op: 'pin_read', pins: 'pin', length: '4K', as: 'pinread' },
      ],
    },
  };
}

/**
 * The forced R/O MR: a read-only VMA shared by fork, a gup-nic MR with access r (before
 * 6.2 ib_umem_get asks FOLL_WRITE|FOLL_FORCE), then the parent makes it writable and writes.
 */
export const FORCED_RO_MR_AFTER_FORK = {
  name: 'era-forced-ro-mr-after-fork', kernel: { memory: '64M' }, devices: { nic0: { model: 'gup-nic' } },
  actors: {
    app: [...anonPage,
      { op: 'mprotect', addr: 'mem', length: '4K', prot: 'r' },
      { op: 'fork', as: 'child' },
      { op: 'reg_mr', device: 'nic0', addr: 'mem', length: '4K', access: 'r', as: 'mr' },
      { op: 'mprotect', addr: 'mem', length: '4K', prot: 'rw' },
      { op: 'store', addr: 'mem', length: '4K', as: 'new' },
      { op: 'dma_read', mr: 'mr', offset: 0, length: '4K', as: 'nicsaw' }],
    kid: { process: 'child', ops: [{ op: 'load', addr: 'mem', length: '4K', at: '50us', as: 'childsaw' }] },
  },
};

/** A FOLL_FORCE|FOLL_WRITE gup (ptrace's access_process_vm) of an untouched page of a read-only private VMA. */
export const FORCE_WRITE_RO_VMA = {
  name: 'era-force-write-ro-vma', kernel: { memory: '64M' },
  actors: {
    app: [
      { op: 'mmap', length: '4K', prot: 'r', flags: ['private'], as: 'mem' },
      { op: 'gup', addr: 'mem', length: '4K', flags: ['get', 'write', 'force'], as: 'ref' },
    ],
  },
};

/**
 * What linux-4.20 and linux-5.7 both answer (anonymous COW by mapcount, FOLL_FORCE through
 * faultin_page and FOLL_COW): the same questions, asked of @era through @run.
 */
export function mapcountCowEra(era: string, run: ReturnType<typeof eraRunner>): void {
  describe(`${era}: anonymous COW by mapcount (reuse_swap_page), before 5.8`, () => {
    it('the parent\'s write reuses the page the child\'s vmsplice holds once the child unmapped it: the pipe sees the new data (CVE-2020-29374)', () => {
      const { r, evs } = run(VMSPLICE_CHILD);
      expect(r.observed['piperead']).toBe('new');
      expect(of(evs, 'cow_copy')).toEqual([]);
    });

    it('a R/O GUP reference takes the page fork shared as it is, and the parent\'s write COWs away from it', () => {
      const { r, evs } = run(RO_PIN_AFTER_FORK);
      expect(of(evs, 'gup_cow')).toEqual([]);
      expect(r.observed['pinread']).toBe('old');
      expect(kinds(r)).toEqual(['incoherent-mapping']);
    });

    it('a page pinned R/W and write-protected by mprotect is mapped once, so the write reuses it: coherent', () => {
      expect(run(PINNED_WRITE_PROTECTED).r.observed['pinread']).toBe('new');
    });

    it('a R/O long-term pin of a private file page stays on the page-cache page while the write COWs', () => {
      expect(run(privateFileRoPin('ext4')).r.observed['pinread']).toBe('zero');
    });
  });

  describe(`${era}: FOLL_FORCE|FOLL_WRITE through faultin_page and FOLL_COW`, () => {
    it('a forced R/O MR on a R/O VMA after fork breaks COW first (the NIC gets a private copy), then the parent\'s write reuses that copy', () => {
      const { r, evs } = run(FORCED_RO_MR_AFTER_FORK);
      const shared = of(evs, 'pte_set').find((e) => e.mm === 'child')!.pfn;
      expect(of(evs, 'dma_ref_get')[0]!.pfn).not.toBe(shared);
      expect(r.observed).toMatchObject({ nicsaw: 'new', childsaw: 'old' });
      expect(kinds(r)).toEqual([]);
    });

    it('an untouched page of a R/O VMA takes two write faults: do_anonymous_page leaves the PTE clean, do_wp_page dirties it and sets FOLL_COW', () => {
      const { r, evs } = run(FORCE_WRITE_RO_VMA);
      expect(r.results['ref']).toBe('ok');
      expect(of(evs, 'fault').map((e) => e.write)).toEqual([true, true]);
    });
  });
}
