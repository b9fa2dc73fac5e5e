/**
 * The bad-input catalogue (issue 9, DESIGN §5/§8): every class of input the syscall ABI cannot
 * carry, each fed to the built CLI as a newcomer would (`node dist/cli/main.js run <file>`), must
 * exit 2 with the JSON path (or file:line), what was expected, a did-you-mean where a close valid
 * word exists, and no stack trace. Values the ABI carries but the kernel refuses (length 0 …) are
 * results, not input errors: they exit 0 or 1.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt } from '../helpers/dist.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MAIN = join(ROOT, 'dist/cli/main.js');
/** A stack frame: `    at fn (/path/file.js:1:2)` or `at file:///…`. */
const STACK_FRAME = /^\s+at .*(\/|file:).*:\d+/m;
let tmp = '';

type Json = Record<string, unknown>;
type Ops = Json[];

/** A valid scenario (the 2018 truncate race); each case breaks one thing in a copy of it. */
function base(): Json {
  return {
    name: 'bad-input',
    kernel: { policy: 'linux-4.20' },
    files: { f: { fs: 'ext4', size: '64K' } },
    devices: { nic0: { model: 'gup-nic' } },
    actors: {
      app: [
        { op: 'mmap', file: 'f', length: '64K', prot: 'rw', flags: ['shared'], as: 'buf' },
        { op: 'reg_mr', device: 'nic0', addr: 'buf', length: '64K', access: 'rw', as: 'mr' },
        { op: 'dma_write', mr: 'mr', offset: 0, length: '4K', at: '30us', as: 'w' },
      ],
      admin: [{ op: 'ftruncate', file: 'f', length: 0, at: '20us' }],
    },
  };
}

const app = (s: Json): Ops => (s['actors'] as Record<string, Ops>)['app'] as Ops;
const op = (s: Json, i: number): Json => app(s)[i] as Json;

function write(name: string, content: string): string {
  const file = join(tmp, name);
  writeFileSync(file, content);
  return file;
}

function scenarioFile(name: string, edit: (s: Json) => void): string {
  const s = base();
  edit(s);
  return write(`${name}.json`, JSON.stringify(s, null, 2));
}

function pinsim(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [MAIN, ...args], { cwd: tmp, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

interface Case {
  /** The class of bad input. */
  what: string;
  /** The scenario file (written in beforeAll's tmp dir) and any extra CLI arguments. */
  file: () => string;
  args?: string[];
  /** Where: the JSON path, `--flag`, or `line N`. */
  where: string | RegExp;
  /** What was expected, as the message says it. */
  expected: string | RegExp;
  /** The closest valid word, when one exists. */
  didYouMean?: string;
}

const CASES: Case[] = [
  {
    what: 'malformed JSON (a trailing comma)',
    file: () => write('malformed.json', '{\n  "name": "x",\n  "actors": { "a": [], },\n}\n'),
    where: /line 3 column \d+/, expected: /invalid JSON/,
  },
  {
    what: 'an unknown op',
    file: () => scenarioFile('unknown-op', (s) => { op(s, 1)['op'] = 'reg_mrr'; }),
    where: 'actors.app[1].op', expected: /unknown op "reg_mrr"/, didYouMean: 'reg_mr',
  },
  {
    what: 'an unknown field of an op',
    file: () => scenarioFile('unknown-field', (s) => { const o = op(s, 0); o['lenght'] = o['length']; delete o['length']; }),
    where: 'actors.app[0].lenght', expected: /one of .*length/, didYouMean: 'length',
  },
  {
    what: 'an unknown top-level field',
    file: () => scenarioFile('unknown-top', (s) => { s['expects'] = { violations: [] }; }),
    where: 'expects', expected: /one of .*expect/, didYouMean: 'expect',
  },
  {
    what: 'an unknown device',
    file: () => scenarioFile('unknown-device', (s) => { op(s, 1)['device'] = 'nic1'; }),
    where: 'actors.app[1].device', expected: /a key of devices/, didYouMean: 'nic0',
  },
  {
    what: 'an unknown device model',
    file: () => scenarioFile('unknown-model', (s) => { (s['devices'] as Json)['nic0'] = { model: 'gup_nic' }; }),
    where: 'devices.nic0.model', expected: /one of gup-nic, odp-nic, gpu-hmm/, didYouMean: 'gup-nic',
  },
  {
    what: 'an unknown device parameter',
    file: () => scenarioFile('unknown-param', (s) => { (s['devices'] as Json)['nic0'] = { model: 'gup-nic', dmaLatncy: '2us' }; }),
    where: 'devices.nic0.dmaLatncy', expected: /one of .*dmaLatency/, didYouMean: 'dmaLatency',
  },
  {
    what: 'an unknown policy in kernel.policy',
    file: () => scenarioFile('unknown-policy', (s) => { s['kernel'] = { policy: 'linux-6.1.2' }; }),
    where: 'kernel.policy', expected: /one of .*linux-6\.12/, didYouMean: 'linux-6.12',
  },
  {
    what: 'an unknown policy on the command line',
    file: () => scenarioFile('cli-policy', () => {}),
    args: ['--policy', 'revoek'],
    where: '--policy', expected: /one of .*revoke/, didYouMean: 'revoke',
  },
  {
    what: 'an unknown file',
    file: () => scenarioFile('unknown-file', (s) => {
      (s['files'] as Json)['journal'] = { fs: 'xfs', size: '16K' };
      (s['actors'] as Record<string, Ops>)['admin'] = [{ op: 'ftruncate', file: 'jornal', length: 0 }];
    }),
    where: 'actors.admin[0].file', expected: /a key of files/, didYouMean: 'journal',
  },
  {
    what: 'an unknown filesystem',
    file: () => scenarioFile('unknown-fs', (s) => { s['files'] = { f: { fs: 'ext5', size: '64K' } }; }),
    where: 'files.f.fs', expected: /one of ext4, xfs, tmpfs/, didYouMean: 'ext4',
  },
  {
    what: 'an unknown flag word',
    file: () => scenarioFile('unknown-flag', (s) => { op(s, 0)['flags'] = ['shard']; }),
    where: 'actors.app[0].flags[0]', expected: /one of shared, private, populate, fixed/, didYouMean: 'shared',
  },
  {
    what: 'an unknown invariant kind in expect',
    file: () => scenarioFile('unknown-kind', (s) => { s['expect'] = { violations: ['lost-writes'] }; }),
    where: 'expect.violations[0]', expected: /one of .*lost-write/, didYouMean: 'lost-write',
  },
  {
    what: 'a name no op produces',
    file: () => scenarioFile('unknown-name', (s) => { op(s, 2)['mr'] = 'mr0'; }),
    where: 'actors.app[2].mr', expected: /an MR \(the "as" of reg_mr\)/, didYouMean: 'mr',
  },
  {
    what: 'a name of the wrong kind (an address where an MR is due)',
    file: () => scenarioFile('wrong-kind', (s) => { op(s, 2)['mr'] = 'buf'; }),
    where: 'actors.app[2].mr', expected: /an MR/,
  },
  {
    what: 'an expectation naming an op that does not exist',
    file: () => scenarioFile('unknown-op-key', (s) => { s['expect'] = { results: { 'admin.1': 'ok' } }; }),
    where: 'expect.results["admin.1"]', expected: /actor\.index \(0-based\) or the "as" of an op/, didYouMean: 'admin.0',
  },
  {
    what: 'a wrong type (a boolean length)',
    file: () => scenarioFile('wrong-type', (s) => { op(s, 0)['length'] = true; }),
    where: 'actors.app[0].length', expected: /non-negative integer of bytes/,
  },
  {
    what: 'a missing required field',
    file: () => scenarioFile('missing-field', (s) => { delete op(s, 0)['prot']; }),
    where: 'actors.app[0].prot', expected: /needs "prot"/,
  },
  {
    what: 'a negative size',
    file: () => scenarioFile('negative-size', (s) => { op(s, 0)['length'] = -4096; }),
    where: 'actors.app[0].length', expected: /non-negative integer of bytes/,
  },
  {
    what: 'a non-integer size',
    file: () => scenarioFile('fractional-size', (s) => { op(s, 0)['length'] = 4096.5; }),
    where: 'actors.app[0].length', expected: /non-negative integer of bytes/,
  },
  {
    what: 'an unparseable size (an unknown unit)',
    file: () => scenarioFile('unit-size', (s) => { op(s, 0)['length'] = '64KB'; }),
    where: 'actors.app[0].length', expected: /"4K", "16p", "2M"/,
  },
  {
    what: 'an out-of-range size (beyond 2^53-1)',
    file: () => scenarioFile('huge-size', (s) => { op(s, 0)['length'] = '99999999T'; }),
    where: 'actors.app[0].length', expected: /non-negative integer of bytes/,
  },
  {
    what: 'a negative time',
    file: () => scenarioFile('negative-time', (s) => { op(s, 2)['at'] = -5; }),
    where: 'actors.app[2].at', expected: /non-negative integer of ns/,
  },
  {
    what: 'a non-integer time',
    file: () => scenarioFile('fractional-time', (s) => { op(s, 2)['at'] = 0.5; }),
    where: 'actors.app[2].at', expected: /non-negative integer of ns/,
  },
  {
    what: 'an unparseable time',
    file: () => scenarioFile('unit-time', (s) => { op(s, 2)['at'] = '30 parsecs'; }),
    where: 'actors.app[2].at', expected: /"10us", "1\.5ms", "2s"/,
  },
  {
    what: 'an out-of-range time',
    file: () => write('huge-time.json', JSON.stringify(base()).replace('"at":"30us"', '"at":1e300')),
    where: 'actors.app[2].at', expected: /non-negative integer of ns/,
  },
  {
    what: 'both "at" and "after" on one op',
    file: () => scenarioFile('at-after', (s) => { op(s, 2)['after'] = '1us'; }),
    where: 'actors.app[2]', expected: /"at" .* or "after" .*, not both/,
  },
  {
    what: 'a duplicate "as"',
    file: () => scenarioFile('duplicate-as', (s) => { (s['actors'] as Record<string, Ops>)['admin'] = [{ op: 'ftruncate', file: 'f', length: 0, as: 'mr' }]; }),
    where: 'actors.admin[0].as', expected: /already names the result of actors\.app\[1\]/,
  },
  {
    what: 'ops that wait on each other in a cycle',
    file: () => scenarioFile('cycle', (s) => {
      s['actors'] = {
        a: [{ op: 'munmap', addr: 'y', length: '4K' }, { op: 'mmap', length: '4K', prot: 'rw', flags: ['private'], as: 'x' }],
        b: [{ op: 'munmap', addr: 'x', length: '4K' }, { op: 'mmap', length: '4K', prot: 'rw', flags: ['private'], as: 'y' }],
      };
    }),
    where: /actors\.[ab]\[[01]\]/, expected: /ops wait on each other and can never start/,
  },
  {
    what: 'dax on a filesystem without DAX',
    file: () => scenarioFile('tmpfs-dax', (s) => { s['files'] = { f: { fs: 'tmpfs', size: '64K', dax: true } }; }),
    where: 'files.f.dax', expected: /fs "ext4" or "xfs", or no dax/,
  },
  {
    what: 'a contract feature not built yet (madvise collapse)',
    file: () => scenarioFile('not-implemented', (s) => { app(s).push({ op: 'madvise', addr: 'buf', length: '4K', advice: 'collapse' }); }),
    where: 'actors.app[3].advice', expected: /dontneed/,
  },
  {
    what: 'the same word inside a lease break\'s onBreak list',
    file: () => scenarioFile('not-implemented-onbreak', (s) => {
      app(s).push({ op: 'setlease', file: 'f', type: 'read', onBreak: [{ op: 'madvise', addr: 'buf', length: '4K', advice: 'collapse' }] });
    }),
    where: 'actors.app[3].onBreak[0].advice', expected: /dontneed/,
  },
  {
    what: 'a device op on a model that does not accept it (reg_mr on a gpu-hmm)',
    file: () => scenarioFile('reg-mr-on-gpu', (s) => { s['devices'] = { nic0: { model: 'gpu-hmm' } }; }),
    where: 'actors.app[1].op', expected: /a device whose model accepts reg_mr: gup-nic, odp-nic/,
  },
  {
    what: 'a device op on a model that does not accept it (mirror on a gup-nic)',
    file: () => scenarioFile('mirror-on-nic', (s) => { app(s).push({ op: 'mirror', device: 'nic0', addr: 'buf', length: '4K' }); }),
    where: 'actors.app[3].op', expected: /a device whose model accepts mirror: gpu-hmm/,
  },
  {
    what: 'an exception thrown inside a user\'s .ts scenario module',
    file: () => write('throws.scenario.ts', [
      "interface Knobs { pages: number }",
      "const knobs: Knobs = { pages: 4 };",
      "export default function make(): unknown {",
      "  if (knobs.pages > 2) throw new RangeError('too many pages for this scenario');",
      "  return {};",
      "}",
      '',
    ].join('\n')),
    where: /throws\.scenario\.ts: line 4\b/, expected: /RangeError: too many pages for this scenario \(at .*throws\.scenario\.ts:4\)/,
  },
  {
    what: 'a syntax error in a user\'s .ts scenario module',
    file: () => write('syntax.scenario.ts', "const pages: number = 4;\nexport default { name: 'x', actors: { a: [ } };\n"),
    where: /syntax\.scenario\.ts: line 2\b/, expected: /SyntaxError: TS\d+/,
  },
  {
    what: 'an exception thrown inside a user\'s .mjs scenario module',
    file: () => write('throws.mjs', "export default function () {\n  throw new Error('no such device in this lab');\n}\n"),
    where: /throws\.mjs: line 2\b/, expected: /no such device in this lab \(at .*throws\.mjs:2\)/,
  },
  {
    what: 'a module without a default export',
    file: () => write('no-default.mjs', 'export const scenario = {};\n'),
    where: 'no-default.mjs', expected: /export default a scenario, or a function returning one/,
  },
  {
    what: 'a missing file',
    file: () => join(tmp, 'no-such-scenario.json'),
    where: 'no-such-scenario.json', expected: /no such file/,
  },
  {
    what: 'a file type that is not a scenario',
    file: () => write('scenario.yaml', 'name: x\n'),
    where: 'scenario.yaml', expected: /\.json, \.js, \.mjs or \.ts/,
  },
  {
    what: 'an unknown CLI flag',
    file: () => scenarioFile('cli-flag', () => {}),
    args: ['--polcy', 'linux-6.12'],
    where: '--polcy', expected: /unknown flag/, didYouMean: '--policy',
  },
  {
    what: 'a bad CLI flag value',
    file: () => scenarioFile('cli-seed', () => {}),
    args: ['--seed', '-3x'],
    where: '--seed', expected: /non-negative integer/,
  },
];

beforeAll(() => {
  ensureBuilt();
  tmp = mkdtempSync(join(tmpdir(), 'pinsim-bad-input-'));
}, 180_000);

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('bad input: exit 2, where, what was expected, did-you-mean, no stack trace', () => {
  it('the catalogue covers at least 20 classes', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(20);
  });

  it.each(CASES)('$what', (c) => {
    const r = pinsim('run', c.file(), ...(c.args ?? []));
    const why = `stderr was:\n${r.stderr}`;
    expect(r.status, why).toBe(2);
    expect(r.stdout, why).toBe('');
    expect(r.stderr, why).not.toMatch(STACK_FRAME);
    expect(r.stderr, why).not.toContain('[pinsim internal bug]');
    if (typeof c.where === 'string') expect(r.stderr, why).toContain(c.where);
    else expect(r.stderr, why).toMatch(c.where);
    if (typeof c.expected === 'string') expect(r.stderr, why).toContain(c.expected);
    else expect(r.stderr, why).toMatch(c.expected);
    if (c.didYouMean !== undefined) {
      expect(r.stderr, why).toMatch(new RegExp(`did you mean "?${c.didYouMean.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&')}"?\\?`));
    }
  });
});

describe('values the kernel refuses are results, not bad input', () => {
  it('munmap of length 0 and an unaligned address reach the kernel: EINVAL results, exit 0 or 1', () => {
    const file = scenarioFile('kernel-refuses', (s) => {
      app(s).push({ op: 'munmap', addr: 'buf', length: 0 }, { op: 'munmap', addr: 'buf', offset: 123, length: '4K' });
    });
    const r = pinsim('run', file, '--json');
    expect([0, 1]).toContain(r.status);
    const result = JSON.parse(r.stdout) as { results: Record<string, string> };
    expect(result.results['app.3']).toBe('EINVAL');
    expect(result.results['app.4']).toBe('EINVAL');
  });
});
