/**
 * The soak's sanity books know large folios: a tail page is live while its folio is, a page split
 * off is a folio of its own, and freeing a folio while a PTE maps one of its tail pages is caught.
 */
import { describe, expect, it } from 'vitest';
import { sanityRun } from '../../scripts/fuzz-sanity.mjs';
import { runScenario } from '../../src/scenario/run/run.js';

/** A runScenario stand-in that plays @events to the trace and ends the run cleanly. */
function playing(events: Record<string, unknown>[]) {
  return (_s: unknown, opts: { trace: (e: unknown) => void }) => {
    for (const e of events) opts.trace(e);
    opts.trace({ type: 'run_end', time: 9, actor: 'kernel', crashed: false });
    return { outcome: 'pass', violations: [], results: {} };
  };
}

const alloc = { type: 'folio_alloc', time: 1, actor: 'a', pfn: 16, gen: 1, owner: 'file', nr: 16 };
const mapTail = { type: 'pte_set', time: 2, actor: 'a', mm: 'a', va: 0x10000, pfn: 17, write: false, refcount: 2, head: 16 };

describe('fuzz sanity over large folios', () => {
  it('a PTE to a tail page of a live folio is sane; freeing the folio while it is mapped is not', () => {
    const kinds = (evs: Record<string, unknown>[]) => sanityRun(playing(evs), { actors: {} }).failures.map((f: { kind: string }) => f.kind);
    expect(kinds([alloc, mapTail])).not.toContain('pte-to-free-frame');
    const free = { type: 'folio_free', time: 3, actor: 'a', pfns: Int32Array.of(16), nrs: Int32Array.of(16) };
    expect(kinds([alloc, mapTail, free])).toContain('pte-to-free-frame');
  });

  it('a page split off is freed on its own without a double free', () => {
    const split = { type: 'folio_split', time: 3, actor: 'a', pfn: 17, head: 16, refs: 1, moved: 0 };
    const free17 = { type: 'folio_free', time: 4, actor: 'a', pfns: Int32Array.of(17) };
    const kinds = sanityRun(playing([alloc, split, free17]), { actors: {} }).failures.map((f: { kind: string }) => f.kind);
    expect(kinds).not.toContain('frame-double-free');
    expect(sanityRun(playing([alloc, free17]), { actors: {} }).failures.map((f: { kind: string }) => f.kind)).toContain('frame-double-free');
  });

  it('a real run: a 2 MiB tmpfs folio mapped shared, part of it punched by MADV_REMOVE, stays sane', () => {
    const s = {
      name: 'tmpfs-large-folio-madv-remove', kernel: { policy: 'linux-6.12' }, files: { f: { fs: 'tmpfs', size: '25p', folioSize: '2M' } },
      actors: { a: [
        { op: 'mmap', length: '16p', prot: 'rw', file: 'f', flags: ['shared', 'populate'], as: 'm' },
        { op: 'madvise', addr: 'm', length: '3p', advice: 'remove' },
      ] },
    };
    const { result, failures } = sanityRun(runScenario, s);
    expect(failures).toEqual([]);
    expect(result?.results['a.1']).toBe('ok');
  });
});
