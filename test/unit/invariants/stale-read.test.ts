import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { feed, filemapRemoveOf } from './fixtures.js';
import type { ViolationReport } from '../../../src/invariants/checker.js';
import { stale_read } from '../../../src/invariants/stale-read.js';
import type { MmEventOf, MmTraceEvent } from '../../../src/mm/trace_events.js';
import { runScenario } from '../../../src/scenario/run/run.js';

const example = (name: string) => JSON.parse(readFileSync(new URL(`../../../examples/${name}.json`, import.meta.url), 'utf8'));

function check(evs: MmTraceEvent[]): ViolationReport[] {
  const out: ViolationReport[] = [];
  out.push(...feed(stale_read, evs, { policy: 'linux-4.20' }));
  return out;
}

const VA = 0x7effffffc000;
const ref = (time: number, pfn: number): MmEventOf<'dma_ref_get'> => ({
  type: 'dma_ref_get', time, actor: 'nic0', ref: 1, holder: 'nic0', api: 'get_user_pages_longterm', mm: 'app', va: VA, pfn, gen: 1,
  file: 'f', index: 1, flags: 0, fnames: 'FOLL_GET|FOLL_LONGTERM|FOLL_WRITE', longterm: true, pin: false, refs: 1, refcount: 3, pincount: 0,
});
const remove = (time: number, pfn: number): MmEventOf<'filemap_remove'> => filemapRemoveOf(time, 'admin', 'f', 1, pfn, 1, 'punch_hole');
/** A NIC read of @pfn that returned @token where a CPU load would see @cpuToken through @cpuPfn (-1: no PTE). */
const read = (time: number, pfn: number, token: number, cpuPfn: number, cpuToken: number, o: Partial<MmEventOf<'dma_access'>> = {}): MmEventOf<'dma_access'> => ({
  type: 'dma_access', op: 'dma_write', length: 4096, time, actor: 'nic0', wr: 'r', device: 'nic0', mm: 'app', va: VA, pfn, gen: 1, file: 'f', index: 1,
  write: false, token, ok: true, cpuPfn, cpuToken, ...o,
});

describe('stale-read (synthetic trace)', () => {
  it('fires when a device read returns other content than a CPU load would (punch-hole orphan: no PTE, the file reads zero)', () => {
    const r = check([ref(0, 5), remove(10, 5), read(20, 5, 7, -1, 0)]);
    expect(r).toHaveLength(1);
    expect(r[0]).toMatchObject({ kind: 'stale-read', pfn: 5, actor: 'nic0', file: 'f', index: 1, time: 20 });
    expect(r[0]!.chain.map((c) => c.event)).toEqual(['dma_ref_get', 'filemap_remove', 'dma_access']);
  });

  it('fires when the CPU maps the same frame but would see other content', () => {
    expect(check([read(20, 5, 7, 5, 8)])).toHaveLength(1);
  });

  it('does not fire when the device read sees what a CPU load would', () => {
    expect(check([ref(0, 5), read(20, 5, 7, 5, 7), read(30, 5, 0, -1, 0)])).toEqual([]);
  });

  it('does not fire for a device write', () => {
    expect(check([read(20, 5, 7, -1, 0, { write: true })])).toEqual([]);
  });

  it('is not checked where a CPU load is undefined: no VMA, or beyond EOF (cpuToken -1)', () => {
    expect(check([ref(0, 5), remove(10, 5), read(20, 5, 7, -1, -1)])).toEqual([]);
  });

  it('leaves an access whose CPU PTE maps another frame to incoherent-mapping', () => {
    expect(check([read(20, 5, 7, 9, 8)])).toEqual([]);
  });
});

describe('stale-read (scenarios)', () => {
  const kinds = (r: { violations: { kind: string }[] }) => r.violations.map((v) => v.kind);

  it('punch-hole under a classic MR, then a NIC read of the orphaned page, fires stale-read and not incoherent-mapping', () => {
    const r = runScenario(example('gup-nic-punch-hole'), { policy: 'linux-4.20' });
    expect(r.observed['nicread']).toBe('w2');
    expect(r.observed['fileread']).toBe('zero');
    const v = r.violations.filter((x) => x.kind === 'stale-read');
    expect(v).toHaveLength(1);
    expect(v[0]).toMatchObject({ actor: 'nic0', file: 'f', index: 1 });
    expect(kinds(r)).not.toContain('incoherent-mapping');
  });

  const truncateThenRead = (offset: string) => ({
    name: 'gup-nic-read-after-truncate',
    kernel: { policy: 'linux-4.20', memory: '64M' },
    files: { f: { fs: 'ext4', size: '16K' } },
    devices: { nic0: { model: 'gup-nic' } },
    actors: {
      app: [
        { op: 'mmap', file: 'f', length: '16K', prot: 'rw', flags: ['shared'], as: 'buf' },
        { op: 'store', addr: 'buf', length: '16K', as: 's1' },
        { op: 'reg_mr', device: 'nic0', addr: 'buf', length: '16K', access: 'rw', as: 'mr' },
        { op: 'dma_read', mr: 'mr', offset, length: '4K', at: '20us', as: 'nicsaw' },
        { op: 'dereg_mr', mr: 'mr' },
      ],
      admin: [{ op: 'ftruncate', file: 'f', length: '4K', at: '10us' }],
    },
  });

  it('a NIC read beyond EOF after truncate is not checked (a CPU load there would SIGBUS)', () => {
    const cpu: number[] = [];
    const r = runScenario(truncateThenRead('8K'), { policy: 'linux-4.20', trace: (e) => { if (e.type === 'dma_access') cpu.push(e.cpuToken); } });
    expect(r.results['admin.0']).toBe('ok');
    expect(r.results['nicsaw']).toBe('ok');
    expect(r.observed['nicsaw']).toBe('s1');
    expect(cpu).toEqual([-1]);
    expect(kinds(r)).not.toContain('stale-read');
  });

  it('a NIC read below the new EOF of a page the truncate kept does not fire', () => {
    const r = runScenario(truncateThenRead('0'), { policy: 'linux-4.20' });
    expect(r.observed['nicsaw']).toBe('s1');
    expect(kinds(r)).not.toContain('stale-read');
  });

  it.each(['linux-4.20', 'linux-6.12'])('a clean NIC read of anonymous memory the CPU also sees does not fire under %s, before or after a CPU store', (policy) => {
    const r = runScenario({
      name: 'gup-nic-clean-read',
      kernel: { policy, memory: '64M' },
      devices: { nic0: { model: 'gup-nic' } },
      actors: {
        app: [
          { op: 'mmap', length: '8K', prot: 'rw', flags: ['private'], as: 'buf' },
          { op: 'store', addr: 'buf', length: '8K', as: 's1' },
          { op: 'reg_mr', device: 'nic0', addr: 'buf', length: '8K', access: 'rw', as: 'mr' },
          { op: 'dma_read', mr: 'mr', offset: 0, length: '8K', as: 'r1' },
          { op: 'store', addr: 'buf', length: '4K', as: 's2' },
          { op: 'dma_read', mr: 'mr', offset: 0, length: '4K', as: 'r2' },
          { op: 'dereg_mr', mr: 'mr' },
        ],
      },
    }, { policy });
    expect(r.observed['r1']).toBe('s1');
    expect(r.observed['r2']).toBe('s2');
    expect(r.violations).toEqual([]);
  });

  it('a read-only MR over a shared ext4 mapping under linux-6.12 reads what the CPU stored: no stale-read', () => {
    const r = runScenario({
      name: 'gup-nic-clean-file-read',
      kernel: { policy: 'linux-6.12', memory: '64M' },
      files: { f: { fs: 'ext4', size: '8K' } },
      devices: { nic0: { model: 'gup-nic' } },
      actors: {
        app: [
          { op: 'mmap', file: 'f', length: '8K', prot: 'rw', flags: ['shared'], as: 'buf' },
          { op: 'reg_mr', device: 'nic0', addr: 'buf', length: '8K', access: 'r', as: 'mr' },
          { op: 'dma_read', mr: 'mr', offset: 0, length: '4K', as: 'r0' },
          { op: 'store', addr: 'buf', length: '4K', as: 's1' },
          { op: 'fsync', file: 'f' },
          { op: 'dma_read', mr: 'mr', offset: 0, length: '4K', as: 'r1' },
          { op: 'dereg_mr', mr: 'mr' },
        ],
      },
    }, { policy: 'linux-6.12' });
    expect(r.results['mr']).toBe('ok');
    expect(r.observed['r0']).toBe('zero');
    expect(r.observed['r1']).toBe('s1');
    expect(r.violations).toEqual([]);
  });
});
