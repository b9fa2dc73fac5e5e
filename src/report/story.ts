/**
 * A violation's causal chain told as a short story in kernel words, one clause per chain step
 * joined by " → ": who took which DMA reference (in the era's own terms: a FOLL_GET reference via
 * get_user_pages_longterm under linux-4.20, FOLL_PIN with its 1024 bias from linux-5.7), who removed
 * the folio from the page cache and with what refcount, the free, the reallocation, and the device
 * access that makes the finding, ending with what it means for that kind ("the write never reaches
 * f", "it now belongs to anon:victim").
 */
import { formatSize, formatTime } from '../engine/clock.js';
import type { ChainEvent } from '../invariants/checker.js';
import type { Violation } from '../scenario/result.js';

type Fields = ChainEvent['fields'];

/** What every clause may need besides its own step. */
interface StoryCtx {
  readonly v: Violation;
  /** FOLL_PIN with the 1024 bias exists in the era (linux-5.7 and later). */
  readonly follPin: boolean;
  /** The step before this one, if any. */
  readonly prev: ChainEvent | undefined;
  /** This is the step the violation was reported at. */
  readonly last: boolean;
}

const PAGE_SIZE = 4096;

function hex(n: number): string {
  return n < 0 ? String(n) : `0x${n.toString(16)}`;
}

function str(f: Fields, k: string): string | undefined {
  const v = f[k];
  return typeof v === 'string' ? v : undefined;
}

function num(f: Fields, k: string): number | undefined {
  const v = f[k];
  return typeof v === 'number' ? v : undefined;
}

function flag(f: Fields, k: string): boolean {
  return f[k] === true;
}

/**
 * eraHasFollPin() - does @policy's kernel have FOLL_PIN (5.7+)? Named eras `linux-X.Y` compare
 * their version; the proposals of DESIGN §7b are built on linux-4.20, so they do not.
 */
export function eraHasFollPin(policy: string): boolean {
  const m = /^linux-(\d+)\.(\d+)/.exec(policy);
  if (!m) return false;
  const major = Number(m[1]), minor = Number(m[2]);
  return major > 5 || (major === 5 && minor >= 7);
}

function pfnOf(c: ChainEvent): number | undefined {
  return c.pfn ?? num(c.fields, 'pfn');
}

/** `f:0` for a file page, or undefined. */
function fileIndex(f: Fields): string | undefined {
  const file = str(f, 'file');
  const index = num(f, 'index');
  return file && index !== undefined && index >= 0 ? `${file}:${index}` : undefined;
}

/** `pfn 0x1 (f:0)`, `pfn 0x5 (app va 0x7f…)` or `pfn 0x1`. */
function pfnWhere(c: ChainEvent, withVa = false): string {
  const pfn = pfnOf(c);
  const p = pfn !== undefined && pfn >= 0 ? `pfn ${hex(pfn)}` : 'a page';
  const fi = fileIndex(c.fields);
  if (fi) return `${p} (${fi})`;
  const mm = str(c.fields, 'mm'), va = num(c.fields, 'va');
  if (withVa && mm && va !== undefined) return `${p} (${mm} va ${hex(va)})`;
  return p;
}

/** `pfn 0x1`, without where it belongs. */
function pfnOnly(c: ChainEvent): string {
  const pfn = pfnOf(c);
  return pfn !== undefined && pfn >= 0 ? `pfn ${hex(pfn)}` : 'a page';
}

function mmVa(f: Fields): string {
  const mm = str(f, 'mm') ?? '?';
  const va = num(f, 'va');
  return va === undefined ? mm : `${mm} va ${hex(va)}`;
}

function range(f: Fields): string {
  const s = num(f, 'start'), e = num(f, 'end');
  return s !== undefined && e !== undefined ? ` [${hex(s)}, ${hex(e)})` : '';
}

/** The first step of @type in the chain. */
function stepOf(v: Violation, type: string): ChainEvent | undefined {
  return v.chain.find((c) => c.event === type);
}

/** Who a reallocated frame belongs to now, from the chain's folio_alloc (or the checker's message). */
function newOwner(v: Violation): string {
  const a = stepOf(v, 'folio_alloc');
  if (a) {
    const fi = fileIndex(a.fields);
    if (fi) return `${fi}'s page cache`;
    const o = str(a.fields, 'owner');
    if (o) return o;
  }
  const m = /reallocated to (\S+)/.exec(v.message);
  return m?.[1] ?? 'another owner';
}

const REASON: Record<string, string> = { truncate: 'truncate', punch_hole: 'punch-hole', reclaim: 'reclaim', invalidate: 'invalidation' };

/** dma_ref_get in the era's words: a FOLL_PIN pin, or a FOLL_GET reference and the API that took it. */
function refGet(c: ChainEvent, x: StoryCtx): string {
  const f = c.fields;
  const fnames = str(f, 'fnames');
  const pin = fnames !== undefined ? fnames.split('|').includes('FOLL_PIN') : flag(f, 'pin') || (x.follPin && flag(f, 'longterm'));
  const refcount = num(f, 'refcount');
  const rc = refcount !== undefined ? `, refcount ${refcount}` : '';
  if (pin) {
    // FOLL_WRITE says nothing the later access does not; the pin's own flags are the point.
    const names = (fnames ?? (flag(f, 'longterm') ? 'FOLL_PIN|FOLL_LONGTERM' : 'FOLL_PIN')).split('|').filter((n) => n !== 'FOLL_WRITE').join('|');
    return `${c.actor} pinned ${pfnWhere(c, true)} ${names}${rc}`;
  }
  const api = str(f, 'api') ?? (flag(f, 'longterm') ? (x.follPin ? 'get_user_pages(FOLL_LONGTERM)' : 'get_user_pages_longterm') : 'get_user_pages');
  return `${c.actor} took a FOLL_GET reference on ${pfnWhere(c, true)} via ${api}${rc}`;
}

function refPut(c: ChainEvent): string {
  const f = c.fields;
  const refcount = num(f, 'refcount');
  const rc = refcount !== undefined ? `, refcount ${refcount}` : '';
  const who = str(f, 'holder') ?? c.actor;
  if (flag(f, 'pin')) return `${who} unpinned ${pfnWhere(c)}${flag(f, 'dirty') ? ' with dirty (unpin_user_pages_dirty_lock)' : ''}${rc}`;
  return `${who} put its FOLL_GET reference on ${pfnWhere(c)}${flag(f, 'dirty') ? ' after set_page_dirty_lock' : ''}${rc}`;
}

/** The kind-specific meaning of the access the violation was reported at. */
function accessEnding(c: ChainEvent, x: StoryCtx): string {
  const f = c.fields;
  const v = x.v;
  switch (v.kind) {
    case 'lost-write': return `: the write never reaches ${str(f, 'file') || v.file || 'the file'}`;
    case 'dma-use-after-free': return ': the frame was freed';
    case 'dma-into-reused-page': return `: it now belongs to ${newOwner(v)}`;
    case 'stale-read': {
      const t = num(f, 'token'), cpu = num(f, 'cpuToken');
      return `: it read token ${t ?? '?'} where a CPU load would see token ${cpu ?? '?'}`;
    }
    case 'incoherent-mapping': {
      const cpuPfn = num(f, 'cpuPfn');
      const pte = x.prev?.event === 'pte_set' ? pfnOf(x.prev) : cpuPfn;
      return `: ${str(f, 'mm') ?? 'the process'}'s PTE there maps ${pte !== undefined && pte >= 0 ? `pfn ${hex(pte)}` : 'another frame'}`;
    }
    case 'access-after-release': return `: ${str(f, 'mm') ?? 'the mm'} was already released`;
    case 'dummy-page-dma': return ': that is the dummy page, so the data is gone';
    default: return f['ok'] === false ? ': the access failed' : '';
  }
}

/** dma_access: `nic0 dma_write 4K into pfn 0x1` (a page access of the DMA), then what it means. */
function dmaAccess(c: ChainEvent, x: StoryCtx): string {
  const f = c.fields;
  const write = flag(f, 'write');
  const op = str(f, 'op') ?? (write ? 'dma_write' : 'dma_read');
  const length = num(f, 'length') ?? PAGE_SIZE;
  const who = str(f, 'device') ?? c.actor;
  const pfn = pfnOf(c);
  const head = `${who} ${op} ${formatSize(length)} ${write ? 'into' : 'from'} ${pfn !== undefined && pfn >= 0 ? `pfn ${hex(pfn)}` : mmVa(f)}`;
  return head + (x.last ? accessEnding(c, x) : '');
}

function cpuAccess(c: ChainEvent, x: StoryCtx): string {
  const f = c.fields;
  const write = flag(f, 'write');
  const head = `${c.actor} ${write ? 'store' : 'load'} ${write ? 'into' : 'from'} ${pfnWhere(c)} through ${mmVa(f)}${flag(f, 'shared') ? ' (shared mapping)' : ''}`;
  return head + (x.last ? accessEnding(c, x) : '');
}

function subDone(c: ChainEvent, x: StoryCtx): string {
  const f = c.fields;
  const holder = str(f, 'holder') ?? c.actor;
  const event = str(f, 'event') ?? 'invalidation';
  const what = `${c.actor}'s ${event} of ${str(f, 'mm') ?? '?'}${range(f)}`;
  const id = num(f, 'id');
  const rid = id !== undefined ? ` (range ${id})` : '';
  if (f['ok'] === false) {
    const then = flag(f, 'blockable') ? 'the range is blockable, so the kernel WARNs and proceeds' : 'the non-blockable range is skipped';
    return `${holder} failed its invalidate for ${what}${rid}: ${then}`;
  }
  let end = '';
  if (x.last && x.v.kind === 'notifier-teardown-incomplete') {
    const p = x.prev;
    if (p?.event === 'dev_map') end = `, yet it still translates ${mmVa(p.fields)} to ${pfnWhere(p)}`;
    else if (p?.event === 'dev_dma_hold') end = `, yet its DMA ${str(p.fields, 'wr') ?? ''} is still in flight on ${pfnWhere(p)}`;
  }
  return `${holder} acknowledged ${what}${rid}${end}`;
}

function devMap(c: ChainEvent, x: StoryCtx): string {
  const f = c.fields;
  const who = str(f, 'device') ?? c.actor;
  const how = `${flag(f, 'write') ? '' : ' read-only'}${flag(f, 'holdsRef') ? ', holding a reference' : ''}`;
  const head = `${who} installed a translation of ${mmVa(f)} to ${pfnWhere(c)} in its page tables${how}`;
  if (!x.last || x.v.kind !== 'install-during-invalidation') return head;
  return head + (/was open/.test(x.v.message)
    ? ' while that invalidation was open'
    : ': from a snapshot taken before that invalidation, which mmu_interval_read_retry() would have refused');
}

function folioDirty(c: ChainEvent): string {
  const f = c.fields;
  const via = str(f, 'via') ?? '';
  const who = via.startsWith('unpin:') ? via.slice(6) : c.actor;
  const how = via.startsWith('unpin') ? 'set_page_dirty_lock() at unpin' : via;
  if (f['buffers'] === false) return `${who} dirtied ${pfnWhere(c)} behind the filesystem's back (${how}, no buffers)`;
  return `${who} dirtied ${pfnWhere(c)}${how ? ` via ${how}` : ''}`;
}

/**
 * cow_copy: do_wp_page() copied a page only its process maps, in the era's words: 5.9–5.18 reuse a
 * page only for a sole holder; from 5.19 an exclusive page, or a sole holder.
 */
function cowCopy(c: ChainEvent): string {
  const f = c.fields;
  const rc = num(f, 'refcount') ?? '?';
  const why = str(f, 'rule') === 'refcount'
    ? `refcount ${rc} shows another holder (5.9–5.18: a page is reused only for a sole holder)`
    : `it is not PageAnonExclusive and refcount ${rc} shows another holder`;
  const fault = flag(f, 'unshare') ? 'unshare fault' : 'write fault';
  return `${c.actor}'s ${fault} at ${mmVa(f)}: do_wp_page copied ${pfnOnly(c)} though only ${str(f, 'mm') ?? 'it'} maps it: ${why}`;
}

/** gup_cow: GUP faulted for COW's sake before taking its reference, in the era's words. */
function gupCow(c: ChainEvent): string {
  const f = c.fields;
  const who = str(f, 'holder') ?? c.actor;
  const pfn = num(f, 'pfn');
  const at = `${mmVa(f)}${pfn !== undefined && pfn >= 0 ? ` (${pfn === 0 ? 'the shared zero page' : `pfn ${hex(pfn)}`})` : ''}`;
  switch (str(f, 'reason')) {
    case 'force_cow_break': return `5.8: GUP broke COW: ${who}'s ${str(f, 'fnames') ?? 'GUP'} of ${at} write-faulted first`;
    case 'unshare_anon': return `R/O FOLL_PIN of a non-exclusive anon page: unshare fault at ${at} before ${who} pins it`;
    case 'unshare_longterm_cow': return `R/O FOLL_LONGTERM pin of a non-anonymous page in a COW mapping: unshare fault at ${at} before ${who} pins it (6.2)`;
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

/** clause() - one chain step in kernel words (without its `t=` prefix). */
function clause(c: ChainEvent, x: StoryCtx): string {
  const f = c.fields;
  switch (c.event) {
    case 'dma_ref_get': return refGet(c, x);
    case 'dma_ref_put': return refPut(c);
    case 'filemap_remove': {
      const reason = str(f, 'reason') ?? '';
      const refcount = num(f, 'refcount');
      const counts = refcount === undefined ? '' : ` (refcount ${refcount}${refcount > 0 ? ', orphaned' : ''})`;
      return `${c.actor} ${REASON[reason] ?? reason} removed ${pfnOnly(c)} from ${str(f, 'file') ?? 'its file'}'s page cache${counts}${movedTail(x)}`;
    }
    case 'filemap_add': {
      const rc = num(f, 'refcount');
      return `${c.actor} added ${pfnOnly(c)} to ${str(f, 'file') ?? '?'}'s page cache at index ${num(f, 'index') ?? '?'}${rc !== undefined ? ` (refcount ${rc})` : ''}`;
    }
    case 'folio_free': return `${c.actor} freed ${pfnWhere(c)} (refcount 0, back on the free list)${movedTail(x)}`;
    case 'folio_alloc': {
      const gen = num(f, 'gen');
      const fi = fileIndex(f);
      const owner = fi ? `${fi}'s page cache` : str(f, 'owner') ?? 'a new owner';
      return `${c.actor} ${gen !== undefined && gen > 1 ? 'reallocated' : 'allocated'} ${pfnOnly(c)} to ${owner}`;
    }
    case 'dma_access': return dmaAccess(c, x);
    case 'cpu_access': return cpuAccess(c, x);
    case 'pte_set': {
      const rc = num(f, 'refcount');
      return `${c.actor} mapped ${pfnWhere(c)} at ${mmVa(f)} (${flag(f, 'write') ? 'writable' : 'read-only'} PTE${rc !== undefined ? `, refcount ${rc}` : ''})`;
    }
    case 'pte_clear': return `${c.actor} zapped the PTE of ${mmVa(f)} mapping ${pfnWhere(c)}${flag(f, 'dirty') ? ' (dirty)' : ''}`;
    case 'dev_map': return devMap(c, x);
    case 'dev_unmap': return `${str(f, 'device') ?? c.actor} dropped its translation of ${mmVa(f)} to ${pfnWhere(c)}`;
    case 'dev_dma_hold': return `${str(f, 'device') ?? c.actor} started DMA ${str(f, 'wr') ?? ''} through ${mmVa(f)} (${pfnWhere(c)})`;
    case 'notifier_sub_done': return subDone(c, x);
    case 'notifier_start': {
      const tail = x.last && x.v.kind === 'notifier-unpaired' ? ', and never ended it' : '';
      const rid = `range ${num(f, 'id') ?? '?'}${f['blockable'] === false ? ', non-blockable' : ''}`;
      return `${c.actor} started ${str(f, 'event') ?? 'an invalidation'} of ${str(f, 'mm') ?? '?'}${range(f)} (${rid})${tail}`;
    }
    case 'notifier_end': return `${c.actor} ended range ${num(f, 'id') ?? '?'} (invalidate_range_end)`;
    case 'notifier_abort': return `a subscriber refused ${c.actor}'s non-blockable range ${num(f, 'id') ?? '?'} of ${str(f, 'mm') ?? '?'}`;
    case 'nonblock_slept': return `${str(f, 'holder') ?? c.actor} slept at ${str(f, 'site') ?? '?'} inside non-blockable range ${num(f, 'id') ?? '?'}`;
    case 'storage_write': return `${c.actor} wrote ${pfnWhere(c)} back to storage: writeback cleaned it`;
    case 'writeback_skip':
      return `${c.actor} writeback skipped dirty ${pfnWhere(c)}, which has no buffers: its data never reaches ${str(f, 'file') ?? 'the file'}`;
    case 'folio_buffers':
      return flag(f, 'attached') ? `${c.actor} attached buffers to ${pfnWhere(c)}` : `${c.actor} stripped the buffers of ${pfnWhere(c)}`;
    case 'folio_dirty': return folioDirty(c);
    case 'dummy_redirect': {
      const dummy = num(f, 'dummy');
      return `${str(f, 'device') ?? c.actor} was redirected from ${pfnWhere(c)} to the dummy page${dummy !== undefined ? ` pfn ${hex(dummy)}` : ''} (${mmVa(f)})`;
    }
    case 'folio_migrate': {
      const tail = x.last && x.v.kind === 'pinned-page-moved' ? ': the device keeps the old frame' : '';
      return `${c.actor} migrated ${mmVa(f)} from pfn ${hex(num(f, 'old') ?? -1)} to pfn ${hex(num(f, 'new') ?? -1)}${tail}`;
    }
    case 'kernel_warn': return `${c.actor} hit WARNING at ${str(f, 'site') ?? '?'}: ${str(f, 'dump') ?? ''}`;
    case 'kernel_bug': return `${c.actor} hit kernel BUG at ${str(f, 'site') ?? '?'}: ${str(f, 'dump') ?? ''}`;
    case 'op_start': return `${c.actor} started ${str(f, 'op') ?? '?'} (${str(f, 'name') ?? '?'})`;
    case 'op_end': {
      const b = num(f, 'blockedNs');
      return `${c.actor}'s ${str(f, 'op') ?? '?'} (${str(f, 'name') ?? '?'}) returned ${str(f, 'result') ?? '?'}${b ? ` after blocking ${formatTime(b)}` : ''}`;
    }
    case 'op_blocked': {
      const wq = str(f, 'wq');
      return `${c.actor}'s ${str(f, 'op') ?? '?'} (${str(f, 'name') ?? '?'}) is still blocked when the run ends${wq ? `, waiting on ${wq}` : ''}`;
    }
    case 'cow_copy': return cowCopy(c);
    case 'gup_cow': return gupCow(c);
    case 'mr_revoked': return `${str(f, 'device') ?? c.actor} had MR ${str(f, 'mr') ?? '?'} revoked (its QP in error, its references dropped)`;
    case 'device_dead': return `${str(f, 'device') ?? c.actor} was declared dead (${str(f, 'reason') ?? '?'})`;
    case 'iommu_fault': return `${str(f, 'device') ?? c.actor} faulted at its IOMMU on IOVA ${hex(num(f, 'iova') ?? -1)} (${pfnWhere(c)})`;
    case 'lease_break': return `${c.actor} broke ${str(f, 'holder') ?? '?'}'s ${str(f, 'lease') ?? ''} lease on ${str(f, 'file') ?? '?'}`;
    case 'truncate_wait': return `${c.actor} waits for ${num(f, 'refs') ?? '?'} long-term DMA reference(s) on ${str(f, 'file') ?? '?'} to go`;
    case 'frame_final':
      return `${pfnWhere(c)} ended the run with refcount ${num(f, 'refcount') ?? '?'}, pincount ${num(f, 'pincount') ?? '?'}, mapcount ${num(f, 'mapcount') ?? '?'}`;
    case 'vmstat_final':
      return `the run ended with nr_foll_pin_acquired ${num(f, 'nr_foll_pin_acquired') ?? '?'}, nr_foll_pin_released ${num(f, 'nr_foll_pin_released') ?? '?'}`;
    default: return generic(c);
  }
}

/**
 * tellChain() - @v's causal chain as a story in kernel words, in @policy's era: one clause per step,
 * each `t=<time> <who did what>`, joined by " → ". Under linux-5.7:
 * "t=350ns nic0 pinned pfn 0x1 (f:0) FOLL_PIN|FOLL_LONGTERM, refcount 1026 → t=20.3µs admin truncate
 * removed pfn 0x1 from f's page cache (refcount 1024, orphaned) → t=30µs nic0 dma_write 4K into pfn
 * 0x1: the write never reaches f".
 */
export function tellChain(v: Violation, policy: string): string {
  const follPin = eraHasFollPin(policy);
  return v.chain
    .map((c, i) => `t=${formatTime(c.time)} ${clause(c, { v, follPin, prev: v.chain[i - 1], last: i === v.chain.length - 1 })}`)
    // The arrow separates clauses; a clause (a WARN dump, say) never carries one of its own.
    .map((s) => s.replaceAll(' → ', ' -> '))
    .join(' → ');
}
