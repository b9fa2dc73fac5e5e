/**
 * A violation's causal chain told as a short story in kernel words, one clause per chain step
 * joined by " → ": who took which DMA reference (in the era's own terms, which the step carries: a
 * FOLL_GET reference via get_user_pages_longterm under linux-4.20, FOLL_PIN with its 1024 bias from
 * linux-5.7), who removed the folio from the page cache and with what refcount, the free, the
 * reallocation, and the device access that makes the finding, ending with what it means for that
 * kind ("the write never reaches f", "it now belongs to anon:victim").
 *
 * Each step is a typed record (the trace event's type and fields): a clause switches on the type
 * and reads the fields with their types. Nothing here reads the checker's message.
 */
import { formatSize, formatTime } from '../engine/clock.js';
import type { ChainEvent, ChainRecordOf } from '../invariants/checker.js';
import type { Violation } from '../scenario/run/result.js';

type Rec<T extends ChainEvent['event']> = ChainRecordOf<T>;

/** What every clause may need besides its own step. */
interface StoryCtx {
  readonly v: Violation;
  /** The step before this one, if any. */
  readonly prev: ChainEvent | undefined;
  /** This is the step the violation was reported at. */
  readonly last: boolean;
}

/** What says where a page is, as much of it as a step has. */
interface Where {
  pfn?: number;
  fields: { pfn?: number; file?: string; index?: number; mm?: string; va?: number };
}

function hex(n: number): string {
  return n < 0 ? String(n) : `0x${n.toString(16)}`;
}

function pfnOf(c: Where): number | undefined {
  return c.pfn ?? c.fields.pfn;
}

/** `f@0` for a file page (as the text report and `storage:f@0` spell it), or undefined. */
function fileIndex(f: Where['fields']): string | undefined {
  return f.file && f.index !== undefined && f.index >= 0 ? `${f.file}@${f.index}` : undefined;
}

/** `pfn 0x1 (f@0)`, `pfn 0x5 (app va 0x7f…)` or `pfn 0x1`. */
function pfnWhere(c: Where, withVa = false): string {
  const pfn = pfnOf(c);
  const p = pfn !== undefined && pfn >= 0 ? `pfn ${hex(pfn)}` : 'a page';
  const fi = fileIndex(c.fields);
  if (fi) return `${p} (${fi})`;
  const { mm, va } = c.fields;
  if (withVa && mm && va !== undefined) return `${p} (${mm} va ${hex(va)})`;
  return p;
}

/** `pfn 0x1`, without where it belongs. */
function pfnOnly(c: Where): string {
  const pfn = pfnOf(c);
  return pfn !== undefined && pfn >= 0 ? `pfn ${hex(pfn)}` : 'a page';
}

/** ` (a 2M folio)` for a step about a large folio's `nr` pages; '' for a 4 KiB one. */
function folioOf(f: { nr?: number }): string {
  return f.nr !== undefined && f.nr > 1 ? ` (a ${formatSize(f.nr * 4096)} folio)` : '';
}

/** A PMD or PUD entry mapping a huge page, by its pages; a PTE otherwise. */
function entryOf(f: { nr?: number }): string {
  return f.nr === undefined || f.nr <= 1 ? 'PTE' : f.nr >= 262144 ? 'PUD entry' : 'PMD entry';
}

function mmVa(f: { mm: string; va: number }): string {
  return `${f.mm} va ${hex(f.va)}`;
}

function range(f: { start: number; end: number }): string {
  return ` [${hex(f.start)}, ${hex(f.end)})`;
}

/** Who a reallocated frame belongs to now, from the chain's folio_alloc. */
function newOwner(v: Violation): string {
  const a = v.chain.find((c): c is Rec<'folio_alloc'> => c.event === 'folio_alloc');
  if (!a) return 'another owner';
  const fi = fileIndex(a.fields);
  return fi ? `${fi}'s page cache` : a.fields.owner || 'another owner';
}

const REASON: ReadonlyMap<string, string> = new Map([['truncate', 'truncate'], ['punch_hole', 'punch-hole'], ['reclaim', 'reclaim'], ['invalidate', 'invalidation']]);

/** dma_ref_get in the era's words: a FOLL_PIN pin, or a FOLL_GET reference and the API that took it. */
function refGet(c: Rec<'dma_ref_get'>): string {
  const f = c.fields;
  const names = f.fnames.split('|');
  // A large folio's pages come at once: how many, and the folio's counts.
  const pages = f.nr !== undefined ? `${f.nr} page${f.nr === 1 ? '' : 's'} from ` : '';
  const counts = f.nr !== undefined ? `, refcount ${f.refcount}${f.pin ? `, pincount ${f.pincount}` : ''} on its head pfn ${hex(f.head ?? -1)}` : `, refcount ${f.refcount}`;
  if (names.includes('FOLL_PIN')) {
    // FOLL_WRITE says nothing the later access does not; the pin's own flags are the point.
    return `${c.actor} pinned ${pages}${pfnWhere(c, true)} ${names.filter((n) => n !== 'FOLL_WRITE').join('|')}${counts}`;
  }
  return `${c.actor} took a FOLL_GET reference on ${pages}${pfnWhere(c, true)} via ${f.api}${counts}`;
}

function refPut(c: Rec<'dma_ref_put'>): string {
  const f = c.fields;
  if (f.pin) return `${f.holder} unpinned ${pfnWhere(c)}${f.dirty ? ' with dirty (unpin_user_pages_dirty_lock)' : ''}, refcount ${f.refcount}`;
  return `${f.holder} put its FOLL_GET reference on ${pfnWhere(c)}${f.dirty ? ' after set_page_dirty_lock' : ''}, refcount ${f.refcount}`;
}

/** The kind-specific meaning of the device access the violation was reported at. */
function dmaEnding(c: Rec<'dma_access'>, x: StoryCtx): string {
  const f = c.fields;
  const v = x.v;
  switch (v.kind) {
    case 'lost-write': return `: the write never reaches ${f.file || v.file || 'the file'}`;
    case 'dma-use-after-free': return ': the frame was freed';
    case 'dma-into-reused-page': return `: it now belongs to ${newOwner(v)}`;
    case 'stale-read': return `: it read token ${f.token} where a CPU load would see token ${f.cpuToken}`;
    case 'incoherent-mapping': {
      const pte = x.prev?.event === 'pte_set' ? pfnOf(x.prev) : f.cpuPfn;
      return `: ${f.mm}'s PTE there maps ${pte !== undefined && pte >= 0 ? `pfn ${hex(pte)}` : 'another frame'}`;
    }
    case 'access-after-release': return `: ${f.mm} was already released`;
    case 'dummy-page-dma': return ': that is the dummy page, so the data is gone';
    default: return f.ok ? '' : ': the access failed';
  }
}

/** dma_access: `nic0 dma_write 4K into pfn 0x1` (a page access of the DMA), then what it means. */
function dmaAccess(c: Rec<'dma_access'>, x: StoryCtx): string {
  const f = c.fields;
  const pfn = pfnOf(c);
  const head = `${f.device} ${f.op} ${formatSize(f.length)} ${f.write ? 'into' : 'from'} ${pfn !== undefined && pfn >= 0 ? `pfn ${hex(pfn)}` : mmVa(f)}`;
  return head + (x.last ? dmaEnding(c, x) : '');
}

/** cpu_access: a load or store through a PTE; a lost write says where the data does not go. */
function cpuAccess(c: Rec<'cpu_access'>, x: StoryCtx): string {
  const f = c.fields;
  const head = `${c.actor} ${f.write ? 'store' : 'load'} ${f.write ? 'into' : 'from'} ${pfnWhere(c)} through ${mmVa(f)}${f.shared ? ' (shared mapping)' : ''}`;
  if (!x.last || x.v.kind !== 'lost-write') return head;
  return `${head}: the write never reaches ${f.file || x.v.file || 'the file'}`;
}

function subDone(c: Rec<'notifier_sub_done'>, x: StoryCtx): string {
  const f = c.fields;
  const what = `${c.actor}'s ${f.event} of ${f.mm}${range(f)} (range ${f.id})`;
  if (!f.ok) {
    const then = f.blockable ? 'the range is blockable, so the kernel WARNs and proceeds' : 'the non-blockable range is skipped';
    return `${f.holder} failed its invalidate for ${what}: ${then}`;
  }
  let end = '';
  if (x.last && x.v.kind === 'notifier-teardown-incomplete') {
    const p = x.prev;
    if (p?.event === 'dev_map') end = `, yet it still translates ${mmVa(p.fields)} to ${pfnWhere(p)}`;
    else if (p?.event === 'dev_dma_hold') end = `, yet its DMA ${p.fields.wr} is still in flight on ${pfnWhere(p)}`;
  }
  return `${f.holder} acknowledged ${what}${end}`;
}

/**
 * dev_map; for install-during-invalidation, what the step before says: the invalidation's start
 * (it was open at the install) or its end (it came and went after the walk the install used).
 */
function devMap(c: Rec<'dev_map'>, x: StoryCtx): string {
  const f = c.fields;
  const how = `${f.write ? '' : ' read-only'}${f.holdsRef ? ', holding a reference' : ''}`;
  const head = `${f.device} installed a translation of ${mmVa(f)} to ${pfnWhere(c)} in its page tables${how}`;
  if (!x.last || x.v.kind !== 'install-during-invalidation') return head;
  return head + (x.prev?.event === 'notifier_start'
    ? ' while that invalidation was open'
    : ': from a snapshot taken before that invalidation, which mmu_interval_read_retry() would have refused');
}

function folioDirty(c: Rec<'folio_dirty'>): string {
  const f = c.fields;
  const unpin = f.via.startsWith('unpin');
  const who = f.via.startsWith('unpin:') ? f.via.slice(6) : c.actor;
  const how = unpin ? 'set_page_dirty_lock() at unpin' : f.via;
  if (!f.buffers) return `${who} dirtied ${pfnWhere(c)} behind the filesystem's back (${how}, no buffers)`;
  return `${who} dirtied ${pfnWhere(c)}${how ? ` via ${how}` : ''}`;
}

/**
 * cow_copy: do_wp_page() copied a page only its process maps, in the era's words: 5.9–5.18 reuse a
 * page only for a sole holder; from 5.19 an exclusive page, or a sole holder.
 */
function cowCopy(c: Rec<'cow_copy'>): string {
  const f = c.fields;
  const why = f.rule === 'refcount'
    ? `refcount ${f.refcount} shows another holder (5.9–5.18: a page is reused only for a sole holder)`
    : `it is not PageAnonExclusive and refcount ${f.refcount} shows another holder`;
  const fault = f.unshare ? 'unshare fault' : 'write fault';
  return `${c.actor}'s ${fault} at ${mmVa(f)}: do_wp_page copied ${pfnOnly(c)} though only ${f.mm} maps it: ${why}`;
}

/** gup_cow: GUP faulted for COW's sake before taking its reference, in the era's words. */
function gupCow(c: Rec<'gup_cow'>): string {
  const f = c.fields;
  const at = `${mmVa(f)}${f.pfn >= 0 ? ` (${f.pfn === 0 ? 'the shared zero page' : `pfn ${hex(f.pfn)}`})` : ''}`;
  switch (f.reason) {
    case 'force_cow_break': return `5.8: GUP broke COW: ${f.holder}'s ${f.fnames} of ${at} write-faulted first`;
    case 'unshare_anon': return `R/O FOLL_PIN of a non-exclusive anon page: unshare fault at ${at} before ${f.holder} pins it`;
    case 'unshare_longterm_cow': return `R/O FOLL_LONGTERM pin of a non-anonymous page in a COW mapping: unshare fault at ${at} before ${f.holder} pins it (6.2)`;
    default: return generic(c);
  }
}

/** The generic clause: the actor, the event and its fields, as the ftrace line would have them. */
function generic(c: ChainEvent): string {
  const kv = Object.entries(c.fields)
    .filter(([k, v]) => !((k === 'file' && v === '') || (k === 'index' && v === -1)))
    .map(([k, v]) => `${k}=${typeof v === 'number' && (k === 'pfn' || k === 'va' || k === 'start' || k === 'end') ? hex(v) : String(v)}`);
  return [c.actor, c.event, ...kv].join(' ');
}

/** The end of pinned-page-moved's last step (a reclaim or a free of a referenced frame). */
function movedTail(x: StoryCtx): string {
  return x.last && x.v.kind === 'pinned-page-moved' ? ' while a DMA reference still holds it: the device keeps the old frame' : '';
}

/** Clauses of the page cache and the allocator. */
function folioClause(c: Rec<'filemap_remove' | 'filemap_add' | 'folio_free' | 'folio_alloc'>, x: StoryCtx): string {
  switch (c.event) {
    case 'filemap_remove': {
      const f = c.fields;
      const counts = ` (refcount ${f.refcount}${f.refcount > 0 ? ', orphaned' : ''})`;
      return `${c.actor} ${REASON.get(f.reason) ?? f.reason} removed ${pfnOnly(c)}${folioOf(f)} from ${f.file}'s page cache${counts}${movedTail(x)}`;
    }
    case 'filemap_add': return `${c.actor} added ${pfnOnly(c)}${folioOf(c.fields)} to ${c.fields.file}'s page cache at index ${c.fields.index} (refcount ${c.fields.refcount})`;
    case 'folio_free': return `${c.actor} freed ${pfnWhere(c)}${folioOf(c.fields)} (refcount 0, back on the free list${c.fields.nr ? ' or its hugetlb pool' : ''})${movedTail(x)}`;
    case 'folio_alloc': {
      const fi = fileIndex(c.fields);
      return `${c.actor} ${c.fields.gen > 1 ? 'reallocated' : 'allocated'} ${pfnOnly(c)}${folioOf(c.fields)} to ${fi ? `${fi}'s page cache` : c.fields.owner}`;
    }
  }
}

/** Clauses of MMU-notifier ranges. */
function notifierClause(c: Rec<'notifier_start' | 'notifier_end' | 'notifier_abort' | 'nonblock_slept'>, x: StoryCtx): string {
  switch (c.event) {
    case 'notifier_start': {
      const f = c.fields;
      const tail = x.last && x.v.kind === 'notifier-unpaired' ? ', and never ended it' : '';
      return `${c.actor} started ${f.event} of ${f.mm}${range(f)} (range ${f.id}${f.blockable ? '' : ', non-blockable'})${tail}`;
    }
    case 'notifier_end': return `${c.actor} ended range ${c.fields.id} (invalidate_range_end)`;
    case 'notifier_abort': return `a subscriber refused ${c.actor}'s non-blockable range ${c.fields.id} of ${c.fields.mm}`;
    case 'nonblock_slept': return `${c.fields.holder} slept at ${c.fields.site} inside non-blockable range ${c.fields.id}`;
  }
}

/** Clauses of the scenario's ops (hang's chains). */
function opClause(c: Rec<'op_start' | 'op_end' | 'op_blocked'>): string {
  const f = c.fields;
  switch (c.event) {
    case 'op_start': return `${c.actor} started ${f.op} (${f.name})`;
    case 'op_end': return `${c.actor}'s ${f.op} (${f.name}) returned ${c.fields.result}${c.fields.blockedNs ? ` after blocking ${formatTime(c.fields.blockedNs)}` : ''}`;
    case 'op_blocked': return `${c.actor}'s ${f.op} (${f.name}) is still blocked when the run ends${c.fields.wq ? `, waiting on ${c.fields.wq}` : ''}`;
  }
}

/** clause() - one chain step in kernel words (without its `t=` prefix). */
function clause(c: ChainEvent, x: StoryCtx): string {
  switch (c.event) {
    case 'dma_ref_get': return refGet(c);
    case 'dma_ref_put': return refPut(c);
    case 'filemap_remove': case 'filemap_add': case 'folio_free': case 'folio_alloc': return folioClause(c, x);
    case 'dma_access': return dmaAccess(c, x);
    case 'cpu_access': return cpuAccess(c, x);
    case 'pte_set': return `${c.actor} mapped ${pfnWhere(c)}${folioOf(c.fields)} at ${mmVa(c.fields)} (${c.fields.write ? 'writable' : 'read-only'} ${entryOf(c.fields)}, refcount ${c.fields.refcount})`;
    case 'pte_clear': return `${c.actor} zapped the ${entryOf(c.fields)} of ${mmVa(c.fields)} mapping ${pfnWhere(c)}${folioOf(c.fields)}${c.fields.dirty ? ' (dirty)' : ''}`;
    case 'dev_map': return devMap(c, x);
    case 'dev_unmap': return `${c.fields.device} dropped its translation of ${mmVa(c.fields)} to ${pfnWhere(c)}`;
    case 'dev_dma_hold': return `${c.fields.device} started DMA ${c.fields.wr} through ${mmVa(c.fields)} (${pfnWhere(c)})`;
    case 'notifier_sub_done': return subDone(c, x);
    case 'notifier_start': case 'notifier_end': case 'notifier_abort': case 'nonblock_slept': return notifierClause(c, x);
    case 'storage_write': return `${c.actor} wrote ${pfnWhere(c)} back to storage: writeback cleaned it`;
    case 'writeback_skip': return `${c.actor} writeback skipped dirty ${pfnWhere(c)}, which has no buffers: its data never reaches ${c.fields.file}`;
    case 'folio_buffers': return c.fields.attached ? `${c.actor} attached buffers to ${pfnWhere(c)}` : `${c.actor} stripped the buffers of ${pfnWhere(c)}`;
    case 'folio_dirty': return folioDirty(c);
    case 'dummy_redirect': return `${c.fields.device} was redirected from ${pfnWhere(c)} to the dummy page pfn ${hex(c.fields.dummy)} (${mmVa(c.fields)})`;
    case 'folio_migrate': {
      const tail = x.last && x.v.kind === 'pinned-page-moved' ? ': the device keeps the old frame' : '';
      return `${c.actor} migrated ${mmVa(c.fields)} from pfn ${hex(c.fields.old)} to pfn ${hex(c.fields.new)}${folioOf(c.fields)}${tail}`;
    }
    case 'kernel_warn': return `${c.actor} hit WARNING at ${c.fields.site}: ${c.fields.dump}`;
    case 'kernel_bug': return `${c.actor} hit kernel BUG at ${c.fields.site}: ${c.fields.dump}`;
    case 'op_start': case 'op_end': case 'op_blocked': return opClause(c);
    case 'cow_copy': return cowCopy(c);
    case 'gup_cow': return gupCow(c);
    case 'mr_revoked': return `${c.fields.device} had MR ${c.fields.mr} revoked (its QP in error, its references dropped)`;
    case 'device_dead': return `${c.fields.device} was declared dead (${c.fields.reason})`;
    case 'iommu_fault': return `${c.fields.device} faulted at its IOMMU on IOVA ${hex(c.fields.iova)} (${pfnWhere(c)})`;
    case 'lease_break': return `${c.actor} broke ${c.fields.holder}'s ${c.fields.lease} lease on ${c.fields.file}`;
    case 'truncate_wait': return `${c.actor} waits for ${c.fields.refs} long-term DMA reference(s) on ${c.fields.file} to go`;
    case 'frame_final':
      return `${pfnWhere(c)}${folioOf(c.fields)} ended the run with refcount ${c.fields.refcount}, pincount ${c.fields.pincount}, mapcount ${c.fields.mapcount}`;
    case 'vmstat_final':
      return `the run ended with nr_foll_pin_acquired ${c.fields.nr_foll_pin_acquired}, nr_foll_pin_released ${c.fields.nr_foll_pin_released}`;
    default: return generic(c);
  }
}

/**
 * tellChain() - @v's causal chain as a story in kernel words: one clause per step, each
 * `t=<time> <who did what>`, joined by " → ". Each step carries its era's words (a reference's
 * api and FOLL_* names as that kernel took them), so @_policy is not needed to tell it; it is kept
 * so that callers name the run the story belongs to. Under linux-5.7:
 * "t=350ns nic0 pinned pfn 0x1 (f@0) FOLL_PIN|FOLL_LONGTERM, refcount 1026 → t=20.3µs admin truncate
 * removed pfn 0x1 from f's page cache (refcount 1024, orphaned) → t=30µs nic0 dma_write 4K into pfn
 * 0x1: the write never reaches f".
 */
export function tellChain(v: Violation, _policy: string): string {
  return v.chain
    .map((c, i) => `t=${formatTime(c.time)} ${clause(c, { v, prev: v.chain[i - 1], last: i === v.chain.length - 1 })}`)
    // The arrow separates clauses; a clause (a WARN dump, say) never carries one of its own.
    .map((s) => s.replaceAll(' → ', ' -> '))
    .join(' → ');
}
