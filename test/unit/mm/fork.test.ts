/**
 * fork(): dup_mmap() and copy_page_range() (kernel-semantics §4.1 fork row): COW sharing of
 * anonymous pages, the 5.9 copy of maybe-pinned pages for the child, MADV_DONTFORK, the
 * MMU_NOTIFY_PROTECTION_PAGE range on the parent, shared mappings left for the child to fault, and
 * the scenario rule that a forked process's actors start once the fork has happened.
 */
import { describe, expect, it } from 'vitest';
import { cpu_access } from '../../../src/mm/cpu.js';
import { IS_ERR } from '../../../src/mm/errno.js';
import { do_fork, folio_maybe_dma_pinned } from '../../../src/mm/fork.js';
import { get_user_pages_unlocked } from '../../../src/mm/gup.js';
import type { Process } from '../../../src/mm/kernel.js';
import { do_madvise } from '../../../src/mm/madvise.js';
import { vpn } from '../../../src/mm/memory.js';
import { find_vma, pte_pfn, pte_present, pte_write } from '../../../src/mm/mm_types.js';
import { do_mmap } from '../../../src/mm/mmap.js';
import { MMU_NOTIFY_PROTECTION_PAGE } from '../../../src/mm/mmu_notifier.js';
import type { DmaRef } from '../../../src/mm/pin_registry.js';
import type { MmEventOf, MmTraceEvent } from '../../../src/mm/trace_events.js';
import { FOLL_GET, FOLL_LONGTERM, FOLL_PIN, FOLL_WRITE } from '../../../src/mm/types.js';
import { linux_5_7 } from '../../../src/policy/linux-5.7.js';
import { runScenario } from '../../../src/scenario/run/run.js';
import { makeKernel, PAGE, type TestKernel } from '../../helpers/kernel.js';

interface World { t: TestKernel; p: Process; addr: number }

/** Process p with one mapping of @pages pages: private anonymous, or shared (shmem or an ext4 file). */
function world(era: Parameters<typeof makeKernel>[0], o: { shared?: 'anon' | 'file'; pages?: number } = {}): World {
  const t = makeKernel(era);
  const p = t.k.create_process('p');
  const file = o.shared === 'file' ? t.k.create_inode('f', 'ext4', false, 16 * PAGE) : null;
  const addr = t.run(do_mmap(t.k, p.mm, {
    addr: null, length: (o.pages ?? 1) * PAGE, prot: 'rw', shared: o.shared !== undefined, private: o.shared === undefined,
    fixed: false, populate: false, file, offset: 0,
  }, 'shm'));
  if (IS_ERR(addr)) throw new Error(addr);
  return { t, p, addr };
}
const store = (w: World, name: string, proc: Process = w.p) => w.t.run(cpu_access(w.t.k, proc.mm, w.addr, PAGE, w.t.k.new_content(name)));
const load = (w: World, proc: Process) => w.t.k.contents[w.t.run(cpu_access(w.t.k, proc.mm, w.addr, PAGE, -1)).tokens[0] as number];
const pte = (w: World, proc: Process) => proc.mm.pgtable.get(vpn(w.addr));
const fork = (w: World) => {
  const c = w.t.run(do_fork(w.t.k, w.p, 'c'));
  if (!c) throw new Error('fork failed');
  return c;
};
const pin = (w: World, flags: number) => {
  const ref = w.t.run(get_user_pages_unlocked(w.t.k, w.p.mm, w.addr, 1, flags, 'nic0'));
  if (IS_ERR(ref)) throw new Error(ref);
  return ref as DmaRef;
};
const forkNotifiers = (evs: MmTraceEvent[]) =>
  evs.filter((e): e is MmEventOf<'notifier_start'> => e.type === 'notifier_start' && e.event === MMU_NOTIFY_PROTECTION_PAGE);

describe('fork: copy-on-write sharing of anonymous pages', () => {
  it('a written private anonymous page is shared: both PTEs map the same pfn read-only, mapcount 2', () => {
    const w = world('6.12');
    store(w, 's0');
    const pfn = pte_pfn(pte(w, w.p));
    const c = fork(w);
    expect(pte_pfn(pte(w, c))).toBe(pfn);
    expect(pte_write(pte(w, w.p))).toBe(false);
    expect(pte_write(pte(w, c))).toBe(false);
    expect(w.t.k.mem._mapcount[pfn]).toBe(2);
    expect(w.t.k.mem._refcount[pfn]).toBe(2);
  });

  it('the parent\'s next store copies: the child keeps the old content and the old pfn', () => {
    const w = world('6.12');
    store(w, 's0');
    const pfn = pte_pfn(pte(w, w.p));
    const c = fork(w);
    store(w, 'parentwrote');
    expect(pte_pfn(pte(w, w.p))).not.toBe(pfn);
    expect(pte_pfn(pte(w, c))).toBe(pfn);
    expect(load(w, c)).toBe('s0');
    expect(load(w, w.p)).toBe('parentwrote');
  });
});

describe('fork: pages that may be DMA-pinned (copy_present_page, 5.9)', () => {
  it('under linux-6.12 a FOLL_PIN-pinned page is copied for the child; the parent keeps the pinned pfn mapped writable', () => {
    const w = world('6.12');
    store(w, 's0');
    const ref = pin(w, FOLL_PIN | FOLL_LONGTERM | FOLL_WRITE);
    const pinned = ref.pfns[0] as number;
    expect(folio_maybe_dma_pinned(w.t.k, pinned)).toBe(true);
    const c = fork(w);
    expect(pte_pfn(pte(w, w.p))).toBe(pinned);
    expect(pte_write(pte(w, w.p))).toBe(true);
    const copy = pte_pfn(pte(w, c));
    expect(copy).not.toBe(pinned);
    expect(w.t.k.mem.content[copy]).toBe(w.t.k.mem.content[pinned]);
    expect(w.t.k.mem._mapcount[pinned]).toBe(1);
    // The parent's store needs no fault and lands in the pinned page.
    store(w, 'parentwrote');
    expect(pte_pfn(pte(w, w.p))).toBe(pinned);
    expect(load(w, c)).toBe('s0');
  });

  it('under linux-5.7 the same page is maybe-pinned (refcount ≥ 1024) but fork still shares it COW', () => {
    const w = world(linux_5_7);
    store(w, 's0');
    const pinned = pin(w, FOLL_PIN | FOLL_LONGTERM | FOLL_WRITE).pfns[0] as number;
    expect(folio_maybe_dma_pinned(w.t.k, pinned)).toBe(true);
    const c = fork(w);
    expect(pte_pfn(pte(w, c))).toBe(pinned);
    expect(pte_write(pte(w, w.p))).toBe(false);
    store(w, 'parentwrote');
    expect(pte_pfn(pte(w, w.p))).not.toBe(pinned); // COWed away from the page the device holds
  });

  it('under linux-4.20 a FOLL_GET reference is invisible to fork: the page is shared', () => {
    const w = world('4.20');
    store(w, 's0');
    const held = pin(w, FOLL_GET | FOLL_LONGTERM | FOLL_WRITE).pfns[0] as number;
    expect(folio_maybe_dma_pinned(w.t.k, held)).toBe(false);
    const c = fork(w);
    expect(pte_pfn(pte(w, c))).toBe(held);
    expect(pte_write(pte(w, w.p))).toBe(false);
  });

  it('under linux-6.12 a FOLL_GET reference (not a pin) is not maybe-pinned either: the page is shared', () => {
    const w = world('6.12');
    store(w, 's0');
    const held = pin(w, FOLL_GET | FOLL_WRITE).pfns[0] as number;
    const c = fork(w);
    expect(pte_pfn(pte(w, c))).toBe(held);
    expect(w.t.k.mem._mapcount[held]).toBe(2);
  });
});

describe('fork: MADV_DONTFORK', () => {
  it('a VM_DONTCOPY mapping is left out of the child, and the parent\'s PTE stays writable with no notifier', () => {
    const w = world('4.20');
    store(w, 's0');
    expect(w.t.run(do_madvise(w.t.k, w.p.mm, w.addr, PAGE, 'dontfork'))).toBe(0);
    const n0 = w.t.events.length;
    const c = fork(w);
    expect(find_vma(c.mm, w.addr)).toBeNull();
    expect(c.mm.vmas).toHaveLength(0);
    expect(pte_present(pte(w, c))).toBe(false);
    expect(pte_write(pte(w, w.p))).toBe(true);
    expect(forkNotifiers(w.t.events.slice(n0))).toEqual([]);
    // The child touching it is a SIGSEGV.
    expect(w.t.run(cpu_access(w.t.k, c.mm, w.addr, PAGE, -1)).signal).toBe('SIGSEGV');
  });

  it('MADV_DOFORK clears it again: the next fork copies the VMA and shares the page', () => {
    const w = world('4.20');
    store(w, 's0');
    w.t.run(do_madvise(w.t.k, w.p.mm, w.addr, PAGE, 'dontfork'));
    w.t.run(do_madvise(w.t.k, w.p.mm, w.addr, PAGE, 'dofork'));
    const c = fork(w);
    expect(find_vma(c.mm, w.addr)).not.toBeNull();
    expect(pte_pfn(pte(w, c))).toBe(pte_pfn(pte(w, w.p)));
  });
});

describe('fork: the MMU_NOTIFY_PROTECTION_PAGE range', () => {
  it('fires on the parent, over the VMA, when a COW mapping has present PTEs', () => {
    const w = world('6.12', { pages: 4 });
    store(w, 's0');
    const n0 = w.t.events.length;
    fork(w);
    const ns = forkNotifiers(w.t.events.slice(n0));
    expect(ns).toHaveLength(1);
    expect(ns[0]).toMatchObject({ mm: 'p', start: w.addr, end: w.addr + 4 * PAGE, blockable: true });
    expect(w.t.events.slice(n0).some((e) => e.type === 'notifier_start' && e.mm === 'c')).toBe(false);
  });

  it('does not fire for a COW mapping with no present PTE', () => {
    const w = world('6.12');
    const n0 = w.t.events.length;
    fork(w);
    expect(forkNotifiers(w.t.events.slice(n0))).toEqual([]);
  });

  it('does not fire for a shared mapping, even with present PTEs', () => {
    for (const shared of ['anon', 'file'] as const) {
      const w = world('6.12', { shared });
      store(w, 's0');
      const n0 = w.t.events.length;
      fork(w);
      expect(w.t.events.slice(n0).filter((e) => e.type === 'notifier_start')).toEqual([]);
    }
  });
});

describe('fork: shared mappings', () => {
  it.each(['anon', 'file'] as const)('a shared %s mapping is not copied: the child has the VMA, no PTE, and faults the same page in', (shared) => {
    const w = world('6.12', { shared });
    store(w, 's0');
    const pfn = pte_pfn(pte(w, w.p));
    const c = fork(w);
    expect(find_vma(c.mm, w.addr)).not.toBeNull();
    expect(pte_present(pte(w, c))).toBe(false);
    expect(pte_write(pte(w, w.p))).toBe(true); // not write-protected
    expect(load(w, c)).toBe('s0');
    expect(pte_pfn(pte(w, c))).toBe(pfn);
    // A store by the child is seen by the parent: one page.
    store(w, 'childwrote', c);
    expect(load(w, w.p)).toBe('childwrote');
  });
});

describe('fork in a scenario: the child\'s actors', () => {
  const s = {
    name: 'fork-actors', kernel: { memory: '64M' },
    actors: {
      app: [
        { op: 'mmap', length: '4K', prot: 'rw', flags: ['private'], as: 'mem' },
        { op: 'store', addr: 'mem', length: '4K', as: 's0' },
        { op: 'sleep', duration: '30us' },
        { op: 'fork', as: 'kid' },
        { op: 'store', addr: 'mem', length: '4K', as: 'parentwrote' },
      ],
      child: { process: 'kid', ops: [{ op: 'load', addr: 'mem', length: '4K', as: 'childsaw' }] },
    },
  };

  it('start once the fork has happened, in the child\'s copy of the address space', () => {
    const evs: MmTraceEvent[] = [];
    const r = runScenario(s, { policy: 'linux-6.12', trace: (e) => evs.push(e) });
    expect(r.results['kid']).toBe('ok');
    expect(r.results['childsaw']).toBe('ok');
    const forkEnd = evs.find((e) => e.type === 'op_end' && e.name === 'app.3')!;
    const childStart = evs.find((e) => e.type === 'op_start' && e.name === 'child.0')!;
    expect(forkEnd.time).toBeGreaterThanOrEqual(30_000);
    expect(childStart.time).toBeGreaterThanOrEqual(forkEnd.time);
    expect(evs.indexOf(childStart)).toBeGreaterThan(evs.indexOf(forkEnd));
    expect(r.observed['childsaw']).toBe('s0');
    expect(r.violations).toEqual([]);
  });
});

describe('fork and device-private pages (copy_nonpresent_pte)', () => {
  const scenarioOf = (childTouches: boolean) => ({
    name: 'fork-devpriv', kernel: { memory: '64M' }, devices: { gpu0: { model: 'gpu-hmm' } },
    actors: {
      app: [
        { op: 'mmap', length: '2p', prot: 'rw', flags: ['private'], as: 'buf' },
        { op: 'store', addr: 'buf', length: '2p', as: 'i' },
        { op: 'mirror', device: 'gpu0', addr: 'buf', length: '2p', as: 'm' },
        { op: 'migrate_to_device', mirror: 'm', offset: 0, length: '2p', as: 'mig' },
        { op: 'fork', as: 'kid' },
        { op: 'snapshot', mirror: 'm', offset: 0, length: '2p', at: '300us', as: 'snap' },
      ],
      child: { process: 'kid', ops: childTouches ? [{ op: 'load', addr: 'buf', length: '2p', at: '100us', as: 'saw' }] : [] },
    },
  });

  it('leaves the pages on the device, read-only in both processes: no migration at fork', () => {
    const evs: MmTraceEvent[] = [];
    const r = runScenario(scenarioOf(false), { trace: (e) => evs.push(e) });
    expect(r.observed['snap']).toBe('DEV_PRIVATE_LOCAL|READ,DEV_PRIVATE_LOCAL|READ');
    const fork = evs.findIndex((e) => e.type === 'op_start' && e.op === 'fork');
    expect(evs.slice(fork).some((e) => e.type === 'notifier_start' && e.event === 'MMU_NOTIFY_MIGRATE')).toBe(false);
    expect(r.violations).toEqual([]);
  });

  it('the child\'s touch brings each page back to RAM for both processes (read-only), through the parent\'s mirror; nothing leaks', () => {
    const r = runScenario(scenarioOf(true));
    expect(r.observed['saw']).toBe('i');
    expect(r.observed['snap']).toBe('READ,READ');
    expect(r.violations).toEqual([]);
  });
});
