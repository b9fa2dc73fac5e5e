import { describe, expect, it } from 'vitest';
import { cpu_access } from '../../../src/mm/cpu.js';
import { IS_ERR } from '../../../src/mm/errno.js';
import { get_user_pages_unlocked } from '../../../src/mm/gup.js';
import { do_mmap } from '../../../src/mm/mmap.js';
import { pte_pfn } from '../../../src/mm/mm_types.js';
import type { DmaRef } from '../../../src/mm/pin_registry.js';
import { FOLL_GET, FOLL_LONGTERM, FOLL_PIN, FOLL_WRITE } from '../../../src/mm/types.js';
import { makeKernel, PAGE } from '../../helpers/kernel.js';

function setup(era: '4.20' | '6.12') {
  const t = makeKernel(era, 64 * 1024 * 1024, { movable: 1024 * PAGE });
  const mm = t.k.create_process('p').mm;
  const a = t.run(do_mmap(t.k, mm, { addr: null, length: 2 * PAGE, prot: 'rw', shared: false, private: true, fixed: false, populate: true, file: null, offset: 0 }, '')) as number;
  t.run(cpu_access(t.k, mm, a, 2 * PAGE, t.k.new_content('s')));
  return { t, mm, a };
}

describe('long-term pins and ZONE_MOVABLE (5.13)', () => {
  it('user pages come from ZONE_MOVABLE while it has room', () => {
    const { t, mm, a } = setup('6.12');
    expect(t.k.movable.pfns.has(pte_pfn(mm.pgtable.get(a / PAGE)))).toBe(true);
  });

  it('under 6.12 a long-term pin migrates its pages out of ZONE_MOVABLE first: the pin and the PTE hold the new, pinnable page', () => {
    const { t, mm, a } = setup('6.12');
    const before = pte_pfn(mm.pgtable.get(a / PAGE));
    const ref = t.run(get_user_pages_unlocked(t.k, mm, a, 2, FOLL_PIN | FOLL_LONGTERM | FOLL_WRITE, 'nic0')) as DmaRef;
    expect(IS_ERR(ref)).toBe(false);
    const after = pte_pfn(mm.pgtable.get(a / PAGE));
    expect(after).not.toBe(before);
    expect(ref.pfns[0]).toBe(after);
    expect(t.k.movable.pfns.has(after)).toBe(false);
    expect(t.events.filter((e) => e.type === 'folio_migrate')).toHaveLength(2);
  });

  it('a movable page another reference holds cannot move: the long-term pin fails with ENOMEM and holds nothing', () => {
    const { t, mm, a } = setup('6.12');
    t.run(get_user_pages_unlocked(t.k, mm, a, 1, FOLL_PIN | FOLL_WRITE, 'odirect'));
    expect(t.run(get_user_pages_unlocked(t.k, mm, a, 2, FOLL_PIN | FOLL_LONGTERM | FOLL_WRITE, 'nic0'))).toBe('ENOMEM');
    expect([...t.k.pins.live.values()].map((r) => r.holder)).toEqual(['odirect']);
  });

  it('under 4.20 (before 5.13) the long-term reference is taken in place, in ZONE_MOVABLE', () => {
    const { t, mm, a } = setup('4.20');
    const before = pte_pfn(mm.pgtable.get(a / PAGE));
    const ref = t.run(get_user_pages_unlocked(t.k, mm, a, 2, FOLL_GET | FOLL_LONGTERM | FOLL_WRITE, 'nic0')) as DmaRef;
    expect(ref.pfns[0]).toBe(before);
    expect(t.k.movable.pfns.has(before)).toBe(true);
    expect(t.events.filter((e) => e.type === 'folio_migrate')).toHaveLength(0);
  });
});
