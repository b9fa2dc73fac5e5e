/**
 * Regressions found by review against the kernel: mremap's source-VMA lookup order in newer
 * kernels, mprotect and msync over a range with a hole after mapped VMAs, and fsync of a byte range
 * that does not start on a page boundary.
 */
import { describe, expect, it } from 'vitest';
import { cpu_access } from '../../src/mm/cpu.js';
import { do_msync, do_pwrite, vfs_fsync_range } from '../../src/mm/fs/read_write.js';
import { do_mmap, type MmapArgs } from '../../src/mm/mmap.js';
import { find_vma, pte_present } from '../../src/mm/mm_types.js';
import { do_mprotect } from '../../src/mm/mprotect.js';
import { do_mremap } from '../../src/mm/mremap.js';
import { storage_token } from '../../src/mm/page-writeback.js';
import { VM_WRITE } from '../../src/mm/types.js';
import { makeKernel, PAGE } from '../helpers/kernel.js';

const anon = (length: number, o: Partial<MmapArgs> = {}): MmapArgs => ({
  addr: null, length, prot: 'rw', shared: false, private: true, fixed: false, populate: true, file: null, offset: 0, ...o,
});

describe('mremap under linux-6.12 looks the source VMA up first (vma_lookup → EFAULT)', () => {
  it('a MREMAP_FIXED move from an unmapped address returns EFAULT and leaves the destination mapped', () => {
    const t = makeKernel('6.12');
    const mm = t.k.create_process('p').mm;
    const dst = t.run(do_mmap(t.k, mm, anon(2 * PAGE), '')) as number;
    t.run(cpu_access(t.k, mm, dst, 2 * PAGE, t.k.new_content('d')));
    expect(t.run(do_mremap(t.k, mm, { addr: 0x10000000, old_len: 2 * PAGE, new_len: 2 * PAGE, maymove: true, fixed: true, new_addr: dst }))).toBe('EFAULT');
    expect(find_vma(mm, dst)).not.toBeNull();
    expect(pte_present(mm.pgtable.get(dst / PAGE))).toBe(true);
  });

  it('shrinking or same-size mremap of an unmapped address returns EFAULT under 6.12 but the address under 4.20', () => {
    const t = makeKernel('6.12');
    const mm = t.k.create_process('p').mm;
    expect(t.run(do_mremap(t.k, mm, { addr: 0x10000000, old_len: 2 * PAGE, new_len: PAGE, maymove: false, fixed: false, new_addr: null }))).toBe('EFAULT');
    expect(t.run(do_mremap(t.k, mm, { addr: 0x10000000, old_len: PAGE, new_len: PAGE, maymove: false, fixed: false, new_addr: null }))).toBe('EFAULT');
    const old = makeKernel('4.20');
    const omm = old.k.create_process('p').mm;
    expect(old.run(do_mremap(old.k, omm, { addr: 0x10000000, old_len: PAGE, new_len: PAGE, maymove: false, fixed: false, new_addr: null }))).toBe(0x10000000);
  });
});

it('mprotect over [VMA, hole) changes the VMA before the hole, then returns ENOMEM', () => {
  const t = makeKernel('6.12');
  const mm = t.k.create_process('p').mm;
  const lo = t.run(do_mmap(t.k, mm, anon(PAGE, { fixed: true, addr: 0x10000000, populate: false }), '')) as number;
  const hi = t.run(do_mmap(t.k, mm, anon(PAGE, { fixed: true, addr: 0x10002000, populate: false }), '')) as number;
  expect(t.run(do_mprotect(t.k, mm, lo, 3 * PAGE, 'r'))).toBe('ENOMEM');
  expect(find_vma(mm, lo)!.vm_flags & VM_WRITE).toBe(0);
  expect(find_vma(mm, hi)!.vm_flags & VM_WRITE).toBeTruthy();
});

it('msync(MS_SYNC) over [shared file VMA, hole) still writes back the mapped part, then returns ENOMEM', () => {
  const t = makeKernel('6.12');
  const mm = t.k.create_process('p').mm;
  const f = t.k.create_inode('f', 'ext4', false, PAGE);
  const a = t.run(do_mmap(t.k, mm, { ...anon(PAGE, { fixed: true, addr: 0x10000000, populate: false }), shared: true, private: false, file: f }, '')) as number;
  const tok = t.k.new_content('s');
  t.run(cpu_access(t.k, mm, a, PAGE, tok));
  expect(t.run(do_msync(t.k, mm, a, 2 * PAGE, ['sync']))).toBe('ENOMEM');
  expect(storage_token(t.k, f, 0)).toBe(tok);
});

it('vfs_fsync_range(pos 2K, len 4K) writes back both pages the byte range touches', () => {
  const t = makeKernel('6.12');
  const f = t.k.create_inode('f', 'ext4', false, 2 * PAGE);
  const tok = t.k.new_content('w');
  t.run(do_pwrite(t.k, f, 0, 2 * PAGE, tok));
  t.run(vfs_fsync_range(t.k, f, PAGE / 2, PAGE));
  expect([storage_token(t.k, f, 0), storage_token(t.k, f, 1)]).toEqual([tok, tok]);
});
