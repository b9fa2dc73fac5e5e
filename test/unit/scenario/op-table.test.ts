/**
 * The op table (src/scenario/ops/): what pinsim has not built is read from the table and refused as
 * not-implemented wherever it appears (an onBreak list included, identically); every device op on a
 * model that does not accept it is bad input (exit 2), for built-in and plugin models alike; and every
 * op the table marks built validates and runs from a sample made from its own fields.
 */
import { describe, expect, it } from 'vitest';
import type { DeviceModel } from '../../../src/devices/device.js';
import { validationContext } from '../../../src/scenario/format/context.js';
import { FILE_FIELDS, KERNEL_FIELDS } from '../../../src/scenario/format/sections.js';
import type { Issue } from '../../../src/scenario/format/types.js';
import { validateScenario } from '../../../src/scenario/format/validate.js';
import type { AnyField, OpDescriptor } from '../../../src/scenario/ops/op.js';
import { OP_TABLE } from '../../../src/scenario/ops/table.js';
import { BUILTIN, createRegistry, defaultRegistry, type Registry } from '../../../src/scenario/registry.js';
import { runScenario } from '../../../src/scenario/run/run.js';
import { ScenarioError } from '../../../src/scenario/format/types.js';

type Json = Record<string, unknown>;
const TABLE: readonly OpDescriptor[] = OP_TABLE;

/** Every op, field and word the table marks not built, as `op`, `op.field` and `op.field=word`. */
function unbuiltInTable(): string[] {
  const out: string[] = [];
  for (const d of TABLE) {
    if (!d.exec) out.push(d.name);
    for (const [f, spec] of Object.entries(d.fields)) {
      if (!spec.built) out.push(`${d.name}.${f}`);
      for (const w of spec.words ?? []) if (!w.built) out.push(`${d.name}.${f}=${w.word}`);
    }
  }
  for (const [section, fields] of [['kernel', KERNEL_FIELDS], ['files', FILE_FIELDS]] as const) {
    for (const [f, spec] of Object.entries(fields)) {
      if (!spec.built) out.push(`${section}.${f}`);
      for (const w of spec.words ?? []) if (!w.built) out.push(`${section}.${f}=${w.word}`);
    }
  }
  return out.sort();
}

/**
 * A scenario around the op(s) of actor app: file f, an odp-nic nic0 and a gpu-hmm gpu0, and a
 * prelude that produces an address (buf), an MR (mr), pins (p), a mirror (m) and a posted write (w).
 */
const PRELUDE: Json[] = [
  { op: 'mmap', file: 'f', length: '64K', prot: 'rw', flags: ['shared'], as: 'buf' },
  { op: 'reg_mr', device: 'nic0', addr: 'buf', length: '64K', access: 'rw', as: 'mr' },
  { op: 'gup', addr: 'buf', length: '4K', flags: ['pin'], as: 'p' },
  { op: 'mirror', device: 'gpu0', addr: 'buf', length: '64K', as: 'm' },
  { op: 'dma_write', mr: 'mr', length: '4K', wait: false, as: 'w' },
];
function world(ops: Json[], devices: Json = { nic0: { model: 'odp-nic' }, gpu0: { model: 'gpu-hmm' } }): Json {
  return { name: 't', files: { f: { fs: 'ext4', size: '64K' } }, devices, actors: { app: ops } };
}

/** A value of @spec's kind that the prelude makes valid. */
function sample(d: OpDescriptor, spec: AnyField): unknown {
  switch (spec.kind) {
    case 'size': return '4K';
    case 'time': return '1us';
    case 'addr': return 'buf';
    case 'name:mr': return 'mr';
    case 'name:pins': return 'p';
    case 'name:mirror': return 'm';
    case 'name:wr': return 'w';
    case 'file': return 'f';
    case 'device': return d.name === 'mirror' ? 'gpu0' : 'nic0';
    case 'process': return 'app';
    case 'enum': return spec.words?.find((w) => w.built)?.word;
    case 'flags': return [];
    case 'bool': return true;
    case 'ops': return [];
    case 'target': return 'buffers';
    case 'as': return 'out';
  }
}

/** Op @d with every required field sampled. */
function sampleOp(d: OpDescriptor): Json {
  const op: Json = { op: d.name };
  for (const [f, spec] of Object.entries(d.fields)) if (spec.required) op[f] = sample(d, spec);
  return op;
}

function issuesOf(input: Json, reg: Registry = defaultRegistry()): Issue[] {
  const r = validateScenario(input, validationContext(reg));
  return r.ok ? [] : r.issues;
}

/** Every way the table's unbuilt things can be written in one op: [label, op]. */
function unbuiltOps(): [string, Json][] {
  const out: [string, Json][] = [];
  for (const d of TABLE) {
    if (!d.exec) out.push([d.name, sampleOp(d)]);
    for (const [f, spec] of Object.entries(d.fields)) {
      if (!spec.built) out.push([`${d.name}.${f}`, { ...sampleOp(d), [f]: sample(d, spec) }]);
      for (const w of spec.words ?? []) {
        if (!w.built) out.push([`${d.name}.${f}=${w.word}`, { ...sampleOp(d), [f]: spec.kind === 'flags' ? [w.word] : w.word }]);
      }
    }
  }
  return out;
}

describe('the op table: what is not built yet', () => {
  it('lists every op, field and word of the format pinsim has not built (read from the table)', () => {
    expect(unbuiltInTable()).toEqual([]);
  });

  it('the prelude and a sample of every built op validate (so each refusal below is the unbuilt thing alone)', () => {
    expect(issuesOf(world(PRELUDE))).toEqual([]);
    for (const d of TABLE.filter((x) => x.exec)) expect([d.name, issuesOf(world([...PRELUDE, sampleOp(d)]))]).toEqual([d.name, []]);
  });

  it.each(unbuiltOps())('%s is refused as not-implemented at top level and identically inside onBreak', (_, op) => {
    const top = issuesOf(world([...PRELUDE, op]));
    const nested = issuesOf(world([...PRELUDE, { op: 'setlease', file: 'f', type: 'read', onBreak: [op] }]));
    const at = `actors.app[${PRELUDE.length}]`;
    expect(top.map((i) => i.code)).toEqual(['not-implemented']);
    expect(top[0]?.path.startsWith(at)).toBe(true);
    expect(nested).toEqual(top.map((i) => ({ ...i, path: i.path.replace(at, `${at}.onBreak[0]`) })));
  });

  it('every kernel and file field is built: folioSize validates, and is refused where it means nothing or is no folio size', () => {
    expect(Object.entries(KERNEL_FIELDS).filter(([, s]) => !s.built)).toEqual([]);
    const files = (g: Json) => issuesOf({ ...world([]), files: { f: { fs: 'hugetlbfs', size: '2M' }, g } }).map((i) => [i.code, i.path]);
    expect(files({ fs: 'ext4', size: '4K', folioSize: '16K' })).toEqual([]);
    expect(files({ fs: 'hugetlbfs', size: '2M', folioSize: '16K' })).toEqual([['unknown-field', 'files.g.folioSize']]);
    expect(files({ fs: 'xfs', size: '4M', folioSize: '12K' })).toEqual([['unknown-value', 'files.g.folioSize']]);
    expect(files({ fs: 'xfs', size: '4M', folioSize: '4M' })).toEqual([['unknown-value', 'files.g.folioSize']]);
  });
});

describe('the op table: which device models accept a device op', () => {
  const models = [...BUILTIN.devices];
  /** Ops on a device of @model: the op, preceded by what produces the MR or mirror it names there. */
  function onModel(d: OpDescriptor, model: DeviceModel): Json {
    const via = Object.values(d.fields).find((s) => s.kind === 'name:mr' || s.kind === 'name:mirror')?.kind;
    const producer = via === 'name:mr' ? { op: 'reg_mr', device: 'd0', addr: 'buf', length: '4K', access: 'rw', as: 'mr' }
      : via === 'name:mirror' ? { op: 'mirror', device: 'd0', addr: 'buf', length: '4K', as: 'm' } : null;
    const op = { ...sampleOp(d), ...('device' in d.fields ? { device: 'd0' } : {}) };
    return world([PRELUDE[0] as Json, ...(producer ? [producer] : []), op], { d0: { model: model.name } });
  }
  const pairs = TABLE.filter((d) => d.runs === 'device').flatMap((d) => models.map((m): [string, string, OpDescriptor, DeviceModel] => [d.name, m.name, d, m]));

  it.each(pairs)('%s on a %s: accepted exactly when the model lists it; otherwise bad input (exit 2)', (_, __, d, m) => {
    const input = onModel(d, m);
    const refused = issuesOf(input).filter((i) => i.code === 'unsupported-op').map((i) => i.path);
    const at = `actors.app[${(input['actors'] as { app: unknown[] }).app.length - 1}].op`;
    if (m.ops.includes(d.name)) {
      expect(refused).not.toContain(at);
    } else {
      expect(refused).toContain(at);
      expect(() => runScenario(input)).toThrow(ScenarioError);
    }
  });

  it('a plugin model declares the ops it accepts, and is held to them', () => {
    const plugin: DeviceModel = { name: 'my-nic', description: 'a plugin', params: {}, ops: ['reg_mr', 'dereg_mr'], create: () => ({}) };
    const reg = createRegistry({ ...BUILTIN, devices: [...BUILTIN.devices, plugin] });
    const ops = [PRELUDE[0] as Json, { op: 'reg_mr', device: 'd0', addr: 'buf', length: '4K', access: 'r', as: 'mr' }, { op: 'dma_read', mr: 'mr', length: '4K' }];
    expect(issuesOf(world(ops, { d0: { model: 'my-nic' } }), reg).map((i) => [i.code, i.path])).toEqual([['unsupported-op', 'actors.app[2].op']]);
    expect(issuesOf(world(ops.slice(0, 2), { d0: { model: 'my-nic' } }), reg)).toEqual([]);
  });

  it('a registry refuses a model whose ops name a process op or no op', () => {
    const bad = (ops: string[]): DeviceModel => ({ name: 'bad', description: '', params: {}, ops, create: () => ({}) });
    expect(() => createRegistry({ ...BUILTIN, devices: [bad(['mmap'])] })).toThrow(/"mmap".*not a device op/);
    expect(() => createRegistry({ ...BUILTIN, devices: [bad(['reg_mrr'])] })).toThrow(/"reg_mrr".*no op/);
  });
});

describe('validation collects every issue', () => {
  it('a device-parameter typo does not hide the op errors', () => {
    const list = issuesOf(world([{ op: 'mmapp' }, { op: 'madvise', addr: 0, length: '4K', advice: 'hugepages' }], { nic0: { model: 'gup-nic', dmaLatancy: '1us' } }));
    expect(list.map((i) => [i.code, i.path])).toEqual([
      ['unknown-field', 'devices.nic0.dmaLatancy'], ['unknown-op', 'actors.app[0].op'], ['unknown-value', 'actors.app[1].advice'],
    ]);
  });
});
