/**
 * validateScenario(): the input boundary of DESIGN §5. It turns what users write (untrusted) into a
 * `Scenario` (units resolved, defaults applied), or into every issue it finds, each with a JSON path
 * and, for an unknown word, the closest valid one. Values the syscall ABI can carry but the kernel
 * refuses (length 0, unaligned addresses, conflicting flags, an unmapped range) pass through: the
 * simulated kernel answers them with its errno.
 *
 * Paths: dots for identifier keys, `[i]` for indices, `["x.y"]` for other keys, `""` for the root:
 * `actors.app[2].length`, `expectByPolicy["linux-6.12"].results["admin.0"]`.
 *
 * Longer than the house ~300 lines on purpose: the brief for this layer limits it to one validation
 * file. Its sections (Check, top level, ops and names, expectations) split cleanly when allowed.
 */
import { parseSize, parseTime } from '../engine/clock.js';
import type { Parsed } from '../engine/clock.js';
import { closest } from './closest.js';
import { FS_VALUES, OP_SCHEMA, REF_KIND } from './schema.js';
import type { FieldSpec, OpSchema, RefKind } from './schema.js';
import { ALL_OPS } from './types.js';
import type {
  ActorSpec, DeviceSpec, Expect, FileSpec, Issue, KernelSpec, Op, OutcomeSpec, PolicyExpect, ProcessSpec,
  ReplaySpec, Scenario, ValidationResult,
} from './types.js';

/** How a device model's parameter is parsed (the model declares these). */
export interface ParamSpec { kind: 'time' | 'size' | 'bool' | 'int' | 'enum'; values?: readonly string[] }

/** What validation may accept: the contract's names and which of them are built (from the registry). */
export interface ValidationContext {
  /** every policy name usable in expectByPolicy keys (contract names incl. not-built ones) */
  policies: readonly string[];
  /** kernel.policy / replay.policy must be one of these */
  builtPolicies: readonly string[];
  /** all contract device model names ('gup-nic', 'odp-nic', 'gpu-hmm') */
  knownModels: readonly string[];
  /** BUILT models → their params; a known-but-unbuilt model → 'not-implemented' */
  devices: Readonly<Record<string, Readonly<Record<string, ParamSpec>>>>;
  /** an op of ALL_OPS not in here → 'not-implemented'; not in ALL_OPS → 'unknown-op' */
  implementedOps: ReadonlySet<string>;
  /** the §7 kinds, for expect.violations / forbid / allow */
  invariantKinds: readonly string[];
}

/** validateScenario() - a normalized Scenario, or every issue found in `input`. */
export function validateScenario(input: unknown, ctx: ValidationContext): ValidationResult {
  const c = new Check(ctx);
  const top = c.object(input, '', 'a scenario object');
  if (!top) return { ok: false, issues: c.issues };
  c.keys(top, TOP_FIELDS, '', 'a scenario');
  const name = c.string(c.required(top, 'name', ''), 'name');
  const description = top['description'] === undefined ? undefined : c.string(top['description'], 'description');
  const kernel = checkKernel(c, top['kernel']);
  const files = checkFiles(c, top['files']);
  const devices = checkDevices(c, top['devices']);
  const processes = checkProcesses(c, top['processes']);
  const w = new OpWalker(c, keysOf(top['files']), keysOf(top['devices']));
  const actors = w.actors(c.required(top, 'actors', ''));
  w.resolve();
  for (const p of Object.keys(processes)) {
    if (w.processNames.has(p)) continue;
    c.add('unknown-name', pathKey('processes', p), `no actor runs in process "${p}" and no fork creates it`,
      { expected: 'the process of an actor or the "as" of a fork', didYouMean: closest(p, [...w.processNames]) });
  }
  const expect = top['expect'] === undefined ? undefined : checkExpect(c, w, top['expect'], 'expect');
  const byPolicy = top['expectByPolicy'] === undefined ? undefined : checkExpectByPolicy(c, w, top['expectByPolicy']);
  const replay = top['replay'] === undefined ? undefined : checkReplay(c, top['replay']);

  if (c.issues.length > 0 || name === undefined) return { ok: false, issues: c.issues };
  const scenario: Scenario = { name, kernel, files, devices, processes, actors };
  if (description !== undefined) scenario.description = description;
  if (expect) scenario.expect = expect;
  if (byPolicy) scenario.expectByPolicy = byPolicy;
  if (replay) scenario.replay = replay;
  return { ok: true, scenario };
}

// ---------------------------------------------------------------------------------------------
// Paths and the issue collector

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** pathKey() - `base.key`, or `base["key"]` when the key is not an identifier. */
export function pathKey(base: string, key: string): string {
  if (!IDENT.test(key)) return `${base}[${JSON.stringify(key)}]`;
  return base ? `${base}.${key}` : key;
}

/** pathIndex() - `base[i]`. */
export function pathIndex(base: string, i: number): string {
  return `${base}[${i}]`;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function keysOf(v: unknown): readonly string[] {
  return isObject(v) ? Object.keys(v) : [];
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `${typeof v} ${JSON.stringify(v)}`;
}

/** The issues found so far, and readers that record an issue and return undefined on bad input. */
class Check {
  readonly issues: Issue[] = [];
  readonly ctx: ValidationContext;
  constructor(ctx: ValidationContext) {
    this.ctx = ctx;
  }

  add(code: string, path: string, message: string, more: { expected?: string; didYouMean?: string | undefined } = {}): void {
    const issue: Issue = { code, path, message };
    if (more.expected !== undefined) issue.expected = more.expected;
    if (more.didYouMean !== undefined) issue.didYouMean = more.didYouMean;
    this.issues.push(issue);
  }

  wrongType(v: unknown, path: string, expected: string): undefined {
    this.add('wrong-type', path, `expected ${expected}, got ${typeName(v)}`, { expected });
    return undefined;
  }

  object(v: unknown, path: string, expected: string): Record<string, unknown> | undefined {
    return isObject(v) ? v : this.wrongType(v, path, expected);
  }

  /** Unknown keys of `o` → 'unknown-field' with the closest allowed one. */
  keys(o: Record<string, unknown>, allowed: readonly string[], path: string, what: string): void {
    for (const k of Object.keys(o)) {
      if (allowed.includes(k)) continue;
      this.add('unknown-field', pathKey(path, k), `unknown field "${k}" in ${what}`,
        { expected: `one of ${allowed.join(', ')}`, didYouMean: closest(k, allowed) });
    }
  }

  /** `o[k]`, recording 'missing-field' when it is absent. */
  required(o: Record<string, unknown>, k: string, path: string): unknown {
    if (o[k] === undefined) this.add('missing-field', pathKey(path, k), `missing required field "${k}"`);
    return o[k];
  }

  string(v: unknown, path: string): string | undefined {
    if (v === undefined) return undefined;
    return typeof v === 'string' ? v : this.wrongType(v, path, 'a string');
  }

  bool(v: unknown, path: string): boolean | undefined {
    if (v === undefined) return undefined;
    return typeof v === 'boolean' ? v : this.wrongType(v, path, 'true or false');
  }

  int(v: unknown, path: string): number | undefined {
    if (v === undefined) return undefined;
    return Number.isSafeInteger(v) && (v as number) >= 0 ? (v as number) : this.wrongType(v, path, 'a non-negative integer');
  }

  size(v: unknown, path: string): number | undefined {
    return this.unit(v, path, parseSize(v), 'bad-size', 'size');
  }

  time(v: unknown, path: string): number | undefined {
    return this.unit(v, path, parseTime(v), 'bad-time', 'time');
  }

  private unit(v: unknown, path: string, r: Parsed, code: string, what: string): number | undefined {
    if (v === undefined) return undefined;
    if (r.ok) return r.value;
    if (typeof v !== 'number' && typeof v !== 'string') return this.wrongType(v, path, r.expected);
    this.add(code, path, `bad ${what} ${JSON.stringify(v)}`, { expected: r.expected });
    return undefined;
  }

  /** One word of `values`; an unknown word → `code` with the closest one. */
  word(v: unknown, values: readonly string[], path: string, code: string): string | undefined {
    const s = this.string(v, path);
    if (s === undefined || values.includes(s)) return s;
    this.add(code, path, `unknown value "${s}"`, { expected: `one of ${values.join(', ')}`, didYouMean: closest(s, values) });
    return undefined;
  }

  flags(v: unknown, values: readonly string[], path: string): string[] | undefined {
    if (!Array.isArray(v)) return this.wrongType(v, path, `an array of ${values.join(', ')}`);
    const out = v.map((x, i) => this.word(x, values, pathIndex(path, i), 'unknown-flag'));
    return out.every((x) => x !== undefined) ? out : undefined;
  }

  param(v: unknown, spec: ParamSpec, path: string): number | string | boolean | undefined {
    switch (spec.kind) {
      case 'time': return this.time(v, path);
      case 'size': return this.size(v, path);
      case 'bool': return this.bool(v, path);
      case 'int': return Number.isSafeInteger(v) ? (v as number) : this.wrongType(v, path, 'an integer');
      case 'enum': return this.word(v, spec.values ?? [], path, 'unknown-value');
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Top level: kernel, files, devices, processes, replay

const TOP_FIELDS = ['name', 'description', 'kernel', 'files', 'devices', 'processes', 'actors', 'expect', 'expectByPolicy', 'replay'];
const KERNEL_FIELDS = ['policy', 'memory', 'until', 'livenessBound', 'jitter', 'leaseBreakTimeout', 'writeback', 'compaction', 'reclaim'] as const;

/** A policy a run can use: built → the name; a contract name not built → not-implemented. */
function checkRunPolicy(c: Check, v: unknown, path: string): string | undefined {
  const p = c.string(v, path);
  const built = c.ctx.builtPolicies;
  if (p === undefined || built.includes(p)) return p;
  if (c.ctx.policies.includes(p)) {
    c.add('not-implemented', path, `policy "${p}" is part of the contract but not built yet`, { expected: `one of ${built.join(', ')}` });
  } else {
    c.add('unknown-policy', path, `unknown policy "${p}"`,
      { expected: `one of ${built.join(', ')}`, didYouMean: closest(p, [...built, ...c.ctx.policies]) });
  }
  return undefined;
}

function checkKernel(c: Check, v: unknown): KernelSpec {
  const out: KernelSpec = {};
  const o = v === undefined ? undefined : c.object(v, 'kernel', 'an object');
  if (!o) return out;
  c.keys(o, KERNEL_FIELDS, 'kernel', 'kernel');
  for (const f of KERNEL_FIELDS) {
    const path = pathKey('kernel', f);
    if (o[f] === undefined) continue;
    if (f === 'policy') {
      const p = checkRunPolicy(c, o[f], path);
      if (p !== undefined) out.policy = p;
    } else if (f === 'memory') {
      const n = c.size(o[f], path);
      if (n !== undefined) out.memory = n;
    } else if (f === 'writeback' || f === 'compaction' || f === 'reclaim') {
      const po = c.object(o[f], path, 'an object { period }');
      if (!po) continue;
      c.keys(po, ['period'], path, `kernel.${f}`);
      const period = c.time(c.required(po, 'period', path), pathKey(path, 'period'));
      if (period !== undefined) out[f] = { period };
    } else {
      const n = c.time(o[f], path);
      if (n !== undefined) out[f] = n;
    }
  }
  return out;
}

/** Entries of an optional object-of-objects section, each checked to be an object. */
function* entries(c: Check, v: unknown, section: string, expected: string): Generator<[string, Record<string, unknown>, string]> {
  const o = v === undefined ? undefined : c.object(v, section, `an object of ${section}`);
  for (const [name, spec] of Object.entries(o ?? {})) {
    const path = pathKey(section, name);
    const so = c.object(spec, path, expected);
    if (so) yield [name, so, path];
  }
}

function checkFiles(c: Check, v: unknown): Record<string, FileSpec> {
  const out: Record<string, FileSpec> = {};
  for (const [name, o, path] of entries(c, v, 'files', 'a file { fs, size, dax? }')) {
    c.keys(o, ['fs', 'size', 'dax'], path, 'a file');
    const fs = c.word(c.required(o, 'fs', path), FS_VALUES, pathKey(path, 'fs'), 'unknown-value');
    const size = c.size(c.required(o, 'size', path), pathKey(path, 'size'));
    const dax = o['dax'] === undefined ? false : c.bool(o['dax'], pathKey(path, 'dax'));
    if (dax && fs === 'tmpfs') {
      c.add('unknown-value', pathKey(path, 'dax'), 'dax is a mode of ext4 and xfs; tmpfs has no DAX', { expected: 'fs "ext4" or "xfs", or no dax' });
    } else if (fs !== undefined && size !== undefined && dax !== undefined) {
      out[name] = { fs: fs as FileSpec['fs'], dax, size };
    }
  }
  return out;
}

function checkDevices(c: Check, v: unknown): Record<string, DeviceSpec> {
  const out: Record<string, DeviceSpec> = {};
  for (const [name, o, path] of entries(c, v, 'devices', 'a device { model, ...params }')) {
    const modelPath = pathKey(path, 'model');
    const model = c.string(c.required(o, 'model', path), modelPath);
    if (model === undefined) continue;
    const params = c.ctx.devices[model];
    if (!params) {
      if (c.ctx.knownModels.includes(model)) {
        c.add('not-implemented', modelPath, `device model "${model}" is part of the contract but not built yet`,
          { expected: `one of ${Object.keys(c.ctx.devices).join(', ')}` });
      } else {
        c.add('unknown-model', modelPath, `unknown device model "${model}"`,
          { expected: `one of ${c.ctx.knownModels.join(', ')}`, didYouMean: closest(model, [...Object.keys(c.ctx.devices), ...c.ctx.knownModels]) });
      }
      continue;
    }
    c.keys(o, ['model', ...Object.keys(params)], path, `a ${model} device`);
    const parsed: DeviceSpec['params'] = {};
    for (const [p, spec] of Object.entries(params)) {
      const x = o[p] === undefined ? undefined : c.param(o[p], spec, pathKey(path, p));
      if (x !== undefined) parsed[p] = x;
    }
    out[name] = { model, params: parsed };
  }
  return out;
}

function checkProcesses(c: Check, v: unknown): Record<string, ProcessSpec> {
  const out: Record<string, ProcessSpec> = {};
  for (const [name, o, path] of entries(c, v, 'processes', 'a process { memlock?, capIpcLock? }')) {
    c.keys(o, ['memlock', 'capIpcLock'], path, 'a process');
    const p: ProcessSpec = {};
    const memlock = c.size(o['memlock'], pathKey(path, 'memlock'));
    const cap = c.bool(o['capIpcLock'], pathKey(path, 'capIpcLock'));
    if (memlock !== undefined) p.memlock = memlock;
    if (cap !== undefined) p.capIpcLock = cap;
    out[name] = p;
  }
  return out;
}

function checkReplay(c: Check, v: unknown): ReplaySpec | undefined {
  const o = c.object(v, 'replay', 'an object');
  if (!o) return undefined;
  c.keys(o, ['seed', 'policy', 'window', 'jitter', 'choices', 'traceHash', 'pinsimVersion'], 'replay', 'replay');
  const at = (f: string): string => pathKey('replay', f);
  const out: ReplaySpec = {};
  const seed = c.int(o['seed'], at('seed'));
  const policy = o['policy'] === undefined ? undefined : checkRunPolicy(c, o['policy'], at('policy'));
  const window = c.time(o['window'], at('window'));
  const jitter = c.time(o['jitter'], at('jitter'));
  const traceHash = c.string(o['traceHash'], at('traceHash'));
  const pinsimVersion = c.string(o['pinsimVersion'], at('pinsimVersion'));
  if (seed !== undefined) out.seed = seed;
  if (policy !== undefined) out.policy = policy;
  if (window !== undefined) out.window = window;
  if (jitter !== undefined) out.jitter = jitter;
  if (traceHash !== undefined) out.traceHash = traceHash;
  if (pinsimVersion !== undefined) out.pinsimVersion = pinsimVersion;
  if (o['choices'] !== undefined) {
    if (!Array.isArray(o['choices'])) {
      c.wrongType(o['choices'], at('choices'), 'an array of non-negative integers');
    } else {
      const choices = o['choices'].map((x, i) => c.int(x, pathIndex(at('choices'), i)));
      if (choices.every((x) => x !== undefined)) out.choices = choices;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Ops, names and the wait graph

/** An edge of the wait graph: this op cannot start before op `to` has completed. */
interface Dep { to: number; why: string }
interface OpNode { path: string; deps: Dep[] }
/** A produced name; `kinds` null when its op is unknown (so it matches any reference). */
interface NameDef { node: number; path: string; op: string; kinds: readonly RefKind[] | null }
interface Ref { node: number; name: string; want: RefKind; path: string }

const WANT_TEXT: Readonly<Record<RefKind, string>> = {
  address: 'an address (the "as" of mmap or mremap)',
  mr: 'an MR (the "as" of reg_mr)',
  pins: 'pins (the "as" of gup)',
  mirror: 'a mirror (the "as" of mirror)',
  wr: 'a posted device op (the "as" of a device op with "wait": false)',
  process: 'a process (the "as" of fork)',
  write: 'a write (the "as" of store, pwrite, dma_write or gpu_write)',
  read: 'a read (the "as" of load, pread, dma_read, gpu_read or snapshot)',
  result: 'the "as" of an op',
};

/** Walks every actor's ops (onBreak lists included): checks fields, collects names and waits. */
class OpWalker {
  readonly nodes: OpNode[] = [];
  readonly names = new Map<string, NameDef>();
  /** Top-level op count per actor, for `actor.index` keys. */
  readonly actorOps = new Map<string, number>();
  /** Every process an actor runs in, and every fork's `as`. */
  readonly processNames = new Set<string>();
  private readonly refs: Ref[] = [];
  private readonly processRefs: { process: string; path: string; first: number | undefined }[] = [];

  private readonly c: Check;
  readonly files: readonly string[];
  private readonly devices: readonly string[];

  constructor(c: Check, files: readonly string[], devices: readonly string[]) {
    this.c = c;
    this.files = files;
    this.devices = devices;
  }

  actors(v: unknown): Record<string, ActorSpec> {
    const out: Record<string, ActorSpec> = {};
    const o = v === undefined ? undefined : this.c.object(v, 'actors', 'an object of actors');
    for (const [actor, spec] of Object.entries(o ?? {})) {
      const path = pathKey('actors', actor);
      let process = actor;
      let list: unknown = spec;
      let listPath = path;
      let explicit: string | undefined;
      if (isObject(spec)) {
        this.c.keys(spec, ['process', 'ops'], path, 'an actor');
        explicit = this.c.string(this.c.required(spec, 'process', path), pathKey(path, 'process'));
        process = explicit ?? actor;
        list = this.c.required(spec, 'ops', path);
        listPath = pathKey(path, 'ops');
      }
      this.processNames.add(process);
      const first = this.nodes.length;
      const ops = list === undefined ? [] : this.list(list, listPath, undefined);
      // An actor running in a forked child starts once the fork has happened (resolve() adds the wait).
      if (explicit !== undefined) {
        this.processRefs.push({ process: explicit, path: pathKey(path, 'process'), first: this.nodes.length > first ? first : undefined });
      }
      this.actorOps.set(actor, Array.isArray(list) ? list.length : 0);
      out[actor] = { process, ops };
    }
    return out;
  }

  /** An op list; its first op waits for `first` (an onBreak list for its setlease), the others for their predecessor. */
  private list(v: unknown, path: string, first: Dep | undefined): Op[] {
    if (!Array.isArray(v)) return this.c.wrongType(v, path, 'an array of ops') ?? [];
    const out: Op[] = [];
    let dep = first;
    v.forEach((x, i) => {
      const node = this.nodes.length;
      const op = this.op(x, pathIndex(path, i), dep);
      if (op) out.push(op);
      if (this.nodes.length > node) dep = { to: node, why: 'runs after' };
    });
    return out;
  }

  private op(v: unknown, path: string, dep: Dep | undefined): Op | undefined {
    const c = this.c;
    const o = c.object(v, path, 'an op object { op, ... }');
    if (!o) return undefined;
    const node = this.nodes.push({ path, deps: dep ? [dep] : [] }) - 1;
    const word = c.string(c.required(o, 'op', path), pathKey(path, 'op'));
    const schema = word === undefined ? undefined : (OP_SCHEMA as Readonly<Record<string, OpSchema>>)[word];
    if (word !== undefined && !schema) {
      c.add('unknown-op', pathKey(path, 'op'), `unknown op "${word}"`, { didYouMean: closest(word, ALL_OPS) });
    }
    if (!schema || word === undefined) {
      if (typeof o['as'] === 'string') this.define(o['as'], pathKey(path, 'as'), node, word ?? '?', null);
      return undefined;
    }
    if (!c.ctx.implementedOps.has(word)) {
      c.add('not-implemented', pathKey(path, 'op'), `op "${word}" is part of the contract but not built yet`);
    }
    const fieldNames = Object.keys(schema.fields);
    c.keys(o, fieldNames, path, `op ${word}`);
    if (o['at'] !== undefined && o['after'] !== undefined) {
      c.add('conflict', path, 'an op takes "at" (since the run started) or "after" (since the previous op), not both');
    }
    const out: Record<string, unknown> = { op: word };
    for (const [f, spec] of Object.entries(schema.fields)) {
      if (f === 'op') continue;
      const x = o[f];
      if (x === undefined) {
        if (spec.required) c.add('missing-field', pathKey(path, f), `op ${word} needs "${f}"`);
        else if (spec.default !== undefined) out[f] = spec.default;
        else if (spec.kind === 'flags') out[f] = [];
        continue;
      }
      const parsed = this.field(x, spec, pathKey(path, f), node);
      if (parsed !== undefined) out[f] = parsed;
    }
    if (typeof out['as'] === 'string') {
      const kinds: RefKind[] = [schema.produces];
      if (schema.device && o['wait'] === false) kinds.push('wr');
      this.define(out['as'], pathKey(path, 'as'), node, word, kinds);
    }
    return out as unknown as Op;
  }

  private field(v: unknown, spec: FieldSpec, path: string, node: number): unknown {
    const c = this.c;
    const want = REF_KIND[spec.kind];
    switch (spec.kind) {
      case 'op': return undefined;
      case 'as': return c.string(v, path);
      case 'size': return c.size(v, path);
      case 'time': return c.time(v, path);
      case 'bool': return c.bool(v, path);
      case 'enum': return c.word(v, spec.values ?? [], path, 'unknown-value');
      case 'flags': return c.flags(v, spec.values ?? [], path);
      case 'file': return this.key(v, this.files, path, 'file');
      case 'device': return this.key(v, this.devices, path, 'device');
      case 'ops': return this.list(v, path, { to: node, why: 'runs when the lease breaks, taken by' });
      case 'target': {
        if (v === 'buffers') return v;
        const r = parseSize(v);
        if (r.ok || typeof v !== 'string') return c.size(v, path);
        c.add('bad-size', path, `bad reclaim target ${JSON.stringify(v)}`, { expected: `"buffers" or ${r.expected}`, didYouMean: closest(v, ['buffers']) });
        return undefined;
      }
      case 'addr':
        if (typeof v === 'number') {
          if (Number.isSafeInteger(v) && v >= 0) return v;
          c.add('bad-addr', path, `bad address ${v}`, { expected: ADDR_TEXT });
          return undefined;
        }
        // A kernel developer writes addresses in hex: "0x7f0000000000" is a number, not a name.
        if (typeof v === 'string' && /^0x[0-9a-f]+$/i.test(v)) {
          const n = Number(v);
          if (Number.isSafeInteger(n)) return n;
          c.add('bad-addr', path, `address ${v} is above 2^53-1`, { expected: ADDR_TEXT });
          return undefined;
        }
        return this.ref(v, 'address', path, node);
      case 'name:mr': case 'name:pins': case 'name:mirror': case 'name:wr':
        return want === undefined ? undefined : this.ref(v, want, path, node);
    }
  }

  private key(v: unknown, keys: readonly string[], path: string, what: string): string | undefined {
    const s = this.c.string(v, path);
    if (s === undefined || keys.includes(s)) return s;
    this.c.add('unknown-name', path, `no ${what} "${s}" is declared`, { expected: `a key of ${what}s`, didYouMean: closest(s, keys) });
    return undefined;
  }

  private ref(v: unknown, want: RefKind, path: string, node: number): string | undefined {
    const s = this.c.string(v, path);
    if (s !== undefined) this.refs.push({ node, name: s, want, path });
    return s;
  }

  private define(name: string, path: string, node: number, op: string, kinds: readonly RefKind[] | null): void {
    const prev = this.names.get(name);
    if (prev) {
      this.c.add('duplicate-name', path, `"${name}" already names the result of ${prev.path.replace(/\.as$/, '')}; names are global to the scenario`);
      return;
    }
    this.names.set(name, { node, path, op, kinds });
    if (op === 'fork') this.processNames.add(name);
  }

  /** Check every reference against the names produced, then look for ops waiting on each other. */
  resolve(): void {
    for (const r of this.refs) {
      const def = this.names.get(r.name);
      if (!def) {
        const ofKind = [...this.names].filter(([, d]) => d.kinds?.includes(r.want)).map(([n]) => n);
        this.c.add('unknown-name', r.path, `no op produces the name "${r.name}"`,
          { expected: WANT_TEXT[r.want], didYouMean: closest(r.name, ofKind) ?? closest(r.name, [...this.names.keys()]) });
        continue;
      }
      this.nodes[r.node]?.deps.push({ to: def.node, why: `waits for "${r.name}" from` });
      if (def.kinds && !def.kinds.includes(r.want)) {
        this.c.add('wrong-name-kind', r.path, `"${r.name}" is the result of ${def.op} (${def.path}), not ${WANT_TEXT[r.want]}`, { expected: WANT_TEXT[r.want] });
      }
    }
    for (const p of this.processRefs) {
      const def = this.names.get(p.process);
      if (!def) continue;
      if (def.kinds && !def.kinds.includes('process')) {
        this.c.add('wrong-name-kind', p.path, `"${p.process}" is the result of ${def.op} (${def.path}), not a process`, { expected: WANT_TEXT.process });
      } else if (p.first !== undefined) {
        this.nodes[p.first]?.deps.push({ to: def.node, why: `starts after fork "${p.process}" at` });
      }
    }
    this.findCycles();
  }

  /** Tarjan's strongly connected components, iteratively; each cyclic one is reported once. */
  private findCycles(): void {
    const n = this.nodes.length;
    const index = new Int32Array(n).fill(-1);
    const low = new Int32Array(n);
    const onStack = new Uint8Array(n);
    const stack: number[] = [];
    let counter = 0;
    const deps = (v: number): Dep[] => this.nodes[v]?.deps ?? [];
    for (let s = 0; s < n; s++) {
      if (index[s] !== -1) continue;
      const work: [number, number][] = [[s, 0]];
      index[s] = low[s] = counter++;
      stack.push(s); onStack[s] = 1;
      while (work.length > 0) {
        const top = work[work.length - 1] as [number, number];
        const [v, i] = top;
        const edges = deps(v);
        if (i < edges.length) {
          top[1]++;
          const w = (edges[i] as Dep).to;
          if (index[w] === -1) {
            index[w] = low[w] = counter++;
            stack.push(w); onStack[w] = 1;
            work.push([w, 0]);
          } else if (onStack[w]) {
            low[v] = Math.min(low[v] ?? 0, index[w] ?? 0);
          }
          continue;
        }
        work.pop();
        const parent = work[work.length - 1];
        if (parent) low[parent[0]] = Math.min(low[parent[0]] ?? 0, low[v] ?? 0);
        if (low[v] !== index[v]) continue;
        const comp = new Set<number>();
        for (let w = stack.pop(); w !== undefined; w = stack.pop()) {
          onStack[w] = 0; comp.add(w);
          if (w === v) break;
        }
        if (comp.size > 1 || deps(v).some((d) => d.to === v)) this.reportCycle(comp);
      }
    }
  }

  private reportCycle(comp: ReadonlySet<number>): void {
    const start = Math.min(...comp);
    const from = new Map<number, { prev: number; why: string }>();
    const queue = [start];
    let steps: { a: number; b: number; why: string }[] = [];
    search: for (let q = 0; q < queue.length; q++) {
      const v = queue[q] as number;
      for (const d of this.nodes[v]?.deps ?? []) {
        if (!comp.has(d.to)) continue;
        if (d.to === start) {
          steps = [{ a: v, b: start, why: d.why }];
          for (let x = v; x !== start;) {
            const f = from.get(x);
            if (!f) break;
            steps.unshift({ a: f.prev, b: x, why: f.why });
            x = f.prev;
          }
          break search;
        }
        if (!from.has(d.to)) { from.set(d.to, { prev: v, why: d.why }); queue.push(d.to); }
      }
    }
    const p = (i: number): string => this.nodes[i]?.path ?? '?';
    this.c.add('cycle', p(start), `ops wait on each other and can never start: ${steps.map((s) => `${p(s.a)} ${s.why} ${p(s.b)}`).join('; ')}`);
  }
}

const ADDR_TEXT = 'a non-negative integer address (or "0x…") or the "as" of an mmap or mremap';

// ---------------------------------------------------------------------------------------------
// Expectations

const EXPECT_FIELDS = ['violations', 'results', 'observed', 'endsBy', 'blockedAtLeast', 'opStats', 'forbid', 'allow'];
const RESULT_WORDS = ['ok', 'blocked', 'not-run', 'crashed', 'remote-access-error', 'device-error', 'SIGBUS', 'SIGSEGV'];
const CONTENT_WORDS = ['zero', 'dummy', 'mixed'];

function checkExpectByPolicy(c: Check, w: OpWalker, v: unknown): Record<string, PolicyExpect> | undefined {
  const o = c.object(v, 'expectByPolicy', 'an object of policy → expect');
  if (!o) return undefined;
  const out: Record<string, PolicyExpect> = {};
  for (const [policy, e] of Object.entries(o)) {
    const path = pathKey('expectByPolicy', policy);
    if (!c.ctx.policies.includes(policy)) {
      c.add('unknown-policy', path, `unknown policy "${policy}"`, { expected: `one of ${c.ctx.policies.join(', ')}`, didYouMean: closest(policy, c.ctx.policies) });
    }
    if (isObject(e) && e['skip'] !== undefined) {
      c.keys(e, ['skip'], path, 'a skip entry');
      const skip = c.string(e['skip'], pathKey(path, 'skip'));
      if (skip !== undefined) out[policy] = { skip };
      continue;
    }
    const x = checkExpect(c, w, e, path);
    if (x) out[policy] = x;
  }
  return out;
}

function checkExpect(c: Check, w: OpWalker, v: unknown, path: string): Expect | undefined {
  const o = c.object(v, path, 'an expect object');
  if (!o) return undefined;
  c.keys(o, EXPECT_FIELDS, path, 'expect');
  const out: Expect = {};
  const at = (f: string): string => pathKey(path, f);
  if (o['violations'] !== undefined) {
    const vs = Array.isArray(o['violations']) ? o['violations'] : c.wrongType(o['violations'], at('violations'), 'an array of violation kinds');
    const kinds = vs?.map((k, i) => kind(c, k, pathIndex(at('violations'), i)));
    if (kinds?.every((k) => k !== undefined)) out.violations = kinds;
  }
  const results = record(c, o['results'], at('results'), (k, x, p) => (opKey(c, w, k, p) ? result(c, x, p) : undefined));
  if (results) out.results = results;
  const observed = record(c, o['observed'], at('observed'), (k, x, p) => (content(c, w, k, p, 'read') === undefined ? undefined : content(c, w, x, p, 'write')));
  if (observed) out.observed = observed;
  for (const f of ['endsBy', 'blockedAtLeast'] as const) {
    const r = record(c, o[f], at(f), (k, x, p) => (opKey(c, w, k, p) ? c.time(x, p) : undefined));
    if (r) out[f] = r;
  }
  const opStats = record(c, o['opStats'], at('opStats'), (k, x, p) =>
    opKey(c, w, k, p) ? record(c, x, p, (_, n, q) => (typeof n === 'number' && Number.isFinite(n) ? n : c.wrongType(n, q, 'a number'))) : undefined);
  if (opStats) out.opStats = opStats;
  for (const f of ['forbid', 'allow'] as const) {
    if (o[f] === undefined) continue;
    const list = Array.isArray(o[f]) ? o[f] : c.wrongType(o[f], at(f), 'an array of violation kinds or { read: write } outcomes');
    const items = list?.map((x, i) => outcome(c, w, x, pathIndex(at(f), i)));
    if (items?.every((x) => x !== undefined)) out[f] = items;
  }
  return out;
}

/** An object whose values are each checked by `each`; undefined when absent or when any value fails. */
function record<T>(c: Check, v: unknown, path: string, each: (k: string, x: unknown, p: string) => T | undefined): Record<string, T> | undefined {
  if (v === undefined) return undefined;
  const o = c.object(v, path, 'an object');
  if (!o) return undefined;
  const out: Record<string, T> = {};
  let ok = true;
  for (const [k, x] of Object.entries(o)) {
    const r = each(k, x, pathKey(path, k));
    if (r === undefined) ok = false;
    else out[k] = r;
  }
  return ok ? out : undefined;
}

function kind(c: Check, v: unknown, path: string): string | undefined {
  return c.word(v, c.ctx.invariantKinds, path, 'unknown-kind');
}

/** A key naming an op: `actor.index` of an existing op, or an `as` name. */
function opKey(c: Check, w: OpWalker, key: string, path: string): boolean {
  if (w.names.has(key)) return true;
  const m = /^(.+)\.(0|[1-9]\d*)$/.exec(key);
  const count = m ? w.actorOps.get(m[1] ?? '') : undefined;
  if (m && count !== undefined && Number(m[2]) < count) return true;
  const refs = [...w.names.keys(), ...[...w.actorOps].flatMap(([a, n]) => Array.from({ length: n }, (_, i) => `${a}.${i}`))];
  const message = m && count !== undefined ? `actor "${m[1]}" has ${count} op(s), so no op ${key}` : `no op is named "${key}"`;
  c.add('unknown-name', path, message, { expected: 'actor.index (0-based) or the "as" of an op', didYouMean: closest(key, refs) });
  return false;
}

function result(c: Check, v: unknown, path: string): string | undefined {
  const s = c.string(v, path);
  if (s === undefined || RESULT_WORDS.includes(s) || /^(E[A-Z0-9]+|SIG[A-Z0-9]+)$/.test(s)) return s;
  c.add('unknown-value', path, `unknown result "${s}"`, { expected: `an errno name, a signal, or one of ${RESULT_WORDS.join(', ')}`, didYouMean: closest(s, RESULT_WORDS) });
  return undefined;
}

/**
 * One side of an observation: the `as` of a read (`side` read) or of a write (`side` write; also
 * zero/dummy/mixed); either side may be `storage:<file>@<index>`, the durable content of a file page.
 */
const SNAPSHOT_STATE = '(?:ERROR|NONE|READ|WRITE|ZERO\\|READ|DEV_PRIVATE_LOCAL\\|(?:READ|WRITE)|DEV_COHERENT_(?:LOCAL|REMOTE)\\|(?:READ|WRITE))';
const SNAPSHOT_STATES = new RegExp(`^${SNAPSHOT_STATE}(?:,${SNAPSHOT_STATE})*$`);

function content(c: Check, w: OpWalker, v: unknown, path: string, side: 'read' | 'write'): string | undefined {
  const s = c.string(v, path);
  if (s === undefined) return undefined;
  const storage = /^storage:(.+)@(0|[1-9]\d*)$/.exec(s);
  if (storage) {
    if (w.files.includes(storage[1] ?? '')) return s;
    c.add('unknown-name', path, `no file "${storage[1]}" is declared`, { expected: 'storage:<file>@<page index>', didYouMean: closest(storage[1] ?? '', w.files) });
    return undefined;
  }
  if (side === 'write' && CONTENT_WORDS.includes(s)) return s;
  // A SNAPSHOT's observation: one page state per page (ERROR, NONE, READ, WRITE, ZERO|READ, …).
  if (side === 'write' && SNAPSHOT_STATES.test(s)) return s;
  const def = w.names.get(s);
  const expected = side === 'read' ? `${WANT_TEXT.read} or storage:<file>@<index>` : `${WANT_TEXT.write}, zero, dummy, mixed or storage:<file>@<index>`;
  if (!def) {
    const ofKind = [...w.names].filter(([, d]) => d.kinds?.includes(side)).map(([n]) => n);
    c.add('unknown-name', path, `no op produces the name "${s}"`, { expected, didYouMean: closest(s, side === 'write' ? [...ofKind, ...CONTENT_WORDS] : ofKind) });
    return undefined;
  }
  if (def.kinds && !def.kinds.includes(side)) {
    c.add('wrong-name-kind', path, `"${s}" is the result of ${def.op} (${def.path}), not ${WANT_TEXT[side]}`, { expected });
    return undefined;
  }
  return s;
}

function outcome(c: Check, w: OpWalker, v: unknown, path: string): OutcomeSpec | undefined {
  if (typeof v === 'string') return kind(c, v, path);
  const o = c.object(v, path, 'a violation kind or a { read: write } outcome');
  if (!o) return undefined;
  if (Object.keys(o).length === 0) return c.wrongType(v, path, 'a violation kind or a { read: write } outcome');
  return record(c, o, path, (k, x, p) => (content(c, w, k, p, 'read') === undefined ? undefined : content(c, w, x, p, 'write')));
}
