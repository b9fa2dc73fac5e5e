/**
 * (pinsim-only) A CPU load or store through the MMU: translate each page through the process's
 * page tables, fault where the PTE is absent or read-only, and read or write the frame's content
 * token. A fault the kernel answers with a signal ends the access with SIGBUS or SIGSEGV.
 * Kernel: arch/x86/mm/fault.c do_user_addr_fault() → handle_mm_fault(); SIGBUS from filemap_fault
 * beyond EOF, SIGSEGV from bad_area().
 */
import { delay, type Co } from '../engine/actor.js';
import { filemap_get_page, index_beyond_eof } from './filemap.js';
import type { Kernel } from './kernel.js';
import { storage_token } from './page-writeback.js';
import { down_read, up_read } from './locking.js';
import { handle_mm_fault, vpn } from './memory.js';
import {
  find_vma, is_device_exclusive_entry, is_device_private_entry, mk_pte, pte_dirty, pte_pfn, pte_present, pte_write, PTE_DIRTY, PTE_WRITE, type MmStruct,
} from './mm_types.js';
import { FAULT_FLAG_WRITE, PAGE_SIZE, VM_FAULT_SIGBUS, VM_READ, VM_SHARED, VM_WRITE } from './types.js';

export interface CpuAccessResult {
  signal: '' | 'SIGBUS' | 'SIGSEGV';
  /** Content tokens seen (loads), one per page. */
  tokens: number[];
}

/**
 * cpu_access() - load (@token < 0) or store @token into [addr, addr+len) of @mm.
 * Context: takes mmap_lock for read only while faulting; one page at a time.
 */
export function* cpu_access(k: Kernel, mm: MmStruct, addr: number, len: number, token: number): Co<CpuAccessResult> {
  const write = token >= 0;
  const tokens: number[] = [];
  const first = Math.floor(addr / PAGE_SIZE), last = Math.floor((addr + Math.max(len, 1) - 1) / PAGE_SIZE);
  for (let p = first; p <= last; p++) {
    const va = p * PAGE_SIZE;
    // The VMA's permissions decide first: PROT_NONE keeps PTEs but the CPU may not use them.
    const perm = find_vma(mm, va);
    if (!perm || (write ? !(perm.vm_flags & VM_WRITE) : !(perm.vm_flags & VM_READ))) {
      k.emit({ type: 'fault', time: k.now, actor: k.actorName(), mm: mm.owner, va, write, result: 'SIGSEGV' });
      return { signal: 'SIGSEGV', tokens };
    }
    let pte = mm.pgtable.get(p);
    let tries = 0;
    while (!pte_present(pte) || (write && !pte_write(pte))) {
      yield* down_read(mm.mmap_lock, 'cpu:fault_mmap_read_lock');
      const vma = find_vma(mm, va);
      const ret = vma ? yield* handle_mm_fault(k, vma, va, write ? FAULT_FLAG_WRITE : 0) : -1;
      up_read(mm.mmap_lock);
      if (ret !== 0) return { signal: ret === VM_FAULT_SIGBUS ? 'SIGBUS' : 'SIGSEGV', tokens };
      pte = mm.pgtable.get(p);
      if (++tries > 8) return { signal: 'SIGSEGV', tokens };
    }
    const pfn = pte_pfn(pte);
    const vma = find_vma(mm, va);
    const shared_file = vma !== null && vma.vm_file !== null && (vma.vm_flags & VM_SHARED) !== 0;
    const m = k.mem;
    if (write) {
      m.content[pfn] = token;
      // The store sets the dirty bit (a huge page's entry is dirty from the fault that made it writable).
      if (!pte_dirty(pte)) mm.pgtable.set(vpn(va), mk_pte(pfn, PTE_WRITE | PTE_DIRTY));
    } else tokens.push(m.contentOf(pfn));
    k.emit({
      type: 'cpu_access', time: k.now, actor: k.actorName(), mm: mm.owner, va, pfn, gen: m.genOf(pfn),
      file: shared_file ? vma!.vm_file!.name : '', index: shared_file ? vma!.linear_page_index(va) : -1,
      write, token: write ? token : m.contentOf(pfn), shared: shared_file,
    });
    // A page of memcpy; another CPU or a device may run meanwhile.
    yield* delay(k.timing.cpuAccessPerPage, 'cpu:page_accessed');
  }
  return { signal: '', tokens };
}

/**
 * cpu_view() - what a CPU read of @va in @owner's mm would return at this instant, for checkers:
 * the frame of a present PTE (-1 if none) and the content token a load would see (-1 where it is not
 * defined: no VMA, no read permission, a file page beyond EOF). Without a PTE the load would fault:
 * a file page reads the page cache (or storage), anonymous memory the zero page.
 */
export function cpu_view(k: Kernel, owner: string, va: number): { pfn: number; token: number } {
  const mm = k.processes.get(owner)?.mm;
  if (!mm || mm.dead) return { pfn: -1, token: -1 };
  const vma = find_vma(mm, va);
  const pte = mm.pgtable.get(vpn(va));
  const pfn = pte_present(pte) ? pte_pfn(pte) : -1;
  if (!vma || !(vma.vm_flags & VM_READ)) return { pfn, token: -1 };
  if (is_device_private_entry(pte) || is_device_exclusive_entry(pte)) return { pfn: -1, token: k.mem.contentOf(pte_pfn(pte)) };
  if (pfn >= 0) return { pfn, token: k.mem.contentOf(pfn) };
  const file = vma.vm_file;
  if (!file) return { pfn, token: 0 };
  const index = vma.linear_page_index(Math.floor(va / PAGE_SIZE) * PAGE_SIZE);
  if (index_beyond_eof(file, index)) return { pfn, token: -1 };
  const cached = filemap_get_page(file.i_mapping, index);
  return { pfn, token: cached >= 0 ? k.mem.contentOf(cached) : storage_token(k, file, index) };
}
