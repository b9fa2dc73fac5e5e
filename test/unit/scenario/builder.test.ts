import { describe, it, expect } from 'vitest';
import { scenario } from '../../../src/scenario/format/builder.js';
import { validationContext } from '../../../src/scenario/format/context.js';
import { validateScenario } from '../../../src/scenario/format/validate.js';
import type { MmapFlag } from '../../../src/scenario/format/types.js';
import { defaultRegistry } from '../../../src/scenario/registry.js';

const ctx = validationContext(defaultRegistry());

/** The DESIGN §5 example, written with the builder. */
function designExample() {
  return scenario('gup-nic-truncate')
    .description('A classic RDMA MR pins a shared ext4 mapping; another process truncates the file.')
    .kernel({ policy: 'linux-4.20', memory: '64M' })
    .file('f', { fs: 'ext4', size: '64K' })
    .device('nic0', { model: 'gup-nic' })
    .actor('app', [
      { op: 'mmap', file: 'f', length: '64K', prot: 'rw', flags: ['shared'], as: 'buf' },
      { op: 'reg_mr', device: 'nic0', addr: 'buf', length: '64K', access: 'rw', as: 'mr' },
      { op: 'dma_write', mr: 'mr', offset: 0, length: '4K', at: '10us', as: 'w1' },
      { op: 'dma_write', mr: 'mr', offset: 0, length: '4K', at: '30us', as: 'w2' },
      { op: 'dereg_mr', mr: 'mr', at: '50us' },
    ])
    .actor('admin', [{ op: 'ftruncate', file: 'f', length: 0, at: '20us' }])
    .expect({ violations: ['lost-write'], results: { 'admin.0': 'ok' } })
    .expectByPolicy('linux-6.12', { violations: [], results: { mr: 'EFAULT' } })
    .expectByPolicy('block-truncate', { violations: [], results: { 'admin.0': 'ok' }, blockedAtLeast: { 'admin.0': '25us' } });
}

describe('scenario() builder', () => {
  it('produces exactly the JSON form of the DESIGN §5 example', () => {
    expect(designExample().build()).toEqual({
      name: 'gup-nic-truncate',
      description: 'A classic RDMA MR pins a shared ext4 mapping; another process truncates the file.',
      kernel: { policy: 'linux-4.20', memory: '64M' },
      files: { f: { fs: 'ext4', size: '64K' } },
      devices: { nic0: { model: 'gup-nic' } },
      actors: {
        app: [
          { op: 'mmap', file: 'f', length: '64K', prot: 'rw', flags: ['shared'], as: 'buf' },
          { op: 'reg_mr', device: 'nic0', addr: 'buf', length: '64K', access: 'rw', as: 'mr' },
          { op: 'dma_write', mr: 'mr', offset: 0, length: '4K', at: '10us', as: 'w1' },
          { op: 'dma_write', mr: 'mr', offset: 0, length: '4K', at: '30us', as: 'w2' },
          { op: 'dereg_mr', mr: 'mr', at: '50us' },
        ],
        admin: [{ op: 'ftruncate', file: 'f', length: 0, at: '20us' }],
      },
      expect: { violations: ['lost-write'], results: { 'admin.0': 'ok' } },
      expectByPolicy: {
        'linux-6.12': { violations: [], results: { mr: 'EFAULT' } },
        'block-truncate': { violations: [], results: { 'admin.0': 'ok' }, blockedAtLeast: { 'admin.0': '25us' } },
      },
    });
  });

  it('builds data that survives a JSON round trip and validates', () => {
    const data = designExample().build();
    expect(JSON.parse(JSON.stringify(data))).toEqual(data);
    const r = validateScenario(data, ctx);
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.scenario.actors['app']?.ops[2]).toMatchObject({ at: 10_000, length: 4096 });
  });

  it('writes an actor of another process as { process, ops }, and takes that JSON form too', () => {
    const data = scenario('t').actor('t2', [{ op: 'sleep', duration: '1us' }], { process: 'app' }).build();
    expect(data.actors).toEqual({ t2: { process: 'app', ops: [{ op: 'sleep', duration: '1us' }] } });
    const json = scenario('t').actor('t2', { process: 'app', ops: [{ op: 'sleep', duration: '1us' }] }).build();
    expect(json.actors).toEqual(data.actors);
  });

  it('merges kernel settings and keeps each step immutable, so a base can be extended twice', () => {
    const base = scenario('base').kernel({ policy: 'linux-6.12' }).file('f', { fs: 'xfs', size: '4K', dax: true });
    const a = base.kernel({ memory: '1M' }).actor('a', [{ op: 'exit' }]).build();
    const b = base.actor('b', [{ op: 'exit' }]).build();
    expect(a.kernel).toEqual({ policy: 'linux-6.12', memory: '1M' });
    expect(b.kernel).toEqual({ policy: 'linux-6.12' });
    expect(Object.keys(a.actors)).toEqual(['a']);
    expect(Object.keys(b.actors)).toEqual(['b']);
    expect(base.build().actors).toEqual({});
  });

  it('returns a deep copy from build()', () => {
    const flags: MmapFlag[] = ['shared'];
    const ops = [{ op: 'mmap' as const, length: '4K', prot: 'rw' as const, flags }];
    const b = scenario('t').actor('app', ops);
    const first = b.build();
    (first.actors['app'] as { op: string }[])[0]!.op = 'munmap';
    flags.push('populate');
    expect(b.build().actors['app']).toEqual([{ op: 'mmap', length: '4K', prot: 'rw', flags: ['shared'] }]);
  });

  it('types ops: an unknown op or a wrong field is a compile error (checked by tsc --noEmit)', () => {
    const ok = scenario('t').actor('app', [
      { op: 'gup', addr: 0x1000, length: '16p', flags: ['pin', 'longterm'], as: 'p' },
      { op: 'unpin', pins: 'p', dirty: true },
      { op: 'setlease', file: 'f', type: 'layout', onBreak: [{ op: 'exit', after: '1ms' }] },
      { op: 'reclaim', target: 'buffers' },
    ]);
    // @ts-expect-error -- not an op of the contract
    scenario('t').actor('app', [{ op: 'mmapp', length: 1 }]);
    // @ts-expect-error -- prot is one of none/r/rw/rx/rwx
    scenario('t').actor('app', [{ op: 'mmap', length: 1, prot: 'wr' }]);
    // @ts-expect-error -- a gup flag, not an mmap flag
    scenario('t').actor('app', [{ op: 'gup', addr: 0, length: 1, flags: ['shared'] }]);
    expect(ok.build().actors['app']).toHaveLength(4);
  });
});
