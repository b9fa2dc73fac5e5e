/**
 * The bad-input catalogue (issues 9 and 16, DESIGN §5/§8): every class of input the syscall ABI
 * cannot carry, and every input that once crashed, hung or silently passed, each fed to the built
 * CLI as a newcomer would, through `pinsim run <file>` and through one `pinsim check <dir>` over
 * all of them. Bad input must exit 2 with the JSON path (or file:line), what was expected, a
 * did-you-mean where a close valid word exists, and no stack trace; nothing may exit 3; a check
 * whose expectation does not hold must fail (exit 1), never pass silently. Values the ABI carries
 * but the kernel refuses (length 0 …) are results, not input errors: they exit 0 or 1.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt } from '../helpers/dist.js';
import { TRACE_HASH_SCHEMA } from '../../src/engine/trace.js';

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

function writeBytes(name: string, content: Buffer): string {
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
  /** The exit status of `run` (default 2, bad input); 1 for input that runs and must not pass. */
  exit?: number;
  /** Only a CLI usage: the file itself is good, so `check` of it is not part of the catalogue. */
  cliOnly?: boolean;
  /** The command (default run). */
  command?: string;
}

const MODULE_TIMEOUT = ['--load-timeout', '2s'];
const json = (name: string, value: unknown): string => write(`${name}.json`, JSON.stringify(value));
const mjs = (name: string, code: string): string => write(`${name}.scenario.mjs`, code);
const kernelOf = (s: Json): Json => (s['kernel'] ??= {}) as Json;
const deviceOf = (s: Json): Json => (s['devices'] as Json)['nic0'] as Json;

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
    cliOnly: true,
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
    what: 'an advice madvise does not know (a typo of collapse)',
    file: () => scenarioFile('unknown-advice', (s) => { app(s).push({ op: 'madvise', addr: 'buf', length: '4K', advice: 'colapse' }); }),
    where: 'actors.app[3].advice', expected: /dontneed/,
  },
  {
    what: 'the same word inside a lease break\'s onBreak list',
    file: () => scenarioFile('unknown-advice-onbreak', (s) => {
      app(s).push({ op: 'setlease', file: 'f', type: 'read', onBreak: [{ op: 'madvise', addr: 'buf', length: '4K', advice: 'colapse' }] });
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
    cliOnly: true,
  },
  {
    what: 'a bad CLI flag value',
    file: () => scenarioFile('cli-seed', () => {}),
    args: ['--seed', '-3x'],
    where: '--seed', expected: /non-negative integer/,
    cliOnly: true,
  },

  // ---- Text that is not one JSON scenario (issue 16) ----
  { what: 'an empty file', file: () => write('empty.json', ''), where: 'line 1 column 1', expected: /invalid JSON/ },
  { what: 'a file of whitespace only', file: () => write('blank.json', '\n \n'), where: /line \d+ column \d+/, expected: /invalid JSON/ },
  { what: 'a top-level array', file: () => json('top-array', [base()]), where: 'top-array.json', expected: /expected a scenario object, got an array/ },
  { what: 'a top-level string', file: () => json('top-string', 'x'), where: 'top-string.json', expected: /got string "x"/ },
  { what: 'a top-level null', file: () => json('top-null', null), where: 'top-null.json', expected: /got null/ },
  { what: 'a duplicate top-level key', file: () => write('dup-top.json', '{"name":"a","name":"b","actors":{}}'), where: 'line 1 column 13', expected: /name: duplicate key "name" \(first at line 1 column 2\)/ },
  { what: 'a duplicate actor (two "app")', file: () => write('dup-actor.json', '{"name":"x","actors":{\n "app":[],\n "app":[]}}'), where: 'line 3 column 2', expected: /actors\.app: duplicate key "app"/ },
  { what: 'a duplicate field in an op', file: () => write('dup-field.json', '{"name":"x","actors":{"a":[{"op":"sleep","duration":1,"duration":2}]}}'), where: 'line 1 column 55', expected: /actors\.a\[0\]\.duration: duplicate key "duration" \(first at line 1 column 42\)/ },
  { what: 'a duplicate key spelt with an escape', file: () => write('dup-escape.json', '{"name":"x","actors":{"app":[],"\\u0061pp":[]}}'), where: 'line 1 column 32', expected: /duplicate key "app"/ },
  { what: 'a number beyond a double (1e400)', file: () => write('1e400.json', JSON.stringify(base()).replace('"at":"30us"', '"at":1e400')), where: /line 1 column \d+/, expected: /actors\.app\[2\]\.at: number 1e400 is beyond the largest number/ },
  { what: 'a negative number beyond a double', file: () => write('-1e999.json', JSON.stringify(base()).replace('"length":0', '"length":-1e999')), where: /line 1 column \d+/, expected: /number -1e999 is beyond/ },
  { what: 'nesting 1000 deep', file: () => write('deep.json', `{"name":"x","actors":{},"junk":${'['.repeat(1000)}${']'.repeat(1000)}}`), where: /line 1 column \d+/, expected: /more than 64 deep.*at most 64 levels of nesting/ },
  { what: 'two byte-order marks', file: () => write('bom-twice.json', '\ufeff\ufeff' + JSON.stringify(base())), where: 'line 1 column 1', expected: /a second byte-order mark/ },
  { what: 'UTF-16 little-endian with its byte-order mark', file: () => writeBytes('utf16le.json', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(JSON.stringify(base()), 'utf16le')])), where: 'line 1 column 1', expected: /UTF-16 byte-order mark \(FF FE/ },
  { what: 'UTF-16 big-endian with its byte-order mark', file: () => writeBytes('utf16be.json', Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(JSON.stringify(base()), 'utf16le').swap16()])), where: 'line 1 column 1', expected: /UTF-16 byte-order mark \(FE FF/ },
  { what: 'UTF-16 without a byte-order mark', file: () => writeBytes('utf16-nobom.json', Buffer.from(JSON.stringify(base()), 'utf16le')), where: 'line 1 column 1', expected: /NUL character at offset 1: this is UTF-16 or binary/ },
  { what: 'binary data', file: () => writeBytes('binary.json', Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x01, 0x00, 0xc3, 0x28, 0xff])), where: 'line 1 column 1', expected: /not UTF-8 JSON text/ },
  { what: 'a file larger than the limit (sparse, 300 MiB)', file: () => { const f = write('huge.json', ''); truncateSync(f, 300 * 1024 * 1024); return f; }, where: 'huge.json', expected: /at most 256 MiB/ },
  { what: 'a directory named like a scenario', file: () => { const d = join(tmp, 'dir.json'); mkdirSync(d, { recursive: true }); return d; }, where: 'dir.json', expected: /is a directory/, cliOnly: true },
  { what: 'a symlink loop', file: () => { const f = join(tmp, 'loop.json'); symlinkSync(f, f); return f; }, where: 'loop.json', expected: /cannot read: ELOOP/ },

  // ---- The shape of a scenario ----
  { what: 'no name', file: () => scenarioFile('no-name', (s) => { delete s['name']; }), where: 'name', expected: /missing required field "name"/ },
  { what: 'no actors', file: () => scenarioFile('no-actors', (s) => { delete s['actors']; }), where: 'actors', expected: /missing required field "actors"/ },
  { what: 'a name that is not a string', file: () => scenarioFile('name-number', (s) => { s['name'] = 7; }), where: 'name', expected: /expected a string, got number 7/ },
  { what: 'actors as an array', file: () => scenarioFile('actors-array', (s) => { s['actors'] = []; }), where: 'actors', expected: /an object of actors/ },
  { what: 'an actor\'s ops as a string', file: () => scenarioFile('ops-string', (s) => { (s['actors'] as Json)['app'] = 'mmap'; }), where: 'actors.app', expected: /an array of ops/ },
  { what: 'an op that is a number', file: () => scenarioFile('op-number', (s) => { app(s)[0] = 3 as unknown as Json; }), where: 'actors.app[0]', expected: /an op object/ },
  { what: 'an op without "op"', file: () => scenarioFile('op-missing', (s) => { delete op(s, 0)['op']; }), where: 'actors.app[0].op', expected: /missing required field "op"/ },
  { what: 'an unknown kernel field', file: () => scenarioFile('kernel-field', (s) => { kernelOf(s)['memroy'] = '1G'; }), where: 'kernel.memroy', expected: /one of .*memory/, didYouMean: 'memory' },
  { what: 'kernel as a string', file: () => scenarioFile('kernel-string', (s) => { s['kernel'] = 'linux-6.12'; }), where: 'kernel', expected: /expected an object/ },
  { what: 'files as an array', file: () => scenarioFile('files-array', (s) => { s['files'] = [{ fs: 'ext4' }]; }), where: 'files', expected: /an object of files/ },
  { what: 'a file without fs', file: () => scenarioFile('file-no-fs', (s) => { s['files'] = { f: { size: '64K' } }; }), where: 'files.f.fs', expected: /missing required field "fs"/ },
  { what: 'a file without size', file: () => scenarioFile('file-no-size', (s) => { s['files'] = { f: { fs: 'ext4' } }; }), where: 'files.f.size', expected: /missing required field "size"/ },
  { what: 'a device without model', file: () => scenarioFile('device-no-model', (s) => { s['devices'] = { nic0: {} }; }), where: 'devices.nic0.model', expected: /missing required field "model"/ },
  { what: 'a device parameter of the wrong type', file: () => scenarioFile('param-type', (s) => { deviceOf(s)['dmaLatency'] = true; }), where: 'devices.nic0.dmaLatency', expected: /non-negative integer of ns/ },
  { what: 'a device enum parameter out of its words', file: () => scenarioFile('param-enum', (s) => { deviceOf(s)['pcieErrorHandling'] = 'abrt'; }), where: 'devices.nic0.pcieErrorHandling', expected: /one of abort, hang/, didYouMean: 'abort' },
  { what: 'a declared process nothing runs in', file: () => scenarioFile('process-unused', (s) => { s['processes'] = { db: {} }; }), where: 'processes.db', expected: /no actor runs in process "db"/ },
  { what: 'an unknown process field', file: () => scenarioFile('process-field', (s) => { s['processes'] = { app: { memlok: '1M' } }; }), where: 'processes.app.memlok', expected: /one of memlock, capIpcLock/, didYouMean: 'memlock' },
  { what: 'an actor object without process', file: () => scenarioFile('actor-no-process', (s) => { (s['actors'] as Json)['app'] = { ops: app(s) }; }), where: 'actors.app.process', expected: /missing required field "process"/ },
  { what: 'an actor object with an unknown field', file: () => scenarioFile('actor-field', (s) => { (s['actors'] as Json)['app'] = { process: 'app', ops: app(s), opps: [] }; }), where: 'actors.app.opps', expected: /one of process, ops/, didYouMean: 'ops' },
  { what: 'an actor in a process that is an MR\'s name', file: () => scenarioFile('actor-process-kind', (s) => { (s['actors'] as Json)['kid'] = { process: 'mr', ops: [{ op: 'sleep', duration: '1us' }] }; }), where: 'actors.kid.process', expected: /"mr" is the result of reg_mr .*not a process/ },
  { what: 'flags that are not an array', file: () => scenarioFile('flags-string', (s) => { op(s, 0)['flags'] = 'shared'; }), where: 'actors.app[0].flags', expected: /an array of shared, private/ },
  { what: 'an unknown prot', file: () => scenarioFile('prot', (s) => { op(s, 0)['prot'] = 'wr'; }), where: 'actors.app[0].prot', expected: /one of none, r, rw, rx, rwx/ },
  { what: 'an unknown kernel.thp mode', file: () => scenarioFile('kernel-thp', (s) => { kernelOf(s)['thp'] = 'alwys'; }), where: 'kernel.thp', expected: /one of never, madvise, always/, didYouMean: 'always' },
  { what: 'kernel.writeback as a time', file: () => scenarioFile('writeback-time', (s) => { kernelOf(s)['writeback'] = '5ms'; }), where: 'kernel.writeback', expected: /an object \{ period \}/ },
  { what: 'kernel.writeback without period', file: () => scenarioFile('writeback-no-period', (s) => { kernelOf(s)['writeback'] = {}; }), where: 'kernel.writeback.period', expected: /missing required field "period"/ },
  { what: 'kernel.memory beyond what pinsim simulates', file: () => scenarioFile('memory-64g', (s) => { kernelOf(s)['memory'] = '64G'; }), where: 'kernel.memory', expected: /at most 16G \(pinsim's limit\)/ },
  { what: 'kernel.memory 64G populated (it ran past 90 s, then aborted V8)', file: () => scenarioFile('memory-64g-populate', (s) => { kernelOf(s)['memory'] = '64G'; app(s).splice(0, app(s).length, { op: 'mmap', length: '64G', prot: 'rw', flags: ['private', 'populate'] }); }), where: 'kernel.memory', expected: /at most 16G/ },
  { what: 'onBreak lists nested beyond the limit', file: () => scenarioFile('onbreak-deep', (s) => { let ob: Json = { op: 'setlease', file: 'f', type: 'read' }; const top = ob; for (let i = 0; i < 20; i++) { const n: Json = { op: 'setlease', file: 'f', type: 'read' }; ob['onBreak'] = [n]; ob = n; } app(s).push(top); }), where: /actors\.app\[3\](\.onBreak\[0\]){15}\.onBreak/, expected: /at most 16 nested onBreak lists/ },
  { what: 'more ops than the limit', file: () => write('too-many-ops.json', `{"name":"x","actors":{"a":[${'{"op":"sleep","duration":1},'.repeat(1_000_000)}{"op":"sleep","duration":1}]}}`), where: 'actors.a[1000000]', expected: /at most 1000000 ops/ },

  // ---- Values ----
  { what: 'a size unit that is an Object.prototype key', file: () => scenarioFile('unit-constructor', (s) => { op(s, 2)['length'] = '4constructor'; }), where: 'actors.app[2].length', expected: /bad size "4constructor"/ },
  { what: 'a time unit that is an Object.prototype key', file: () => scenarioFile('unit-tostring', (s) => { op(s, 2)['at'] = '30toString'; }), where: 'actors.app[2].at', expected: /bad time "30toString"/ },
  { what: 'a hex address above 2^53-1', file: () => scenarioFile('addr-hex', (s) => { app(s).push({ op: 'munmap', addr: '0xffffffffffffffff', length: '4K' }); }), where: 'actors.app[3].addr', expected: /above 2\^53-1/ },
  { what: 'a negative address', file: () => scenarioFile('addr-negative', (s) => { app(s).push({ op: 'munmap', addr: -4096, length: '4K' }); }), where: 'actors.app[3].addr', expected: /bad address -4096/ },
  { what: 'an address that is a boolean', file: () => scenarioFile('addr-bool', (s) => { app(s).push({ op: 'munmap', addr: true, length: '4K' }); }), where: 'actors.app[3].addr', expected: /expected a string, got boolean true/ },
  { what: 'a reclaim target that is neither a size nor "buffers"', file: () => scenarioFile('reclaim-target', (s) => { app(s).push({ op: 'reclaim', target: 'bufers' }); }), where: 'actors.app[3].target', expected: /"buffers" or/, didYouMean: 'buffers' },
  { what: 'a bool field given a string', file: () => scenarioFile('wait-string', (s) => { op(s, 2)['wait'] = 'false'; }), where: 'actors.app[2].wait', expected: /true or false/ },

  // ---- Expectations ----
  { what: 'expect as an array', file: () => scenarioFile('expect-array', (s) => { s['expect'] = []; }), where: 'expect', expected: /an expect object/ },
  { what: 'an unknown expect field', file: () => scenarioFile('expect-field', (s) => { s['expect'] = { violation: [] }; }), where: 'expect.violation', expected: /one of violations/, didYouMean: 'violations' },
  { what: 'expect.violations as a string', file: () => scenarioFile('violations-string', (s) => { s['expect'] = { violations: 'lost-write' }; }), where: 'expect.violations', expected: /an array of violation kinds/ },
  { what: 'an unknown result word', file: () => scenarioFile('result-word', (s) => { s['expect'] = { results: { 'admin.0': 'okay' } }; }), where: 'expect.results["admin.0"]', expected: /an errno name, a signal/, didYouMean: 'ok' },
  { what: 'an observation of a name no read produces', file: () => scenarioFile('observed-name', (s) => { s['expect'] = { observed: { seen: 'w' } }; }), where: 'expect.observed.seen', expected: /a read/ },
  { what: 'an observation of an undeclared file\'s storage', file: () => scenarioFile('observed-storage', (s) => { s['expect'] = { observed: { 'storage:g@0': 'zero' } }; }), where: 'expect.observed["storage:g@0"]', expected: /no file "g" is declared .*storage:<file>@<page index>/ },
  { what: 'endsBy with a bad time', file: () => scenarioFile('endsby-time', (s) => { s['expect'] = { endsBy: { 'admin.0': 'soon' } }; }), where: 'expect.endsBy["admin.0"]', expected: /"10us", "1\.5ms", "2s"/ },
  { what: 'a misspelt opStats counter (it failed later with "got (none)")', file: () => scenarioFile('opstats-counter', (s) => { s['expect'] = { opStats: { w: { faluts: 1 } } }; }), where: 'expect.opStats.w.faluts', expected: /unknown op counter "faluts"/, didYouMean: 'faults' },
  { what: 'an opStats counter that is not a number', file: () => scenarioFile('opstats-value', (s) => { s['expect'] = { opStats: { w: { faults: '1' } } }; }), where: 'expect.opStats.w.faults', expected: /expected a number/ },
  { what: 'an empty outcome in forbid', file: () => scenarioFile('forbid-empty', (s) => { s['expect'] = { forbid: [{}] }; }), where: 'expect.forbid[0]', expected: /a violation kind or a \{ read: write \} outcome/ },
  { what: 'expectByPolicy under an unknown policy', file: () => scenarioFile('bypolicy-unknown', (s) => { s['expectByPolicy'] = { 'linux-6.21': { violations: [] } }; }), where: 'expectByPolicy["linux-6.21"]', expected: /unknown policy/, didYouMean: 'linux-6.12' },
  { what: 'a skip reason that is not a string', file: () => scenarioFile('skip-bool', (s) => { s['expectByPolicy'] = { 'linux-6.12': { skip: true } }; }), where: 'expectByPolicy["linux-6.12"].skip', expected: /expected a string/ },

  // ---- Replays ----
  { what: 'replay choices that are not an array', file: () => scenarioFile('replay-choices', (s) => { s['replay'] = { choices: '0,1' }; }), where: 'replay.choices', expected: /an array of non-negative integers/ },
  { what: 'a negative replay choice', file: () => scenarioFile('replay-negative', (s) => { s['replay'] = { choices: [0, -1] }; }), where: 'replay.choices[1]', expected: /non-negative integer/ },
  { what: 'a replay seed that is a string', file: () => scenarioFile('replay-seed', (s) => { s['replay'] = { seed: '1' }; }), where: 'replay.seed', expected: /non-negative integer/ },
  { what: 'a replay under an unknown policy', file: () => scenarioFile('replay-policy', (s) => { s['replay'] = { policy: 'revok' }; }), where: 'replay.policy', expected: /unknown policy/, didYouMean: 'revoke' },
  { what: 'a replay field pinsim does not know', file: () => scenarioFile('replay-field', (s) => { s['replay'] = { choice: [] }; }), where: 'replay.choice', expected: /one of seed, policy/, didYouMean: 'choices' },

  // ---- Names users choose that are Object.prototype keys ----
  { what: 'a device model named "toString"', file: () => scenarioFile('model-tostring', (s) => { deviceOf(s)['model'] = 'toString'; }), where: 'devices.nic0.model', expected: /unknown device model "toString"/ },
  { what: 'a device model named "__proto__"', file: () => scenarioFile('model-proto', (s) => { deviceOf(s)['model'] = '__proto__'; }), where: 'devices.nic0.model', expected: /unknown device model "__proto__"/ },
  { what: 'an actor named "__proto__" whose expectation fails (its ops were dropped)', file: () => scenarioFile('actor-proto', (s) => { const actors = s['actors'] as Json; s['actors'] = Object.fromEntries([['__proto__', actors['app']], ['admin', actors['admin']]]); s['expect'] = { results: Object.fromEntries([['__proto__.0', 'EPERM']]) }; }), where: /results\.__proto__\.0: expected EPERM, got ok/, expected: /expectation-failed/, exit: 1 },
  { what: 'an "as" named "__proto__" whose expectation fails (check passed)', file: () => scenarioFile('as-proto', (s) => { op(s, 2)['as'] = '__proto__'; s['expect'] = Object.fromEntries([['results', Object.fromEntries([['__proto__', 'EFAULT']])]]); }), where: /results\.__proto__: expected EFAULT, got ok/, expected: /expectation-failed/, exit: 1 },
  { what: 'a file named "__proto__" (it crashed in do_truncate)', file: () => write('file-proto.json', JSON.stringify(base()).replaceAll('"f"', '"__proto__"')), where: /lost-write/, expected: /outcome\s+expectation-failed \(violations: lost-write\)/, exit: 1 },
  { what: 'a device named "constructor"', file: () => write('device-constructor.json', JSON.stringify(base()).replaceAll('"nic0"', '"constructor"')), where: /lost-write/, expected: /outcome\s+expectation-failed \(violations: lost-write\)/, exit: 1 },

  // ---- Scenario modules (issue 16: nothing in them may hang or crash pinsim) ----
  { what: 'a module that throws at import', file: () => mjs('throw-import', 'const n = 1;\nthrow new TypeError(`bad n ${n}`);\n'), where: /throw-import\.scenario\.mjs: line 2\b/, expected: /TypeError: bad n 1 \(at .*throw-import\.scenario\.mjs:2\)/ },
  { what: 'a module that throws a non-Error', file: () => mjs('throw-string', 'export default () => { throw "no"; };\n'), where: 'throw-string.scenario.mjs', expected: /threw a non-Error value: no/ },
  { what: 'a module with a syntax error', file: () => mjs('syntax', 'export default {\n  name: "x",,\n};\n'), where: /syntax\.scenario\.mjs: line 2\b/, expected: /SyntaxError/ },
  { what: 'a module importing a file that does not exist', file: () => mjs('import-missing', "import x from './nowhere.mjs';\nexport default x;\n"), where: 'import-missing.scenario.mjs', expected: /Cannot find module/ },
  { what: 'a default export that is null', file: () => mjs('default-null', 'export default null;\n'), where: 'default-null.scenario.mjs', expected: /expected a scenario object, got null/ },
  { what: 'a default export that is a number', file: () => mjs('default-number', 'export default 42;\n'), where: 'default-number.scenario.mjs', expected: /got number 42/ },
  { what: 'a default export that is an array', file: () => mjs('default-array', 'export default [];\n'), where: 'default-array.scenario.mjs', expected: /got an array/ },
  { what: 'a default export that is an Error', file: () => mjs('default-error', 'export default new Error("x");\n'), where: 'default-error.scenario.mjs', expected: /missing required field "name"/ },
  { what: 'a default export whose promise never settles (it exited 0 with no output)', file: () => mjs('never', 'export default new Promise(() => {});\n'), where: 'never.scenario.mjs', expected: /a promise that never settles/ },
  { what: 'a top-level await that never settles', file: () => mjs('tla', 'await new Promise(() => {});\nexport default {};\n'), where: 'tla.scenario.mjs', expected: /never settles/ },
  { what: 'a function whose promise never settles while a timer keeps it alive', file: () => mjs('keepalive', 'setInterval(() => {}, 100);\nexport default () => new Promise(() => {});\n'), args: MODULE_TIMEOUT, where: 'keepalive.scenario.mjs', expected: /within 2000 ms \(it was stopped/ },
  { what: 'a module that loops forever', file: () => mjs('loop', 'for (;;) {}\n'), args: MODULE_TIMEOUT, where: 'loop.scenario.mjs', expected: /within 2000 ms/ },
  { what: 'a module that calls process.exit()', file: () => mjs('exit', 'process.exit(7);\n'), where: 'exit.scenario.mjs', expected: /called process\.exit\(7\)/ },
  { what: 'a module that allocates without end', file: () => mjs('oom', 'const a = [];\nfor (;;) a.push(new Array(1e6).fill(1));\n'), where: 'oom.scenario.mjs', expected: /ran out of memory \(its heap is limited to 1024 MiB\)/ },
  { what: 'an exported getter that throws (it was an internal bug)', file: () => mjs('getter', "export default { name: 'g', actors: { a: [{ op: 'sleep', get duration() {\n  throw new Error('no duration today');\n} }] } };\n"), where: /getter\.scenario\.mjs: line 2\b/, expected: /reading actors\.a\[0\]\.duration of the scenario module's value threw Error: no duration today/ },
  { what: 'a Proxy whose keys cannot be listed', file: () => mjs('proxy', "export default new Proxy({}, { ownKeys() { throw new Error('no keys'); } });\n"), where: 'proxy.scenario.mjs', expected: /threw Error: no keys/ },
  { what: 'a BigInt size (it was an internal bug)', file: () => mjs('bigint', "export default { name: 'b', actors: { a: [{ op: 'mmap', length: 4096n, prot: 'rw', flags: ['private'] }] } };\n"), where: 'actors.a[0].length', expected: /got a BigInt 4096n/ },
  { what: 'a function where a value belongs', file: () => mjs('function-value', "export default { name: 'f', actors: { a: [{ op: 'sleep', duration: () => 5 }] } };\n"), where: 'actors.a[0].duration', expected: /is a function \(a scenario is plain data\)/ },
  { what: 'a symbol where a value belongs', file: () => mjs('symbol-value', "export default { name: Symbol('s'), actors: {} };\n"), where: 'name', expected: /is a symbol/ },
  { what: 'a scenario that contains itself', file: () => mjs('cycle', "const op = { op: 'setlease', file: 'f', type: 'read' };\nop.onBreak = [op];\nexport default { name: 'c', files: { f: { fs: 'ext4', size: '4K' } }, actors: { a: [op] } };\n"), where: 'actors.a[0].onBreak[0]', expected: /contains itself/ },
  { what: 'a module value nested beyond the limit', file: () => mjs('deep', "let v = 1;\nfor (let i = 0; i < 100; i++) v = [v];\nexport default { name: 'd', actors: {}, junk: v };\n"), where: /junk(\[0\])+/, expected: /more than 64 deep/ },
  { what: 'onBreak lists nested 1000 deep by a module (it overflowed the stack)', file: () => mjs('onbreak-1000', "const top = { op: 'setlease', file: 'f', type: 'read' };\nlet cur = top;\nfor (let i = 0; i < 1000; i++) { const n = { op: 'setlease', file: 'f', type: 'read' }; cur.onBreak = [n]; cur = n; }\nexport default { name: 'd', files: { f: { fs: 'ext4', size: '4K' } }, actors: { a: [top] } };\n"), where: /actors\.a\[0\]/, expected: /more than 64 deep/ },
  { what: 'a size of Infinity from a module', file: () => mjs('infinity', "export default { name: 'i', actors: { a: [{ op: 'sleep', duration: Infinity }] } };\n"), where: 'actors.a[0].duration', expected: /bad time Infinity \(beyond 2\^53-1\)/ },
  { what: 'a size of NaN from a module', file: () => mjs('nan', "export default { name: 'n', actors: { a: [{ op: 'sleep', duration: NaN }] } };\n"), where: 'actors.a[0].duration', expected: /bad time NaN/ },
  { what: 'a .ts module that throws inside its function', file: () => write('ts-throws.scenario.ts', 'export default (p: { params: Record<string, string> }): unknown => {\n  if (!p.params["n"]) throw new RangeError("needs --param n");\n  return {};\n};\n'), where: /ts-throws\.scenario\.ts: line 2\b/, expected: /RangeError: needs --param n/ },

  // ---- The command line ----
  { what: 'an empty name in a --policy list', file: () => scenarioFile('cli-policy-list', () => {}), args: ['--policy', 'linux-6.12,,revoke'], where: '--policy', expected: /an empty policy name in "linux-6\.12,,revoke"/, cliOnly: true, command: 'check' },
  { what: '--jobs 0', file: () => scenarioFile('cli-jobs-0', () => {}), args: ['--jobs', '0'], where: '--jobs', expected: /must be from 1 to \d+ on this machine, not 0/, cliOnly: true, command: 'explore' },
  { what: '--jobs 100000 (it ran V8 out of memory)', file: () => scenarioFile('cli-jobs-huge', () => {}), args: ['--jobs', '100000'], where: '--jobs', expected: /not 100000 \(pinsim's limit: 4 worker threads per CPU/, cliOnly: true, command: 'explore' },
  { what: 'pct with --depth 0', file: () => scenarioFile('cli-depth-0', () => {}), args: ['--strategy', 'pct', '--depth', '0'], where: '--depth', expected: /at least 1/, cliOnly: true, command: 'explore' },
  { what: 'a --load-timeout that is not a time', file: () => scenarioFile('cli-load-timeout', () => {}), args: ['--load-timeout', 'forever'], where: '--load-timeout', expected: /a time of at least 1ms/, cliOnly: true },
  { what: 'a --param without "="', file: () => scenarioFile('cli-param', () => {}), args: ['--param', 'n'], where: '--param', expected: /key=value/, cliOnly: true },
  { what: 'run given two scenarios', file: () => scenarioFile('cli-two', () => {}), args: ['other.json'], where: 'pinsim run', expected: /got extra "other\.json"/, cliOnly: true },
  { what: '--json and --format ktap together', file: () => scenarioFile('cli-json-ktap', () => {}), args: ['--json', '--format', 'ktap'], where: '--json', expected: /choose one/, cliOnly: true, command: 'check' },
  { what: 'run with --policy all', file: () => scenarioFile('cli-run-all', () => {}), args: ['--policy', 'all'], where: 'pinsim run', expected: /takes one policy/, cliOnly: true },
];

interface Ran { status: number | null; stdout: string; stderr: string }

/** pinsimAsync() - the built CLI on @args, in @tmp; resolves when it exits. */
function pinsimAsync(args: string[]): Promise<Ran> {
  return new Promise((settle) => {
    const child = spawn(process.execPath, [MAIN, ...args], { cwd: tmp });
    let stdout = '', stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    child.on('close', (status) => settle({ status, stdout, stderr }));
  });
}

/** Every case's file, its `run` (or own command), and one `check` of every file together. */
const files: string[] = [];
const ran: Ran[] = [];
let checked: Ran = { status: null, stdout: '', stderr: '' };

beforeAll(async () => {
  ensureBuilt();
  tmp = mkdtempSync(join(tmpdir(), 'pinsim-bad-input-'));
  for (const c of CASES) files.push(c.file());
  // Three at a time: the machine is shared, and a module case waits for its load timeout.
  const queue = CASES.map((c, i) => () => pinsimAsync([c.command ?? 'run', files[i] as string, ...(c.args ?? [])]).then((r) => { ran[i] = r; }));
  const lanes = Array.from({ length: 3 }, async () => { for (let job = queue.shift(); job; job = queue.shift()) await job(); });
  const all = CASES.flatMap((c, i) => (c.cliOnly ? [] : [files[i] as string]));
  lanes.push(pinsimAsync(['check', ...all, ...MODULE_TIMEOUT]).then((r) => { checked = r; }));
  await Promise.all(lanes);
}, 600_000);

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('bad input: exit 2, where, what was expected, did-you-mean, no stack trace', () => {
  it('the catalogue covers at least 100 classes', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(100);
  });

  it.each(CASES.map((c, i) => ({ ...c, i })))('$what', (c) => {
    const r = ran[c.i] as Ran;
    const out = (c.exit ?? 2) === 2 ? r.stderr : r.stdout + r.stderr;
    const why = `stdout was:\n${r.stdout}\nstderr was:\n${r.stderr}`;
    expect(r.status, why).toBe(c.exit ?? 2);
    if ((c.exit ?? 2) === 2) expect(r.stdout, why).toBe('');
    expect(r.stderr, why).not.toMatch(STACK_FRAME);
    expect(r.stderr, why).not.toContain('[pinsim internal bug]');
    if (typeof c.where === 'string') expect(out, why).toContain(c.where);
    else expect(out, why).toMatch(c.where);
    if (typeof c.expected === 'string') expect(out, why).toContain(c.expected);
    else expect(out, why).toMatch(c.expected);
    if (c.didYouMean !== undefined) {
      expect(out, why).toMatch(new RegExp(`did you mean "?${c.didYouMean.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&')}"?\\?`));
    }
  });
});

describe('check over the whole catalogue: every file checked whatever happens to one', () => {
  const fileCases = CASES.map((c, i) => ({ ...c, i })).filter((c) => !c.cliOnly);

  it('exits 2 (the worst: bad input), with no internal bug and no stack trace', () => {
    expect(checked.status, checked.stderr.slice(-3000)).toBe(2);
    expect(checked.stderr).not.toMatch(STACK_FRAME);
    expect(checked.stderr).not.toContain('[pinsim internal bug]');
    expect(checked.stdout).toMatch(new RegExp(`^0 passed, ${fileCases.filter((c) => c.exit === 1).length} failed, 0 skipped, ${fileCases.filter((c) => (c.exit ?? 2) === 2).length} invalid$`, 'm'));
  });

  it.each(fileCases)('check: $what', (c) => {
    const file = files[c.i] as string;
    const line = checked.stdout.split('\n').find((l) => l.endsWith(`(${file})`) || l.startsWith(`INVALID ${file}`)) ?? '(no line)';
    expect(line).toMatch((c.exit ?? 2) === 2 ? /^INVALID / : /^FAIL /);
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

describe('a replay whose saved choices do not fit the run says why', () => {
  it('pinsim replay: exit 1, "did NOT reproduce", and the choice that named no candidate', () => {
    const s = JSON.parse(readFileSync(join(ROOT, 'examples/explore/odp-fault-vs-truncate.json'), 'utf8')) as Json;
    s['replay'] = { seed: 1, policy: 'linux-6.12', window: 1000, choices: [7], traceHash: '0000000000000000', hashSchema: TRACE_HASH_SCHEMA };
    const r = pinsim('replay', write('replay-out-of-range.json', JSON.stringify(s)));
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/replay did NOT reproduce: expected traceHash 0000000000000000, got [0-9a-f]{16}\n {2}replayed choice 7 at choice point 0 is out of range: only \d+ candidates there/);
    expect(r.stderr).not.toMatch(STACK_FRAME);
  });
});
