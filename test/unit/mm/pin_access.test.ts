/**
 * pin_read / pin_write (mm/pin_access.ts): a kernel GUP user reading and writing through the
 * references it holds — offset from the gup's own addr + offset, EINVAL out of range or after unpin,
 * one CPU load/store time per page, no dirtying — and the invariants judging those accesses as the
 * reference holder's, against the pinning process's mm.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_TIMING } from '../../../src/mm/timing.js';
import type { MmEventOf, MmTraceEvent } from '../../../src/mm/trace_events.js';
import { runScenario } from '../../../src/scenario/run/run.js';

function run(s: unknown, policy = 'linux-6.12') {
  const evs: MmTraceEvent[] = [];
  const r = runScenario(s, { policy, trace: (e) => evs.push(e) });
  return { r, evs, of: <T extends MmTraceEvent['type']>(t: T) => evs.filter((e): e is MmEventOf<T> => e.type === t) };
}

const anon = (ops: unknown[], extra: Record<string, unknown> = {}) => ({
  name: 'pin-access', kernel: { memory: '64M' }, ...extra,
  actors: {
    app: [
      { op: 'mmap', length: '16K', prot: 'rw', flags: ['private'], as: 'buf' },
      { op: 'store', addr: 'buf', length: '16K', as: 'old' },
      ...ops,
    ],
  },
});

describe('pin_read and pin_write: the buffer the gup took', () => {
  it('offset counts from the gup\'s addr + offset; each page costs one CPU access; beyond the buffer or after unpin: EINVAL', () => {
    const { r, of } = run(anon([
      // The buffer is [buf + 2K, buf + 10K): three pages.
      { op: 'gup', addr: 'buf', offset: '2K', length: '8K', flags: ['pin', 'write'], as: 'dio' },
      { op: 'pin_write', pins: 'dio', offset: '6K', length: '2K', as: 'w' },
      { op: 'load', addr: 'buf', offset: '8K', length: '4K', as: 'cpu8k' },
      { op: 'load', addr: 'buf', offset: '4K', length: '4K', as: 'cpu4k' },
      { op: 'pin_read', pins: 'dio', offset: 100, length: 8092, as: 'r3' },
      { op: 'pin_read', pins: 'dio', offset: 1, length: '8K', as: 'beyond' },
      { op: 'unpin', pins: 'dio' },
      { op: 'pin_read', pins: 'dio', length: 1, as: 'after' },
    ]));
    expect(r.observed).toMatchObject({ cpu8k: 'w', cpu4k: 'old', r3: 'mixed' });
    expect(r.results).toMatchObject({ w: 'ok', r3: 'ok', beyond: 'EINVAL', after: 'EINVAL' });
    const t = r.ops['r3']!;
    expect(t.end - t.start).toBe(3 * DEFAULT_TIMING.cpuAccessPerPage);
    const acc = of('dma_access').filter((e) => e.wr === 'r3');
    expect(acc.map((e) => e.length)).toEqual([4096 - 2148, 4096, 2048]);
    expect(acc.every((e) => e.device === 'app' && e.op === 'pin_read' && e.mm === 'app')).toBe(true);
  });

  it('pin_write does not dirty the folio; unpin with dirty does, and only then does writeback store it', () => {
    const { r, of } = run({
      name: 'pin-write-dirty', kernel: { memory: '64M' }, files: { f: { fs: 'ext4', size: '4K' } },
      actors: {
        app: [
          { op: 'mmap', file: 'f', length: '4K', prot: 'rw', flags: ['shared'], as: 'buf' },
          { op: 'load', addr: 'buf', length: '4K' },
          { op: 'gup', addr: 'buf', length: '4K', flags: ['pin', 'write'], as: 'dio' },
          { op: 'writeback_now', file: 'f', as: 'wb0' },
          { op: 'pin_write', pins: 'dio', length: '4K', as: 'odirect' },
          { op: 'writeback_now', file: 'f', as: 'wb1' },
          { op: 'unpin', pins: 'dio', dirty: true, as: 'put' },
          { op: 'writeback_now', file: 'f', as: 'wb2' },
          { op: 'pread', file: 'f', length: '4K', as: 'seen' },
        ],
      },
    });
    const token = of('dma_access').find((e) => e.wr === 'odirect')!.token;
    const stores = of('storage_write').map((e) => e.token);
    const dirtied = of('folio_dirty').map((e) => e.via);
    expect(dirtied.filter((v) => v.startsWith('unpin'))).toHaveLength(1);
    expect(stores.at(-1)).toBe(token);
    expect(stores.filter((t) => t === token)).toHaveLength(1);
    expect(r.observed['seen']).toBe('odirect');
  });
});

describe('pin_read and pin_write: judged as the reference holder\'s accesses', () => {
  it('incoherent-mapping names the actor whose gup took the reference, not the one reading', () => {
    const s = {
      name: 'pin-incoherent', kernel: { memory: '64M' },
      actors: {
        app: [
          { op: 'mmap', length: '4K', prot: 'rw', flags: ['private'], as: 'buf' },
          { op: 'store', addr: 'buf', length: '4K', as: 'old' },
          { op: 'gup', addr: 'buf', length: '4K', flags: ['get'], as: 'pipe' },
          { op: 'madvise', addr: 'buf', length: '4K', advice: 'dontneed' },
          { op: 'store', addr: 'buf', length: '4K', as: 'new' },
        ],
        reader: [{ op: 'pin_read', pins: 'pipe', length: '4K', at: '50us', as: 'seen' }],
      },
    };
    const { r } = run(s);
    expect(r.observed['seen']).toBe('old');
    expect(r.violations.map((v) => [v.kind, v.actor])).toEqual([['incoherent-mapping', 'app']]);
  });

  it('stale-read where the process has no PTE there any more (MADV_DONTNEED): a CPU load would see zero', () => {
    const { r } = run(anon([
      { op: 'gup', addr: 'buf', length: '4K', flags: ['pin'], as: 'pin' },
      { op: 'madvise', addr: 'buf', length: '4K', advice: 'dontneed' },
      { op: 'pin_read', pins: 'pin', length: '4K', as: 'seen' },
    ]));
    expect(r.observed['seen']).toBe('old');
    expect(r.violations.map((v) => v.kind)).toEqual(['stale-read']);
  });

  it('lost-write: a pin_write into a file page truncate removed while the GUP user held it', () => {
    const { r } = run({
      name: 'pin-lost-write', kernel: { memory: '64M' }, files: { f: { fs: 'tmpfs', size: '4K' } },
      actors: {
        app: [
          { op: 'mmap', file: 'f', length: '4K', prot: 'rw', flags: ['shared'], as: 'buf' },
          { op: 'gup', addr: 'buf', length: '4K', flags: ['pin', 'write'], as: 'dio' },
          { op: 'ftruncate', file: 'f', length: 0 },
          { op: 'pin_write', pins: 'dio', length: '4K', as: 'late' },
          { op: 'unpin', pins: 'dio', dirty: true },
        ],
      },
    });
    expect(r.violations.map((v) => [v.kind, v.actor])).toEqual([['lost-write', 'app']]);
  });

  it('no violation when the holder reads what the process maps', () => {
    const { r } = run(anon([
      { op: 'gup', addr: 'buf', length: '16K', flags: ['pin', 'longterm'], as: 'pin' },
      { op: 'pin_read', pins: 'pin', length: '16K', as: 'seen' },
    ]));
    expect(r.observed['seen']).toBe('old');
    expect(r.violations).toEqual([]);
  });
});
