/**
 * Validation of the actors' ops, read from the op table, and of the names they produce and use
 * (with the cycle check). onBreak lists are walked by the same code as top-level lists, so a word
 * is refused the same way wherever it appears.
 */
import { parseSize } from '../../engine/clock.js';
import { dict } from '../../engine/dict.js';
import { REF_KIND, type AnyField, type OpDescriptor, type RefKind } from '../ops/op.js';
import { ALL_OPS, opDescriptor, type Op } from '../ops/table.js';
import { Check, isObject, pathIndex, pathKey } from './check.js';
import { MAX_ONBREAK_DEPTH, MAX_OPS } from './limits.js';
import { closest } from './closest.js';
import type { ActorSpec } from './types.js';
// ---------------------------------------------------------------------------------------------
// Ops, names and the wait graph

/** An edge of the wait graph: this op cannot start before op `to` has completed. */
interface Dep { to: number; why: string }
interface OpNode { path: string; deps: Dep[] }
/** A produced name; `kinds` null when its op is unknown (so it matches any reference); `device` of the op that made it. */
interface NameDef { node: number; path: string; op: string; kinds: readonly RefKind[] | null; device: string | undefined }
/** A reference; `deviceOp`: the device op whose device the name (an MR or mirror) decides. */
interface Ref { node: number; name: string; want: RefKind; path: string; deviceOp: string | undefined; opPath: string }

export const WANT_TEXT: Readonly<Record<RefKind, string>> = {
  address: 'an address (the "as" of mmap or mremap)',
  mr: 'an MR (the "as" of reg_mr)',
  pins: 'pins (the "as" of gup)',
  mirror: 'a mirror (the "as" of mirror)',
  wr: 'a posted device op (the "as" of a device op with "wait": false)',
  process: 'a process (the "as" of fork)',
  write: 'a write (the "as" of store, pwrite, dma_write, gpu_write or pin_write)',
  read: 'a read (the "as" of load, pread, dma_read, gpu_read, pin_read or snapshot)',
  result: 'the "as" of an op',
};

/** Walks every actor's ops (onBreak lists included): checks fields, collects names and waits. */
export class OpWalker {
  readonly nodes: OpNode[] = [];
  readonly names = new Map<string, NameDef>();
  /** Top-level op count per actor, for `actor.index` keys. */
  readonly actorOps = new Map<string, number>();
  /** Every process an actor runs in, and every fork's `as`. */
  readonly processNames = new Set<string>();
  private readonly refs: Ref[] = [];
  /** An actor's `process` (with its first op, which waits for the fork), or an op's `process` field. */
  private readonly processRefs: { process: string; path: string; first: number | undefined; field?: boolean }[] = [];

  private readonly c: Check;
  /** onBreak lists open around the op being walked. */
  private breakDepth = 0;
  /** Set once the scenario has more than MAX_OPS ops: the walk stops there. */
  private tooMany = false;
  readonly files: readonly string[];
  /** Declared device → the model it names (as written). */
  private readonly devices: ReadonlyMap<string, unknown>;

  constructor(c: Check, files: readonly string[], devices: ReadonlyMap<string, unknown>) {
    this.c = c;
    this.files = files;
    this.devices = devices;
  }

  actors(v: unknown): Record<string, ActorSpec> {
    const out = dict<ActorSpec>();
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
    for (let i = 0; i < v.length && !this.tooMany; i++) {
      const node = this.nodes.length;
      if (node >= MAX_OPS) {
        this.tooMany = true;
        this.c.add('too-large', pathIndex(path, i), `the scenario has more than ${MAX_OPS} ops`, { expected: `at most ${MAX_OPS} ops, onBreak lists included (pinsim's limit)` });
        break;
      }
      const op = this.op(v[i] as unknown, pathIndex(path, i), dep);
      if (op) out.push(op);
      if (this.nodes.length > node) dep = { to: node, why: 'runs after' };
    }
    return out;
  }

  private op(v: unknown, path: string, dep: Dep | undefined): Op | undefined {
    const c = this.c;
    const o = c.object(v, path, 'an op object { op, ... }');
    if (!o) return undefined;
    const node = this.nodes.push({ path, deps: dep ? [dep] : [] }) - 1;
    const word = c.string(c.required(o, 'op', path), pathKey(path, 'op'));
    const d = word === undefined ? undefined : opDescriptor(word);
    if (word !== undefined && !d) {
      c.add('unknown-op', pathKey(path, 'op'), `unknown op "${word}"`, { didYouMean: closest(word, ALL_OPS) });
    }
    if (!d) {
      if (typeof o['as'] === 'string') this.define(o['as'], pathKey(path, 'as'), node, word ?? '?', null, undefined);
      return undefined;
    }
    if (!d.exec) c.notBuilt(pathKey(path, 'op'), `op "${d.name}"`);
    c.keys(o, ['op', ...Object.keys(d.fields)], path, `op ${d.name}`);
    if (o['at'] !== undefined && o['after'] !== undefined) {
      c.add('conflict', path, 'an op takes "at" (since the run started) or "after" (since the previous op), not both');
    }
    const out: Record<string, unknown> = { op: d.name };
    for (const [f, spec] of Object.entries(d.fields)) {
      const x = o[f];
      if (x === undefined) {
        if (spec.required) c.add('missing-field', pathKey(path, f), `op ${d.name} needs "${f}"`);
        else if (spec.default !== undefined) out[f] = spec.default;
        else if (spec.kind === 'flags') out[f] = [];
        continue;
      }
      if (!spec.built) {
        c.notBuilt(pathKey(path, f), `op ${d.name} field "${f}"`);
        continue;
      }
      const parsed = this.field(x, spec, pathKey(path, f), node, d, f);
      if (parsed !== undefined) out[f] = parsed;
    }
    const device = typeof out['device'] === 'string' ? out['device'] : undefined;
    if (device !== undefined && d.runs === 'device') this.modelAccepts(device, d.name, pathKey(path, 'op'));
    if (typeof out['as'] === 'string') {
      const kinds: RefKind[] = [d.produces];
      if (d.runs === 'device' && o['wait'] === false) kinds.push('wr');
      this.define(out['as'], pathKey(path, 'as'), node, d.name, kinds, device);
    }
    // The object holds exactly the descriptor's fields, each parsed to its field type.
    return out as Op;
  }

  /** A device op on @device: its model must accept @op (built-in and plugin models alike). */
  private modelAccepts(device: string, op: string, path: string): void {
    const model = this.devices.get(device);
    const spec = typeof model === 'string' ? this.c.ctx.models.get(model) : undefined;
    if (!spec || spec.ops.includes(op)) return; // an unknown or unbuilt model is reported under devices
    const accepting = [...this.c.ctx.models].filter(([, m]) => m.ops.includes(op)).map(([n]) => n);
    this.c.add('unsupported-op', path, `device "${device}" is a ${String(model)}, which does not accept ${op} (it accepts ${spec.ops.join(', ') || 'no op'})`,
      { expected: accepting.length ? `a device whose model accepts ${op}: ${accepting.join(', ')}` : `no device model here accepts ${op}` });
  }

  private field(v: unknown, spec: AnyField, path: string, node: number, d: OpDescriptor, f: string): unknown {
    const c = this.c;
    const want = REF_KIND[spec.kind];
    switch (spec.kind) {
      case 'as': return c.string(v, path);
      case 'size': return c.size(v, path);
      case 'time': return c.time(v, path);
      case 'bool': return c.bool(v, path);
      case 'enum': return c.builtWord(v, spec.words ?? [], path, 'unknown-value', `${d.name} ${f}`);
      case 'flags': return c.flags(v, spec.words ?? [], path, `${d.name} flag`);
      case 'file': return this.key(v, this.files, path, 'file');
      case 'device': return this.key(v, [...this.devices.keys()], path, 'device');
      case 'process': {
        const s = c.string(v, path);
        if (s !== undefined) this.processRefs.push({ process: s, path, first: undefined, field: true });
        return s;
      }
      case 'ops': {
        // A setlease inside an onBreak list nests its own list; a module could even hand in a list
        // that contains its own op. The walk recurses per level, so the depth is bounded.
        if (this.breakDepth >= MAX_ONBREAK_DEPTH) {
          c.add('too-deep', path, `onBreak lists nest more than ${MAX_ONBREAK_DEPTH} deep here`, { expected: `at most ${MAX_ONBREAK_DEPTH} nested onBreak lists (pinsim's limit)` });
          return undefined;
        }
        this.breakDepth++;
        const ops = this.list(v, path, { to: node, why: 'runs when the lease breaks, taken by' });
        this.breakDepth--;
        return ops;
      }
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
        return this.ref(v, 'address', path, node, undefined);
      case 'name:mr': case 'name:pins': case 'name:mirror': case 'name:wr':
        return want === undefined ? undefined : this.ref(v, want, path, node, d.runs === 'device' && (want === 'mr' || want === 'mirror') ? d.name : undefined);
    }
  }

  private key(v: unknown, keys: readonly string[], path: string, what: string): string | undefined {
    const s = this.c.string(v, path);
    if (s === undefined || keys.includes(s)) return s;
    this.c.add('unknown-name', path, `no ${what} "${s}" is declared`, { expected: `a key of ${what}s`, didYouMean: closest(s, keys) });
    return undefined;
  }

  private ref(v: unknown, want: RefKind, path: string, node: number, deviceOp: string | undefined): string | undefined {
    const s = this.c.string(v, path);
    if (s !== undefined) this.refs.push({ node, name: s, want, path, deviceOp, opPath: pathKey(path.replace(/\.[^.[]+$/, ''), 'op') });
    return s;
  }

  private define(name: string, path: string, node: number, op: string, kinds: readonly RefKind[] | null, device: string | undefined): void {
    const prev = this.names.get(name);
    if (prev) {
      this.c.add('duplicate-name', path, `"${name}" already names the result of ${prev.path.replace(/\.as$/, '')}; names are global to the scenario`);
      return;
    }
    this.names.set(name, { node, path, op, kinds, device });
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
      } else if (r.deviceOp !== undefined && def.device !== undefined) {
        this.modelAccepts(def.device, r.deviceOp, r.opPath);
      }
    }
    for (const p of this.processRefs) {
      const def = this.names.get(p.process);
      if (p.field && !def && !this.processNames.has(p.process)) {
        this.c.add('unknown-name', p.path, `no actor runs in process "${p.process}" and no fork creates it`,
          { expected: WANT_TEXT.process, didYouMean: closest(p.process, [...this.processNames]) });
        continue;
      }
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
    let start = Infinity;
    for (const v of comp) start = Math.min(start, v); // not Math.min(...comp): a component may hold every op
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

export const ADDR_TEXT = 'a non-negative integer address (or "0x…") or the "as" of an mmap or mremap';

