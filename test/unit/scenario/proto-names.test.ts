/**
 * Names users choose are data (issue 16): `__proto__`, `constructor`, `toString` and
 * `hasOwnProperty`, put in every name slot of the format (actors, processes, files, devices, `as`
 * names of every kind, expectation keys, expectByPolicy keys, device models, units, policies, field
 * and op words), either run exactly as an ordinary name does or are refused as bad input with a
 * path. None may crash pinsim, drop an actor's ops, or drop an expectation so that a check passes
 * silently. The CLI's values (command words, flags, --policy, --param, choices) get the same.
 */
import { spawnSync } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import { ScenarioError } from '../../../src/scenario/format/types.js';
import { runScenario } from '../../../src/scenario/run/run.js';
import type { RunResult } from '../../../src/scenario/run/result.js';
import { MAIN, ensureBuilt } from '../../helpers/dist.js';

const NAMES = ['__proto__', 'constructor', 'toString', 'hasOwnProperty'] as const;

type Slot = 'actor' | 'process' | 'file' | 'device' | 'buf' | 'mr' | 'w' | 'r' | 'pins' | 'kid' | 'kidActor';
type Names = Record<Slot, string>;
const ORDINARY: Names = { actor: 'app', process: 'P', file: 'f', device: 'nic0', buf: 'buf', mr: 'mr', w: 'w', r: 'r', pins: 'pins', kid: 'kid', kidActor: 'child' };

/**
 * The 2018 truncate race with every kind of name in it: a declared process, an actor in it, a file,
 * a device, an address, an MR, a write and a read, GUP pins, a fork's child and an actor running in
 * it; expectations on results, observations and op counters name them back.
 */
function scenario(n: Names): Record<string, unknown> {
  return {
    name: 'proto-names', kernel: { policy: 'linux-4.20' },
    files: { [n.file]: { fs: 'ext4', size: '64K' } },
    devices: { [n.device]: { model: 'gup-nic' } },
    processes: { [n.process]: { memlock: '1M' } },
    actors: {
      [n.actor]: { process: n.process, ops: [
        { op: 'mmap', file: n.file, length: '64K', prot: 'rw', flags: ['shared'], as: n.buf },
        { op: 'reg_mr', device: n.device, addr: n.buf, length: '64K', access: 'rw', as: n.mr },
        { op: 'gup', addr: n.buf, length: '4K', flags: ['pin', 'longterm', 'write'], as: n.pins },
        { op: 'load', addr: n.buf, length: '4K', at: '10us', as: n.r },
        { op: 'dma_write', mr: n.mr, offset: 0, length: '4K', at: '30us', as: n.w },
        { op: 'unpin', pins: n.pins, at: '50us' },
        { op: 'fork', at: '60us', as: n.kid },
      ] },
      [n.kidActor]: { process: n.kid, ops: [{ op: 'exit' }] },
      admin: [{ op: 'ftruncate', file: n.file, length: 0, at: '20us' }],
    },
    expect: {
      violations: ['lost-write'],
      results: { [`${n.actor}.0`]: 'ok', [n.buf]: 'ok', [n.mr]: 'ok', [n.w]: 'ok', [n.pins]: 'ok', [n.kid]: 'ok', [`${n.kidActor}.0`]: 'ok' },
      observed: { [n.r]: 'zero' },
      opStats: { [n.w]: { start: 30_000 } },
    },
  };
}

/** @r with every key @n renamed back to the ordinary name, so two runs compare key by key. */
function normalized(r: RunResult, n: Names): unknown {
  const back = new Map(Object.entries(n).map(([slot, name]) => [name, ORDINARY[slot as Slot]]));
  const key = (k: string): string => {
    const dot = k.lastIndexOf('.');
    if (dot > 0 && /^\d+$/.test(k.slice(dot + 1))) return `${back.get(k.slice(0, dot)) ?? k.slice(0, dot)}${k.slice(dot)}`;
    return back.get(k) ?? k;
  };
  const rekey = <T>(o: Record<string, T>): Record<string, T> => Object.fromEntries(Object.entries(o).map(([k, v]) => [key(k), v]).sort(([a], [b]) => ((a ?? "") < (b ?? "") ? -1 : 1)));
  return {
    outcome: r.outcome, expectations: r.expectations, kinds: r.violations.map((v) => v.kind),
    results: rekey(r.results), observed: rekey(r.observed), ops: rekey(r.ops),
  };
}

describe('a prototype key in a name slot of the format runs as an ordinary name does', () => {
  const ordinary = runScenario(scenario(ORDINARY));

  it('the ordinary scenario meets its expectations (every expectation below is live)', () => {
    expect(ordinary.outcome).toBe('violations');
    expect(ordinary.expectations).toEqual({ met: true, failures: [] });
    expect(Object.keys(ordinary.results)).toHaveLength(7 + 1 + 1 + 6); // actor.i, child.0, admin.0, six `as`
  });

  const slots = Object.keys(ORDINARY) as Slot[];
  const cases = slots.flatMap((slot) => NAMES.map((name) => ({ slot, name })));
  it.each(cases)('$slot named $name', ({ slot, name }) => {
    const n: Names = { ...ORDINARY, [slot]: name };
    const r = runScenario(scenario(n));
    expect(normalized(r, n)).toEqual(normalized(ordinary, ORDINARY));
    expect(Object.hasOwn(r.results, slot === 'actor' || slot === 'kidActor' ? `${name}.0` : name) || slot === 'process' || slot === 'file' || slot === 'device').toBe(true);
  });

  it.each(NAMES)('an expectation keyed %s that is not met fails the run (it is not dropped)', (name) => {
    const n: Names = { ...ORDINARY, w: name };
    const s = scenario(n);
    (s['expect'] as { results: Record<string, string> }).results[name] = 'EFAULT';
    const r = runScenario(s);
    expect(r.outcome).toBe('expectation-failed');
    expect(r.expectations.failures).toEqual([`results.${name}: expected EFAULT, got ok`]);
  });
});

/** The ScenarioError that runScenario throws for @s. */
function refused(s: unknown): ScenarioError {
  try {
    runScenario(s);
  } catch (e) {
    if (e instanceof ScenarioError) return e;
    throw e;
  }
  throw new Error('expected a ScenarioError');
}

describe('a prototype key where only a word of pinsim fits is refused with its path', () => {
  const edits: { what: string; path: (name: string) => string; edit: (s: Record<string, unknown>, name: string) => void }[] = [
    { what: 'a device model', path: () => 'devices.nic0.model', edit: (s, x) => { (s['devices'] as Record<string, unknown>)['nic0'] = { model: x }; } },
    { what: 'a size unit', path: () => 'actors.app.ops[4].length', edit: (s, x) => { ops(s)[4]!['length'] = `4${x}`; } },
    { what: 'a time unit', path: () => 'actors.app.ops[4].at', edit: (s, x) => { ops(s)[4]!['at'] = `30${x}`; } },
    { what: 'kernel.policy', path: () => 'kernel.policy', edit: (s, x) => { s['kernel'] = { policy: x }; } },
    { what: 'an expectByPolicy key', path: (x) => `expectByPolicy${x === '__proto__' || x === 'constructor' || x === 'toString' || x === 'hasOwnProperty' ? `.${x}` : ''}`, edit: (s, x) => { s['expectByPolicy'] = Object.fromEntries([[x, { violations: [] }]]); } },
    { what: 'a top-level field', path: (x) => x, edit: (s, x) => { Object.defineProperty(s, x, { value: 1, enumerable: true }); } },
    { what: 'a kernel field', path: (x) => `kernel.${x}`, edit: (s, x) => { s['kernel'] = Object.fromEntries([[x, 1]]); } },
    { what: 'a device parameter', path: (x) => `devices.nic0.${x}`, edit: (s, x) => { s['devices'] = { nic0: Object.fromEntries([['model', 'gup-nic'], [x, 1]]) }; } },
    { what: 'an op field', path: (x) => `actors.app.ops[0].${x}`, edit: (s, x) => { Object.defineProperty(ops(s)[0]!, x, { value: 1, enumerable: true }); } },
    { what: 'an op', path: () => 'actors.app.ops[0].op', edit: (s, x) => { ops(s)[0]!['op'] = x; } },
    { what: 'a flag word', path: () => 'actors.app.ops[0].flags[0]', edit: (s, x) => { ops(s)[0]!['flags'] = [x]; } },
    { what: 'an enum word', path: () => 'actors.app.ops[0].prot', edit: (s, x) => { ops(s)[0]!['prot'] = x; } },
    { what: 'a filesystem', path: () => 'files.f.fs', edit: (s, x) => { s['files'] = { f: { fs: x, size: '64K' } }; } },
    { what: 'an expect field', path: (x) => `expect.${x}`, edit: (s, x) => { s['expect'] = Object.fromEntries([[x, []]]); } },
    { what: 'an opStats counter', path: (x) => `expect.opStats.w.${x}`, edit: (s, x) => { s['expect'] = { opStats: { w: Object.fromEntries([[x, 1]]) } }; } },
    { what: 'a storage file', path: () => `expect.observed["storage:`, edit: (s, x) => { s['expect'] = { observed: Object.fromEntries([[`storage:${x}@0`, 'zero']]) }; } },
  ];
  const ops = (s: Record<string, unknown>): Record<string, unknown>[] => ((s['actors'] as Record<string, { ops: Record<string, unknown>[] }>)['app'] as { ops: Record<string, unknown>[] }).ops;
  const cases = edits.flatMap((e) => NAMES.map((name) => ({ ...e, name })));
  it.each(cases)('$what $name', ({ path, edit, name }) => {
    const s = scenario(ORDINARY);
    edit(s, name);
    const e = refused(s);
    expect(e.issues.map((i) => i.path).join('\n')).toContain(path(name));
  });
});

describe('a prototype key in a CLI value: exit 2 with a message, or taken as an ordinary value', () => {
  beforeAll(() => ensureBuilt(), 180_000);
  const cli = (...args: string[]) => spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8' });
  const cases = NAMES.flatMap((x) => [
    { argv: [x], says: `unknown command "${x}"` },
    { argv: ['run', 'examples/truncate-no-device.json', `--${x}`], says: `unknown flag --${x}` },
    { argv: ['run', 'examples/truncate-no-device.json', '--policy', x], says: `unknown policy "${x}"` },
    { argv: ['check', 'examples/truncate-no-device.json', '--policy', `linux-6.12,${x}`], says: `unknown policy "${x}"` },
    { argv: ['run', 'examples/truncate-no-device.json', '--trace', x], says: `not "${x}"` },
    { argv: ['explore', 'examples/truncate-no-device.json', '--strategy', x], says: `not "${x}"` },
    { argv: ['check', 'examples/truncate-no-device.json', '--format', x], says: `not "${x}"` },
  ]);
  it.each(cases)('pinsim $argv', ({ argv, says }) => {
    const r = cli(...argv);
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toContain(says);
    expect(r.stderr).not.toMatch(/internal bug|\n\s+at /);
  });
  it.each(NAMES)('--param %s=v reaches a scenario module as an own key of its params', (x) => {
    const r = cli('run', 'test/cli/fixtures/echo-params.scenario.mjs', '--param', `${x}=v`, '--json');
    expect(r.status, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as RunResult).scenario).toBe(`params ${JSON.stringify({ [x]: 'v' })}`);
  });
});
