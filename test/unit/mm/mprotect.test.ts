import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { cpu_access } from '../../../src/mm/cpu.js';
import { do_mmap, type MmapArgs } from '../../../src/mm/mmap.js';
import { do_mprotect } from '../../../src/mm/mprotect.js';
import { find_vma, pte_pfn, pte_present, pte_write, type MmStruct } from '../../../src/mm/mm_types.js';
import type { MmEventOf } from '../../../src/mm/trace_events.js';
import { VM_READ, VM_WRITE } from '../../../src/mm/types.js';
import { runScenario } from '../../../src/scenario/run/run.js';
import { makeKernel, PAGE, type TestKernel } from '../../helpers/kernel.js';

const example = (name: string) => JSON.parse(readFileSync(new URL(`../../../examples/${name}.json`, import.meta.url), 'utf8'));

const anon = (length: number, o: Partial<MmapArgs> = {}): MmapArgs => ({
  addr: null, length, prot: 'rw', shared: false, private: true, fixed: false, populate: false, file: null, offset: 0, ...o,
});

const ptesAt = (mm: MmStruct, addr: number, n: number) =>
  Array.from({ length: n }, (_, i) => mm.pgtable.get(addr / PAGE + i));

const protStarts = (t: TestKernel, from: number) =>
  t.events.slice(from).filter((e): e is MmEventOf<'notifier_start'> => e.type === 'notifier_start' && e.event === 'MMU_NOTIFY_PROTECTION_VMA');

/** A process with a written (so populated, writable) anonymous mapping of @pages pages. */
function setup(pages = 2) {
  const t = makeKernel('6.12');
  const mm = t.k.create_process('p').mm;
  const a = t.run(do_mmap(t.k, mm, anon(pages * PAGE), '')) as number;
  const tok = t.k.new_content('s1');
  t.run(cpu_access(t.k, mm, a, pages * PAGE, tok));
  return { t, mm, a, tok };
}

describe('mprotect errnos (mm/mprotect.c do_mprotect_pkey)', () => {
  it('returns EINVAL for an unaligned start', () => {
    const { t, mm, a } = setup();
    expect(t.run(do_mprotect(t.k, mm, a + 8, PAGE, 'r'))).toBe('EINVAL');
    expect(find_vma(mm, a)!.vm_flags & VM_WRITE).toBeTruthy();
  });

  it('returns 0 for length 0, even where nothing is mapped, and changes nothing', () => {
    const { t, mm, a } = setup();
    const n = t.events.length;
    expect(t.run(do_mprotect(t.k, mm, a, 0, 'none'))).toBe(0);
    expect(t.run(do_mprotect(t.k, mm, 0x10000000, 0, 'none'))).toBe(0);
    expect(find_vma(mm, a)!.vm_flags & VM_READ).toBeTruthy();
    expect(t.events.slice(n).map((e) => e.type)).not.toContain('vma');
  });

  it('returns ENOMEM when the range starts in a hole, and changes neither the VMA nor its PTEs nor fires a notifier', () => {
    const { t, mm, a } = setup();
    const before = ptesAt(mm, a, 2);
    const n = t.events.length;
    expect(t.run(do_mprotect(t.k, mm, a - PAGE, 3 * PAGE, 'r'))).toBe('ENOMEM');
    expect(find_vma(mm, a)!.vm_flags & VM_WRITE).toBeTruthy();
    expect(ptesAt(mm, a, 2)).toEqual(before);
    expect(protStarts(t, n)).toHaveLength(0);
    expect(mm.vmas).toHaveLength(1);
  });

  it('returns ENOMEM when the range runs into a hole in the middle', () => {
    const t = makeKernel('6.12');
    const mm = t.k.create_process('p').mm;
    const hi = t.run(do_mmap(t.k, mm, anon(PAGE, { fixed: true, addr: 0x10003000 }), '')) as number;
    const lo = t.run(do_mmap(t.k, mm, anon(PAGE, { fixed: true, addr: 0x10000000 }), '')) as number;
    expect(t.run(do_mprotect(t.k, mm, lo, hi + PAGE - lo, 'r'))).toBe('ENOMEM');
  });
});

describe('mprotect and the PTEs (change_protection)', () => {
  it('fires MMU_NOTIFY_PROTECTION_VMA only when a PTE is populated in the range', () => {
    const t = makeKernel('6.12');
    const mm = t.k.create_process('p').mm;
    const a = t.run(do_mmap(t.k, mm, anon(4 * PAGE), '')) as number;
    let n = t.events.length;
    expect(t.run(do_mprotect(t.k, mm, a, 4 * PAGE, 'r'))).toBe(0);
    expect(protStarts(t, n)).toHaveLength(0);
    expect(t.run(do_mprotect(t.k, mm, a, 4 * PAGE, 'rw'))).toBe(0);
    // Populate page 0 only: mprotect of pages 2..3 still has nothing to rewrite.
    t.run(cpu_access(t.k, mm, a, PAGE, t.k.new_content('x')));
    n = t.events.length;
    expect(t.run(do_mprotect(t.k, mm, a + 2 * PAGE, 2 * PAGE, 'r'))).toBe(0);
    expect(protStarts(t, n)).toHaveLength(0);
    n = t.events.length;
    expect(t.run(do_mprotect(t.k, mm, a, 2 * PAGE, 'r'))).toBe(0);
    const s = protStarts(t, n);
    expect(s.map((e) => [e.start, e.end])).toEqual([[a, a + 2 * PAGE]]);
    expect(t.events.slice(n).some((e) => e.type === 'notifier_end' && e.id === s[0]!.id)).toBe(true);
  });

  it('removing PROT_WRITE makes the PTEs read-only but present (same pfns): loads work, stores SIGSEGV', () => {
    const { t, mm, a, tok } = setup();
    const before = ptesAt(mm, a, 2);
    expect(before.every((p) => pte_present(p) && pte_write(p))).toBe(true);
    expect(t.run(do_mprotect(t.k, mm, a, 2 * PAGE, 'r'))).toBe(0);
    const after = ptesAt(mm, a, 2);
    expect(after.map(pte_present)).toEqual([true, true]);
    expect(after.map(pte_write)).toEqual([false, false]);
    expect(after.map(pte_pfn)).toEqual(before.map(pte_pfn));
    expect(t.run(cpu_access(t.k, mm, a, 2 * PAGE, -1)).tokens).toEqual([tok, tok]);
    expect(t.run(cpu_access(t.k, mm, a, 1, t.k.new_content('denied'))).signal).toBe('SIGSEGV');
  });

  it('mprotect of part of a VMA splits it and changes only that part', () => {
    const { t, mm, a } = setup(4);
    expect(t.run(do_mprotect(t.k, mm, a + PAGE, PAGE, 'r'))).toBe(0);
    expect(mm.vmas.map((v) => [v.vm_start - a, v.vm_end - a, (v.vm_flags & VM_WRITE) !== 0])).toEqual([
      [0, PAGE, true], [PAGE, 2 * PAGE, false], [2 * PAGE, 4 * PAGE, true],
    ]);
    expect(ptesAt(mm, a, 4).map(pte_write)).toEqual([true, false, true, true]);
  });

  it('PROT_NONE makes CPU loads SIGSEGV while the PTEs stay present with their frames and refcounts', () => {
    const { t, mm, a } = setup();
    const before = ptesAt(mm, a, 2);
    const rc = before.map((p) => t.k.mem._refcount[pte_pfn(p)]);
    expect(t.run(do_mprotect(t.k, mm, a, 2 * PAGE, 'none'))).toBe(0);
    expect(t.run(cpu_access(t.k, mm, a, 1, -1)).signal).toBe('SIGSEGV');
    expect(t.run(cpu_access(t.k, mm, a + PAGE, 1, t.k.new_content('w'))).signal).toBe('SIGSEGV');
    const after = ptesAt(mm, a, 2);
    expect(after.map(pte_present)).toEqual([true, true]);
    expect(after.map(pte_pfn)).toEqual(before.map(pte_pfn));
    expect(after.map((p) => t.k.mem._refcount[pte_pfn(p)])).toEqual(rc);
  });
});

describe('mprotect under a classic MR (scenario)', () => {
  it.each(['linux-4.20', 'linux-6.12'])('under %s the pin ignores PROT_NONE: the NIC write lands, the CPU load is SIGSEGV, and after PROT_READ|PROT_WRITE the CPU reads the NIC\'s data', (policy) => {
    const r = runScenario(example('gup-nic-mprotect'), { policy });
    expect(r.results['app.2']).toBe('ok');
    expect(r.results['w']).toBe('ok');
    expect(r.results['denied']).toBe('SIGSEGV');
    expect(r.results['app.5']).toBe('ok');
    expect(r.observed['seen']).toBe('w');
    expect(r.violations).toEqual([]);
  });

  it('under PROT_READ the NIC still writes through its pin and the CPU load reads the NIC\'s data', () => {
    const s = example('gup-nic-mprotect');
    delete s.expect;
    s.actors.app = [
      { op: 'mmap', length: '8K', prot: 'rw', flags: ['private', 'populate'], as: 'buf' },
      { op: 'reg_mr', device: 'nic0', addr: 'buf', length: '8K', access: 'rw', as: 'mr' },
      { op: 'mprotect', addr: 'buf', length: '8K', prot: 'r' },
      { op: 'dma_write', mr: 'mr', offset: 0, length: '4K', as: 'w' },
      { op: 'load', addr: 'buf', length: '4K', as: 'seen' },
      { op: 'store', addr: 'buf', length: '4K', onSignal: 'continue', as: 'denied' },
      { op: 'dereg_mr', mr: 'mr' },
    ];
    const r = runScenario(s, { policy: 'linux-6.12' });
    expect(r.results['w']).toBe('ok');
    expect(r.observed['seen']).toBe('w');
    expect(r.results['denied']).toBe('SIGSEGV');
    expect(r.violations).toEqual([]);
  });
});
