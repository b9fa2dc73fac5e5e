/**
 * block-truncate (DESIGN §7b, the thread's S1): truncate and punch-hole unmap, then wait with no page
 * lock held until no long-term DMA reference holds the range; short-term references and unpinned
 * pages behave as linux-4.20.
 */
import { describe, expect, it } from 'vitest';
import type { MmChainEvent, MmTraceEvent } from '../../../src/mm/trace_events.js';
import { pagesOfType } from '../../helpers/pages.js';
import type { RunResult } from '../../../src/scenario/run/result.js';
import { runScenario } from '../../../src/scenario/run/run.js';

const US = 1000;

function run(s: unknown, policy = 'block-truncate'): { r: RunResult; evs: MmTraceEvent[] } {
  const evs: MmTraceEvent[] = [];
  const r = runScenario(s, { policy, trace: (e) => evs.push(e) });
  return { r, evs };
}
const kinds = (r: RunResult) => [...new Set(r.violations.map((v) => v.kind))].sort();
const of = <T extends MmChainEvent['type']>(evs: MmTraceEvent[], type: T) => pagesOfType(evs, type);

/** A classic MR pins a shared ext4 mapping; admin truncates (or punches) the file at 20 µs. */
function mrScenario(o: { dereg?: string | null; cut?: 'truncate' | 'punch'; kernel?: Record<string, unknown> } = {}) {
  const app: unknown[] = [
    { op: 'mmap', file: 'f', length: '64K', prot: 'rw', flags: ['shared'], as: 'buf' },
    { op: 'reg_mr', device: 'nic0', addr: 'buf', length: '64K', access: 'rw', as: 'mr' },
    { op: 'dma_write', mr: 'mr', offset: 0, length: '4K', at: '10us', as: 'w1' },
    { op: 'dma_write', mr: 'mr', offset: 0, length: '4K', at: '30us', as: 'w2' },
  ];
  if (o.dereg !== null) app.push({ op: 'dereg_mr', mr: 'mr', at: o.dereg ?? '50us', as: 'dereg' });
  const cut = o.cut === 'punch'
    ? { op: 'fallocate', file: 'f', mode: 'punch_hole', offset: 0, length: '16K', at: '20us', as: 'cut' }
    : { op: 'ftruncate', file: 'f', length: 0, at: '20us', as: 'cut' };
  return {
    name: 'block-truncate-unit', kernel: { memory: '64M', ...o.kernel }, files: { f: { fs: 'ext4', size: '64K' } },
    devices: { nic0: { model: 'gup-nic' } }, actors: { app, admin: [cut] },
  };
}

describe('block-truncate: truncate waits for long-term DMA references', () => {
  it('truncate of pages a classic MR pins blocks until dereg_mr, then removes them: the NIC write in between reaches the file', () => {
    const { r, evs } = run(mrScenario());
    expect(r.results['cut']).toBe('ok');
    expect(r.ops['cut']!.blockedNs).toBeGreaterThanOrEqual(25 * US);
    // It completes only once dereg_mr has released the MR's references.
    expect(r.ops['cut']!.end).toBeGreaterThanOrEqual(r.ops['dereg']!.start);
    expect(r.results['w2']).toBe('ok');
    expect(kinds(r)).toEqual([]);
    const wait = of(evs, 'truncate_wait');
    expect(wait).toHaveLength(1);
    expect(wait[0]).toMatchObject({ file: 'f', policy: 'block-truncate', refs: 1 });
    // i_size changes only after the wait: after the NIC's last write and the dereg.
    const isize = of(evs, 'i_size')[0]!;
    expect(isize.time).toBeGreaterThanOrEqual(r.ops['w2']!.end);
    expect(isize.time).toBeGreaterThanOrEqual(r.ops['dereg']!.start);
  });

  it('the same scenario under linux-4.20 does not wait: truncate orphans the pinned page and the NIC write is lost', () => {
    const { r, evs } = run(mrScenario(), 'linux-4.20');
    expect(r.ops['cut']!.blockedNs).toBe(0);
    expect(r.ops['cut']!.end).toBeLessThan(30 * US);
    expect(of(evs, 'truncate_wait')).toEqual([]);
    expect(kinds(r)).toEqual(['lost-write']);
  });

  it('punch-hole of pinned pages waits for dereg_mr as truncate does', () => {
    const { r, evs } = run(mrScenario({ cut: 'punch' }));
    expect(r.results['cut']).toBe('ok');
    expect(r.ops['cut']!.blockedNs).toBeGreaterThanOrEqual(25 * US);
    expect(of(evs, 'truncate_wait')).toHaveLength(1);
    expect(kinds(r)).toEqual([]);
  });

  it('an MR never deregistered leaves the truncate blocked at the end of the run: hang', () => {
    const { r } = run(mrScenario({ dereg: null }));
    expect(r.results['cut']).toBe('blocked');
    expect(kinds(r)).toEqual(['hang']);
    expect(r.violations.find((v) => v.kind === 'hang')!.message).toMatch(/block-truncate:wait_for_unpin|still blocked/);
  });

  it('does not wait when nothing holds a long-term reference on the file', () => {
    const s = {
      name: 'no-pin', kernel: { memory: '64M' }, files: { f: { fs: 'ext4', size: '64K' } },
      actors: {
        app: [
          { op: 'mmap', file: 'f', length: '64K', prot: 'rw', flags: ['shared'], as: 'buf' },
          { op: 'store', addr: 'buf', length: '64K', as: 's' },
        ],
        admin: [{ op: 'ftruncate', file: 'f', length: 0, at: '20us', as: 'cut' }],
      },
    };
    const { r, evs } = run(s);
    expect(r.results['cut']).toBe('ok');
    expect(r.ops['cut']!.blockedNs).toBe(0);
    expect(of(evs, 'truncate_wait')).toEqual([]);
    expect(kinds(r)).toEqual([]);
  });

  it('a short-term gup (O_DIRECT-style FOLL_PIN, no FOLL_LONGTERM) held across the truncate does not make it wait', () => {
    const s = {
      name: 'short-term', kernel: { memory: '64M' }, files: { f: { fs: 'ext4', size: '64K' } },
      actors: {
        app: [
          { op: 'mmap', file: 'f', length: '64K', prot: 'rw', flags: ['shared'], as: 'buf' },
          { op: 'gup', addr: 'buf', length: '16K', flags: ['pin', 'write'], as: 'dio' },
          { op: 'unpin', pins: 'dio', at: '50us', as: 'dio_done' },
        ],
        admin: [{ op: 'ftruncate', file: 'f', length: 0, at: '20us', as: 'cut' }],
      },
    };
    const { r, evs } = run(s);
    expect(r.results['dio']).toBe('ok');
    expect(r.results['cut']).toBe('ok');
    expect(r.ops['cut']!.blockedNs).toBe(0);
    expect(r.ops['cut']!.end).toBeLessThan(r.ops['dio_done']!.start);
    expect(of(evs, 'truncate_wait')).toEqual([]);
    // As in 4.20, the short-term-referenced pages leave the page cache while referenced.
    expect(of(evs, 'filemap_remove').some((e) => e.reason === 'truncate' && e.refcount > 0)).toBe(true);
  });

  it('a long-term gup pin by a kernel GUP user (not a device) also holds the truncate until unpinned', () => {
    const s = {
      name: 'kernel-longterm', kernel: { memory: '64M' }, files: { f: { fs: 'ext4', size: '64K' } },
      actors: {
        app: [
          { op: 'mmap', file: 'f', length: '64K', prot: 'rw', flags: ['shared'], as: 'buf' },
          { op: 'gup', addr: 'buf', length: '16K', flags: ['pin', 'longterm', 'write'], as: 'fixed' },
          { op: 'unpin', pins: 'fixed', at: '50us', as: 'unpinned' },
        ],
        admin: [{ op: 'ftruncate', file: 'f', length: 0, at: '20us', as: 'cut' }],
      },
    };
    const { r } = run(s);
    expect(r.results['cut']).toBe('ok');
    expect(r.ops['cut']!.blockedNs).toBeGreaterThanOrEqual(25 * US);
    expect(r.ops['cut']!.end).toBeGreaterThanOrEqual(r.ops['unpinned']!.end);
  });
});
