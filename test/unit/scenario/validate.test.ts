import { describe, it, expect } from 'vitest';
import { parseSize, parseTime } from '../../../src/engine/clock.js';
import { gup_nic } from '../../../src/devices/gup-nic/gup-nic.js';
import { linux_4_20 } from '../../../src/policy/linux-4.20.js';
import { linux_6_12 } from '../../../src/policy/linux-6.12.js';
import { closest } from '../../../src/scenario/format/closest.js';
import { validationContext } from '../../../src/scenario/format/context.js';
import { validateScenario } from '../../../src/scenario/format/validate.js';
import type { Issue, Scenario } from '../../../src/scenario/format/types.js';
import { BUILTIN, createRegistry } from '../../../src/scenario/registry.js';

/** A build with two eras and one device model: the other policies and models are known, not built. */
const ctx = validationContext(createRegistry({ devices: [gup_nic], policies: [linux_4_20, linux_6_12], invariants: BUILTIN.invariants }));

/** The example of DESIGN §5, verbatim. */
function designExample(): Record<string, unknown> {
  return {
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
  };
}

/** A scenario of one actor `app` running `ops` on file f and device nic0. */
function withOps(ops: unknown[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 't',
    files: { f: { fs: 'ext4', size: '64K' } },
    devices: { nic0: { model: 'gup-nic' } },
    actors: { app: ops },
    ...extra,
  };
}

const mmapBuf = { op: 'mmap', file: 'f', length: '64K', prot: 'rw', flags: ['shared'], as: 'buf' };

function valid(input: unknown): Scenario {
  const r = validateScenario(input, ctx);
  if (!r.ok) throw new Error(`expected valid, got:\n${r.issues.map((i) => `${i.code} ${i.path}: ${i.message}`).join('\n')}`);
  return r.scenario;
}

function issues(input: unknown): Issue[] {
  const r = validateScenario(input, ctx);
  if (r.ok) throw new Error('expected issues, got a valid scenario');
  return r.issues;
}

function one(list: Issue[], code: string): Issue {
  const found = list.filter((i) => i.code === code);
  expect(found, `exactly one ${code} in ${JSON.stringify(list)}`).toHaveLength(1);
  return found[0] as Issue;
}

describe('validateScenario: the DESIGN §5 example', () => {
  it('validates and normalizes: sizes in bytes, times in ns, actors as { process, ops }, devices as { model, params }', () => {
    const s = valid(designExample());
    expect(s.name).toBe('gup-nic-truncate');
    expect(s.kernel).toEqual({ policy: 'linux-4.20', memory: 64 * 1024 * 1024 });
    expect(s.files).toEqual({ f: { fs: 'ext4', dax: false, size: 65536 } });
    expect(s.devices).toEqual({ nic0: { model: 'gup-nic', params: {} } });
    expect(s.processes).toEqual({});
    expect(s.actors['admin']).toEqual({ process: 'admin', ops: [{ op: 'ftruncate', file: 'f', length: 0, at: 20_000 }] });
    const app = s.actors['app'];
    expect(app?.process).toBe('app');
    expect(app?.ops[0]).toEqual({ op: 'mmap', file: 'f', length: 65536, prot: 'rw', flags: ['shared'], as: 'buf' });
    expect(app?.ops[1]).toEqual({ op: 'reg_mr', device: 'nic0', addr: 'buf', length: 65536, access: 'rw', as: 'mr' });
    expect(app?.ops[2]).toEqual({ op: 'dma_write', mr: 'mr', offset: 0, length: 4096, at: 10_000, as: 'w1' });
    expect(app?.ops[4]).toEqual({ op: 'dereg_mr', mr: 'mr', at: 50_000 });
    expect(s.expect).toEqual({ violations: ['lost-write'], results: { 'admin.0': 'ok' } });
    expect(s.expectByPolicy?.['block-truncate']).toEqual({ violations: [], results: { 'admin.0': 'ok' }, blockedAtLeast: { 'admin.0': 25_000 } });
  });

  it('is JSON-serialisable after normalization', () => {
    const s = valid(designExample());
    expect(JSON.parse(JSON.stringify(s))).toEqual(s);
  });

  it('parses device params by their ParamSpec and fills optional flags and offsets', () => {
    const s = valid(withOps(
      [{ op: 'gup', addr: 4096, length: '4K', as: 'p' }, { op: 'mmap', length: '1p', prot: 'r' }, { op: 'reg_mr', device: 'nic0', addr: 0, length: 8, access: 'r', as: 'm' }, { op: 'dma_read', mr: 'm', length: 8 }],
      { devices: { nic0: { model: 'gup-nic', dmaLatency: '2us', iommu: true, pcieErrorHandling: 'hang' } } },
    ));
    expect(s.devices['nic0']).toEqual({ model: 'gup-nic', params: { dmaLatency: 2000, iommu: true, pcieErrorHandling: 'hang' } });
    expect(s.actors['app']?.ops[0]).toEqual({ op: 'gup', addr: 4096, length: 4096, as: 'p', flags: [] });
    expect(s.actors['app']?.ops[1]).toEqual({ op: 'mmap', length: 4096, prot: 'r', flags: [] });
    expect(s.actors['app']?.ops[3]).toEqual({ op: 'dma_read', mr: 'm', offset: 0, length: 8 });
  });
});

describe('validateScenario: unknown words', () => {
  it('reports an unknown op at its path with the closest op', () => {
    const i = one(issues(withOps([{ op: 'mmapp', length: '4K', prot: 'rw' }])), 'unknown-op');
    expect(i.path).toBe('actors.app[0].op');
    expect(i.didYouMean).toBe('mmap');
  });

  it('reports unknown fields of ops, the top level, kernel and device params with the closest field', () => {
    const list = issues(withOps([{ op: 'mmap', lenght: '4K', prot: 'rw' }], {
      expcet: {}, kernel: { memroy: '1M' }, devices: { nic0: { model: 'gup-nic', dmaLatancy: '1us' } },
    }));
    const byPath = new Map(list.map((i) => [i.path, i]));
    expect(byPath.get('actors.app[0].lenght')).toMatchObject({ code: 'unknown-field', didYouMean: 'length' });
    expect(byPath.get('expcet')).toMatchObject({ code: 'unknown-field', didYouMean: 'expect' });
    expect(byPath.get('kernel.memroy')).toMatchObject({ code: 'unknown-field', didYouMean: 'memory' });
    expect(byPath.get('devices.nic0.dmaLatancy')).toMatchObject({ code: 'unknown-field', didYouMean: 'dmaLatency' });
    expect(byPath.get('actors.app[0].length')).toMatchObject({ code: 'missing-field' });
  });

  it('refuses `wait` on a process op and `onSignal` on anything but load/store', () => {
    const list = issues(withOps([{ ...mmapBuf, wait: false }, { op: 'munmap', addr: 'buf', length: '4K', onSignal: 'continue' }]));
    expect(list.map((i) => [i.code, i.path])).toEqual([['unknown-field', 'actors.app[0].wait'], ['unknown-field', 'actors.app[1].onSignal']]);
  });

  it('reports unknown flags, prot, advice, fs, model and policy with the closest word', () => {
    const list = issues({
      name: 't',
      kernel: { policy: 'linux-6.21' },
      files: { f: { fs: 'ext5', size: '4K' } },
      devices: { nic0: { model: 'gup-nik' } },
      actors: { app: [{ op: 'mmap', length: '4K', prot: 'wr', flags: ['shraed'] }, { op: 'madvise', addr: 0, length: '4K', advice: 'dontneeed' }] },
    });
    const at = (p: string): Issue | undefined => list.find((i) => i.path === p);
    expect(at('kernel.policy')).toMatchObject({ code: 'unknown-policy', didYouMean: 'linux-6.12' });
    expect(at('files.f.fs')).toMatchObject({ code: 'unknown-value', didYouMean: 'ext4' });
    expect(at('devices.nic0.model')).toMatchObject({ code: 'unknown-model', didYouMean: 'gup-nic' });
    expect(at('actors.app[0].prot')).toMatchObject({ code: 'unknown-value', didYouMean: 'rw' });
    expect(at('actors.app[0].flags[0]')).toMatchObject({ code: 'unknown-flag', didYouMean: 'shared' });
    expect(at('actors.app[1].advice')).toMatchObject({ code: 'unknown-value', didYouMean: 'dontneed' });
  });

  it('refuses dax on tmpfs and requires fs and size of a file', () => {
    const list = issues(withOps([], { files: { t: { fs: 'tmpfs', size: '4K', dax: true }, g: {} } }));
    expect(one(list, 'unknown-value').path).toBe('files.t.dax');
    expect(list.filter((i) => i.code === 'missing-field').map((i) => i.path)).toEqual(['files.g.fs', 'files.g.size']);
    expect(valid(withOps([], { files: { x: { fs: 'xfs', size: '4K', dax: true } } })).files['x']).toEqual({ fs: 'xfs', dax: true, size: 4096 });
  });
});

describe('validateScenario: sizes and times', () => {
  const sizeExpected = (parseSize('nope') as { expected: string }).expected;
  const timeExpected = (parseTime('nope') as { expected: string }).expected;

  it.each([
    ['negative', -1], ['negative string', '-4K'], ['fractional bytes', 1.5], ['fractional string', '1.5'],
    ['above 2^53-1', 2 ** 53], ['too large in units', '9000000T'], ['unknown unit', '4Q'], ['lowercase k', '4k'],
  ])('rejects a %s size with bad-size and the expected text', (_, length) => {
    const i = one(issues(withOps([{ op: 'mmap', length, prot: 'rw' }])), 'bad-size');
    expect(i.path).toBe('actors.app[0].length');
    expect(i.expected).toBe(sizeExpected);
  });

  it('rejects a size of the wrong JSON type with wrong-type', () => {
    const i = one(issues(withOps([{ op: 'mmap', length: true, prot: 'rw' }])), 'wrong-type');
    expect(i.path).toBe('actors.app[0].length');
  });

  it('rejects bad times in ops, kernel and expectations with bad-time', () => {
    const list = issues(withOps([{ op: 'sleep', duration: '10 parsecs' }, { op: 'sleep', duration: '1us', at: -5 }], {
      kernel: { until: '1.5ns' }, expect: { endsBy: { 'app.0': '3 fortnights' } },
    }));
    expect(list.filter((i) => i.code === 'bad-time').map((i) => i.path)).toEqual(
      ['kernel.until', 'actors.app[0].duration', 'actors.app[1].at', 'expect.endsBy["app.0"]']);
    expect(list.every((i) => i.expected === timeExpected)).toBe(true);
  });

  it('accepts fractional units that come out whole, and µs', () => {
    const s = valid(withOps([{ op: 'mmap', length: '0.5K', prot: 'rw', at: '1.5ms' }, { op: 'sleep', duration: '3µs' }]));
    expect(s.actors['app']?.ops[0]).toMatchObject({ length: 512, at: 1_500_000 });
    expect(s.actors['app']?.ops[1]).toMatchObject({ duration: 3000 });
  });
});

describe('validateScenario: scheduling fields and names', () => {
  it('refuses at and after together', () => {
    const i = one(issues(withOps([{ op: 'sleep', duration: 1, at: '1us', after: '1us' }])), 'conflict');
    expect(i.path).toBe('actors.app[0]');
  });

  it('refuses a duplicate `as`, names being global across actors and onBreak lists', () => {
    const list = issues({
      ...withOps([mmapBuf, { op: 'setlease', file: 'f', type: 'layout', onBreak: [{ op: 'load', addr: 'buf', length: 1, as: 'seen' }] }]),
      actors: {
        app: [mmapBuf, { op: 'setlease', file: 'f', type: 'layout', onBreak: [{ op: 'load', addr: 'buf', length: 1, as: 'seen' }] }],
        other: [{ op: 'mmap', length: '4K', prot: 'r', as: 'buf' }, { op: 'load', addr: 0, length: 1, as: 'seen' }],
      },
    });
    expect(list.filter((i) => i.code === 'duplicate-name').map((i) => i.path)).toEqual(['actors.other[0].as', 'actors.other[1].as']);
    expect(list).toHaveLength(2);
  });

  it('reports a name no op produces, suggesting a produced one', () => {
    const i = one(issues(withOps([mmapBuf, { op: 'reg_mr', device: 'nic0', addr: 'buff', length: '4K', access: 'rw' }])), 'unknown-name');
    expect(i.path).toBe('actors.app[1].addr');
    expect(i.didYouMean).toBe('buf');
  });

  it('reports a name of the wrong kind: an mmap address where an MR is needed', () => {
    const i = one(issues(withOps([mmapBuf, { op: 'dma_write', mr: 'buf', length: '4K' }])), 'wrong-name-kind');
    expect(i.path).toBe('actors.app[1].mr');
    expect(i.message).toContain('mmap');
  });

  it('pin_read and pin_write need the "as" of a gup in pins, and a length; their offset defaults to 0', () => {
    const gup = { op: 'gup', addr: 'buf', length: '8K', flags: ['pin'], as: 'p' };
    const ok = valid(withOps([mmapBuf, gup, { op: 'pin_read', pins: 'p', length: '4K', as: 'r' }, { op: 'pin_write', pins: 'p', offset: '4K', length: 1, as: 'w' }]));
    expect(ok.actors['app']?.ops.slice(2)).toMatchObject([{ op: 'pin_read', pins: 'p', offset: 0, length: 4096 }, { op: 'pin_write', offset: 4096, length: 1 }]);
    expect(one(issues(withOps([mmapBuf, { op: 'pin_read', pins: 'buf', length: '4K' }])), 'wrong-name-kind').path).toBe('actors.app[1].pins');
    expect(one(issues(withOps([mmapBuf, gup, { op: 'pin_write', pins: 'p' }])), 'missing-field').path).toBe('actors.app[2].length');
  });

  it('reports an unknown file or device reference', () => {
    const list = issues(withOps([{ op: 'ftruncate', file: 'g', length: 0 }, { op: 'reg_mr', device: 'nic1', addr: 0, length: 1, access: 'r' }]));
    expect(list.map((i) => [i.code, i.path, i.didYouMean])).toEqual([
      ['unknown-name', 'actors.app[0].file', undefined], ['unknown-name', 'actors.app[1].device', 'nic0']]);
  });

  it('accepts a reference to a name produced later by another actor', () => {
    const s = valid({ ...withOps([]), actors: { a: [{ op: 'munmap', addr: 'y', length: '4K' }], b: [{ op: 'mmap', length: '4K', prot: 'rw', as: 'y' }] } });
    expect(s.actors['a']?.ops[0]).toMatchObject({ addr: 'y' });
  });

  it('reports two actors waiting on each other as one cycle', () => {
    const list = issues({
      ...withOps([]),
      actors: {
        a: [{ op: 'munmap', addr: 'y', length: '4K' }, { op: 'mmap', length: '4K', prot: 'rw', as: 'x' }],
        b: [{ op: 'munmap', addr: 'x', length: '4K' }, { op: 'mmap', length: '4K', prot: 'rw', as: 'y' }],
      },
    });
    const i = one(list, 'cycle');
    expect(i.path).toBe('actors.a[0]');
    for (const p of ['actors.a[1]', 'actors.b[0]', 'actors.b[1]']) expect(i.message).toContain(p);
  });

  it('reports a reference to a name its own actor produces later as a cycle', () => {
    const i = one(issues(withOps([{ op: 'load', addr: 'buf', length: 1 }, mmapBuf])), 'cycle');
    expect(i.path).toBe('actors.app[0]');
  });

  it('lets a forked child run as an actor, waiting for the fork, and refuses a process named by a non-fork', () => {
    const fork = { ...withOps([]), actors: { parent: [{ op: 'exit', as: 'kid' }] } };
    expect(one(issues({ ...fork, actors: { ...fork.actors, child: { process: 'kid', ops: [] } } }), 'wrong-name-kind').path).toBe('actors.child.process');
    // the child's name resolves to the fork's result (no unknown-name, no cycle)
    const s = valid({ ...fork, actors: { parent: [{ op: 'fork', as: 'kid' }], child: { process: 'kid', ops: [{ op: 'exit' }] } } });
    expect(s.actors['child']).toEqual({ process: 'kid', ops: [{ op: 'exit' }] });
  });

  it('reports a child that must run before its own fork as a cycle', () => {
    const list = issues({ ...withOps([]), actors: {
      parent: [{ op: 'munmap', addr: 'm', length: 1 }, { op: 'fork', as: 'kid' }],
      child: { process: 'kid', ops: [{ op: 'mmap', length: 1, prot: 'r', as: 'm' }] },
    } });
    expect(list.map((i) => i.code)).toEqual(['cycle']);
  });

  it('needs a posted device op (wait: false) for poll', () => {
    const ops = [mmapBuf, { op: 'reg_mr', device: 'nic0', addr: 'buf', length: '4K', access: 'rw', as: 'mr' },
      { op: 'dma_write', mr: 'mr', length: 1, as: 'w1' }, { op: 'dma_write', mr: 'mr', length: 1, as: 'w2', wait: false },
      { op: 'poll', wr: 'w1' }, { op: 'poll', wr: 'w2' }];
    const list = issues(withOps(ops));
    expect(one(list, 'wrong-name-kind').path).toBe('actors.app[4].wr');
    expect(list).toHaveLength(1);
  });
});

describe('validateScenario: contract features not built', () => {
  it('refuses a contract model not built (odp-nic) and a policy not built (revoke)', () => {
    const list = issues(withOps([], { kernel: { policy: 'revoke' }, devices: { nic1: { model: 'odp-nic', faultLatency: '1us' } } }));
    expect(list.map((i) => [i.code, i.path])).toEqual([['not-implemented', 'kernel.policy'], ['not-implemented', 'devices.nic1.model']]);
  });
});

describe('validateScenario: what the kernel refuses is not an input error', () => {
  it('passes length 0, an unaligned address, shared+private and an unknown-to-the-kernel range through', () => {
    const s = valid(withOps([
      { op: 'mmap', length: 0, prot: 'rw', flags: ['shared', 'private'] },
      { op: 'munmap', addr: 4097, length: 0 },
      { op: 'madvise', addr: '0x7f0000000000', offset: '16K', length: '1G', advice: 'dontneed' },
    ]));
    expect(s.actors['app']?.ops.map((o) => o.op)).toEqual(['mmap', 'munmap', 'madvise']);
    expect(s.actors['app']?.ops[0]).toMatchObject({ length: 0, flags: ['shared', 'private'] });
    expect(s.actors['app']?.ops[2]).toMatchObject({ addr: 0x7f0000000000, offset: 16384 });
  });
});

describe('validateScenario: expectations and replay', () => {
  it('checks expect keys, kinds, op references and observed names, with quoted paths for dotted keys', () => {
    const list = issues(withOps([mmapBuf, { op: 'store', addr: 'buf', length: 1, as: 'w' }, { op: 'load', addr: 'buf', length: 1, as: 'r' }], {
      expect: {
        violations: ['lost-writes'],
        results: { 'app.0': 'ok', 'app.7': 'ok', r: 'EFAULT', w: 'okay' },
        observed: { r: 'w', w: 'zero', 'storage:f@0': 'w', 'storage:ff@0': 'zero' },
        forbid: ['hang', { r: 'dummy' }, { buf: 'w' }],
      },
    }));
    const at = (p: string): Issue | undefined => list.find((i) => i.path === p);
    expect(at('expect.violations[0]')).toMatchObject({ code: 'unknown-kind', didYouMean: 'lost-write' });
    expect(at('expect.results["app.7"]')).toMatchObject({ code: 'unknown-name' });
    expect(at('expect.results.w')).toMatchObject({ code: 'unknown-value', didYouMean: 'ok' });
    expect(at('expect.observed.w')).toMatchObject({ code: 'wrong-name-kind' });
    expect(at('expect.observed["storage:ff@0"]')).toMatchObject({ code: 'unknown-name', didYouMean: 'f' });
    expect(at('expect.forbid[2].buf')).toMatchObject({ code: 'wrong-name-kind' });
    expect(list).toHaveLength(6);
  });

  it('checks expectByPolicy keys against every contract policy and accepts { skip }', () => {
    const base = withOps([mmapBuf]);
    const s = valid({ ...base, expectByPolicy: { revoke: { skip: 'no MR' }, 'linux-6.12': { violations: [] } } });
    expect(s.expectByPolicy).toEqual({ revoke: { skip: 'no MR' }, 'linux-6.12': { violations: [] } });
    const i = one(issues({ ...base, expectByPolicy: { 'linux-6.021': {} } }), 'unknown-policy');
    expect(i.path).toBe('expectByPolicy["linux-6.021"]');
    expect(i.didYouMean).toBe('linux-6.12');
  });

  it('accepts any linux-X.Y of the era timeline as a kernel.policy or an expectByPolicy key, and refuses one before 4.19', () => {
    const base = withOps([mmapBuf]);
    const s = valid({ ...base, kernel: { policy: 'linux-5.15' }, expectByPolicy: { 'linux-5.8': { violations: [] }, 'linux-6.2': { violations: [] } } });
    expect(s.kernel.policy).toBe('linux-5.15');
    expect(Object.keys(s.expectByPolicy ?? {})).toEqual(['linux-5.8', 'linux-6.2']);
    expect(one(issues({ ...base, kernel: { policy: 'linux-4.18' } }), 'unknown-policy').path).toBe('kernel.policy');
    expect(one(issues({ ...base, expectByPolicy: { 'linux-5.20': {} } }), 'unknown-policy').path).toBe('expectByPolicy["linux-5.20"]');
  });

  it('normalizes replay and checks its policy and choices', () => {
    const s = valid(withOps([], { replay: { seed: 7, policy: 'linux-6.12', window: '1us', choices: [0, 2, 1], traceHash: 'ab' } }));
    expect(s.replay).toEqual({ seed: 7, policy: 'linux-6.12', window: 1000, choices: [0, 2, 1], traceHash: 'ab' });
    const list = issues(withOps([], { replay: { seed: -1, policy: 'revoke', choices: [0, 'x'] } }));
    expect(list.map((i) => [i.code, i.path])).toEqual([['wrong-type', 'replay.seed'], ['not-implemented', 'replay.policy'], ['wrong-type', 'replay.choices[1]']]);
  });
});

describe('validateScenario: every issue at once', () => {
  it('collects issues from every section instead of stopping at the first', () => {
    const list = issues({
      name: 42,
      kernel: { memory: '-1M' },
      files: { f: { fs: 'ext4', size: '4K' } },
      actors: {
        app: [{ op: 'mmapp' }, { op: 'sleep', duration: '1us', at: 1, after: 1 }, { op: 'dma_read', mr: 'nope', length: 1 }],
        'db-1': [{ op: 'madvise', addr: 0, length: '4K', advice: 'colapse' }],
      },
      expect: { violations: ['hang'], results: { 'db-1.0': 'ENOMEM' } },
    });
    expect(list.map((i) => [i.code, i.path])).toEqual([
      ['wrong-type', 'name'],
      ['bad-size', 'kernel.memory'],
      ['unknown-op', 'actors.app[0].op'],
      ['conflict', 'actors.app[1]'],
      ['unknown-value', 'actors["db-1"][0].advice'],
      ['unknown-name', 'actors.app[2].mr'],
    ]);
  });

  it('refuses input that is not an object, and a missing name and actors', () => {
    expect(issues([]).map((i) => [i.code, i.path])).toEqual([['wrong-type', '']]);
    expect(issues({}).map((i) => [i.code, i.path])).toEqual([['missing-field', 'name'], ['missing-field', 'actors']]);
  });
});

describe('validateScenario: other sections', () => {
  it('reports a declared process no actor runs in, suggesting the closest', () => {
    const i = one(issues(withOps([], { processes: { aap: { memlock: '64K' } } })), 'unknown-name');
    expect(i).toMatchObject({ path: 'processes.aap', didYouMean: 'app' });
    expect(valid(withOps([], { processes: { app: { memlock: '64K', capIpcLock: false } } })).processes).toEqual({ app: { memlock: 65536, capIpcLock: false } });
  });

  it('reads a reclaim target as a size or "buffers"', () => {
    const list = issues(withOps([{ op: 'reclaim', target: '16p' }, { op: 'reclaim', target: 'buffers' }, { op: 'reclaim', target: 'buffer' }]));
    expect(list.filter((i) => i.code !== 'not-implemented').map((i) => [i.code, i.path, i.didYouMean])).toEqual([['bad-size', 'actors.app[2].target', 'buffers']]);
  });
});

describe('closest', () => {
  it('suggests through typos, swaps and case, and prefers the nearer length on ties', () => {
    expect(closest('mamp', ['munmap', 'mmap'])).toBe('mmap');
    expect(closest('MMAP', ['mmap'])).toBe('mmap');
    expect(closest('wr', ['none', 'r', 'rw'])).toBe('rw');
    expect(closest('linux-6', ['linux-4.20', 'linux-6.12'])).toBe('linux-6.12');
  });

  it('suggests nothing when no candidate is plausibly meant', () => {
    expect(closest('frobnicate', ['mmap', 'munmap'])).toBeUndefined();
    expect(closest('g', ['f'])).toBeUndefined();
    expect(closest('x', [])).toBeUndefined();
  });
});
