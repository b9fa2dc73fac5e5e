/**
 * (pinsim-only) What an op descriptor is made of. One descriptor per op of the scenario format holds
 * everything about it: its fields (kind, unit, default, whether required, documentation), the words
 * its enum and flag fields take, what its `as` names, whether pinsim has built it, and its executor
 * (run by the op's process, or posted to a device). Validation, the builder's types, execution,
 * result recording, `pinsim list --ops` and docs/scenario-reference.md all read these descriptors;
 * the TypeScript type of an op is inferred from its fields (see `OpOf`).
 */
import type { Co } from '../../engine/actor.js';
import type { Op, OpBuild } from './table.js';
import type { Exec, OpCtx } from '../run/state.js';

// ---------------------------------------------------------------------------------------------
// Words of enum and flag fields

/** One word an enum or flag field takes; `built: false` is refused as not-implemented. */
export interface WordSpec<W extends string = string> {
  readonly word: W;
  readonly doc: string;
  readonly built: boolean;
}

/** word() - a word pinsim runs. */
export function word<const W extends string>(w: W, doc: string): WordSpec<W> {
  return { word: w, doc, built: true };
}

/** unbuilt() - a word of the format pinsim has not built yet (refused as not-implemented). */
export function unbuilt<const W extends string>(w: W, doc: string): WordSpec<W> {
  return { word: w, doc, built: false };
}

// ---------------------------------------------------------------------------------------------
// Fields

/**
 * How a field's value is read:
 * - `size` / `time`: a unit string or an integer (bytes, ns); `addr`: an integer address, `"0x…"`,
 *   or the `as` of an op that produced an address;
 * - `name:*`: the `as` of an op of that kind; `file` / `device`: a key of `files` / `devices`;
 *   `process`: a process an actor runs in, or the `as` of a fork;
 * - `flags`: an array of words; `enum`: one word; `bool`;
 * - `ops`: a nested op list (setlease's onBreak); `target`: a size or the word `"buffers"` (reclaim);
 * - `as`: a new name.
 */
export type FieldKind =
  | 'as' | 'size' | 'time' | 'addr' | 'name:mr' | 'name:pins' | 'name:mirror' | 'name:wr'
  | 'file' | 'device' | 'process' | 'flags' | 'enum' | 'bool' | 'ops' | 'target';

/** Stands for "a list of ops" in a field's value type (resolved to Op[] or OpBuild[] by OpOf / InputOf). */
export interface OpListMarker { readonly opList: true }

/**
 * A field. V is its type after validation, I what users may write, R whether it is required, F
 * whether validation fills it in when left out (so it is always present after validation).
 */
export interface FieldSpec<V = unknown, I = unknown, R extends boolean = boolean, F extends boolean = boolean> {
  readonly kind: FieldKind;
  readonly required: R;
  /** Filled in by validation when left out: `default`, or `[]` for flags. */
  readonly filled: F;
  readonly default?: number;
  /** The words of an enum or flags field. */
  readonly words?: readonly WordSpec[];
  /** false: a field of the format pinsim has not built yet (refused as not-implemented). */
  readonly built: boolean;
  readonly doc: string;
  /** Type carriers only; never set. */
  readonly valueType?: V;
  readonly inputType?: I;
}

export type AnyField = FieldSpec<unknown, unknown, boolean, boolean>;
export type Fields = Readonly<Record<string, AnyField>>;

/** An address: a number, or the `as` name of an op that produced an address (mmap, mremap). */
export type AddrRef = number | string;
export type SizeInput = number | string;
export type TimeInput = number | string;

interface FieldOpts { readonly required?: boolean; readonly default?: number; readonly built?: boolean }
type Req<O extends FieldOpts> = O['required'] extends true ? true : false;
type Fill<O extends FieldOpts> = O['default'] extends number ? true : false;

function field<V, I, O extends FieldOpts>(kind: FieldKind, doc: string, o: O | undefined, extra: { words?: readonly WordSpec[]; filled?: boolean } = {}): FieldSpec<V, I, Req<O>, Fill<O>> {
  const f: { -readonly [K in keyof AnyField]: AnyField[K] } = {
    kind, doc, required: o?.required ?? false, filled: extra.filled ?? o?.default !== undefined, built: o?.built ?? true,
  };
  if (o?.default !== undefined) f.default = o.default;
  if (extra.words) f.words = extra.words;
  // The type parameters only describe required/filled, which the object literal above sets.
  return f as FieldSpec<V, I, Req<O>, Fill<O>>;
}

/** The field builders the descriptors use. */
export const F = {
  size: <const O extends FieldOpts = object>(doc: string, o?: O) => field<number, SizeInput, O>('size', doc, o),
  time: <const O extends FieldOpts = object>(doc: string, o?: O) => field<number, TimeInput, O>('time', doc, o),
  addr: <const O extends FieldOpts = object>(doc: string, o?: O) => field<AddrRef, AddrRef, O>('addr', doc, o),
  file: <const O extends FieldOpts = object>(doc: string, o?: O) => field<string, string, O>('file', doc, o),
  device: <const O extends FieldOpts = object>(doc: string, o?: O) => field<string, string, O>('device', doc, o),
  process: <const O extends FieldOpts = object>(doc: string, o?: O) => field<string, string, O>('process', doc, o),
  mr: <const O extends FieldOpts = object>(doc: string, o?: O) => field<string, string, O>('name:mr', doc, o),
  pins: <const O extends FieldOpts = object>(doc: string, o?: O) => field<string, string, O>('name:pins', doc, o),
  mirror: <const O extends FieldOpts = object>(doc: string, o?: O) => field<string, string, O>('name:mirror', doc, o),
  wr: <const O extends FieldOpts = object>(doc: string, o?: O) => field<string, string, O>('name:wr', doc, o),
  bool: <const O extends FieldOpts = object>(doc: string, o?: O) => field<boolean, boolean, O>('bool', doc, o),
  as: (doc: string) => field<string, string, object>('as', doc, undefined),
  target: <const O extends FieldOpts = object>(doc: string, o?: O) => field<number | 'buffers', SizeInput, O>('target', doc, o),
  ops: (doc: string) => field<OpListMarker, OpListMarker, object>('ops', doc, undefined),
  /** One word of @words. */
  enum: <const W extends string, const O extends FieldOpts = object>(words: readonly WordSpec<W>[], doc: string, o?: O) =>
    field<W, W, O>('enum', doc, o, { words }),
  /** A list of words of @words; `[]` when left out. */
  flags: <const W extends string>(words: readonly WordSpec<W>[], doc: string) =>
    field<W[], W[], { default: 0 }>('flags', doc, undefined, { words, filled: true }),
};

// ---------------------------------------------------------------------------------------------
// Types inferred from fields

/**
 * A nested op list (setlease's onBreak). Interfaces are resolved lazily, which lets an op's type
 * contain the union of every op without the table's type depending on itself.
 */
export interface OpList extends Array<Op> {}
/** A nested op list as written. */
export interface OpBuildList extends Array<OpBuild> {}
type ValueOf<X> = X extends FieldSpec<infer V, unknown, boolean, boolean> ? (V extends OpListMarker ? OpList : V) : never;
type InputOf<X> = X extends FieldSpec<unknown, infer I, boolean, boolean> ? (I extends OpListMarker ? OpBuildList : I) : never;
type Present<Fs extends Fields> = { [K in keyof Fs]: Fs[K] extends { required: true } | { filled: true } ? K : never }[keyof Fs];
type Demanded<Fs extends Fields> = { [K in keyof Fs]: Fs[K] extends { required: true } ? K : never }[keyof Fs];
type Flatten<T> = { [K in keyof T]: T[K] };

/** An op after validation: units resolved, defaults filled in. */
export type OpOf<N extends string, Fs extends Fields> = Flatten<
  { op: N } & { [K in Present<Fs>]: ValueOf<Fs[K]> } & { [K in Exclude<keyof Fs, Present<Fs>>]?: ValueOf<Fs[K]> }>;

/** An op as written (JSON or the builder): sizes and times may be unit strings. */
export type InputOpOf<N extends string, Fs extends Fields> = Flatten<
  { op: N } & { [K in Demanded<Fs>]: InputOf<Fs[K]> } & { [K in Exclude<keyof Fs, Demanded<Fs>>]?: InputOf<Fs[K]> }>;

// ---------------------------------------------------------------------------------------------
// Descriptors

/** What an op's `as` names. A device op posted with `wait: false` also names a `wr` (see poll). */
export type NameKind = 'address' | 'mr' | 'pins' | 'mirror' | 'process' | 'write' | 'read' | 'result';

/**
 * Who runs the op: `process` ops run on the actor's own thread in the kernel model; `device` ops are
 * executed by a device (named by the op's `device`, or owning its MR or mirror), take `wait`, and are
 * accepted only by the device models that list them in their `ops`.
 */
export type Runs = 'process' | 'device';

/** An executor of ops of type O. */
export type Executor<O> = (x: OpCtx, op: O) => Co<Exec>;

export interface OpDescriptor<N extends string = string, Fs extends Fields = Fields> {
  readonly name: N;
  readonly doc: string;
  readonly runs: Runs;
  /** Every field, the common ones (`at`, `after`, `as`, `wait`, `onSignal`) included. */
  readonly fields: Fs;
  readonly produces: NameKind;
  /** Records what it read under its `as` in the result's `observed`. */
  readonly observes: boolean;
  /** The results it can have besides blocked / not-run / crashed, for the reference. */
  readonly results: readonly string[];
  /** Its fields that may name another op's result (the op waits until each name exists). */
  readonly refs: readonly string[];
  /**
   * The executor: run @op for the actor in @x. Return: its result (and what it read). Absent: part
   * of the format, not built yet (refused as not-implemented, never run as a stub).
   */
  exec?(x: OpCtx, op: OpOf<N, Fs>): Co<Exec>;
}

/** The name kind a reference field demands. */
export type RefKind = NameKind | 'wr';
export const REF_KIND: Readonly<Partial<Record<FieldKind, RefKind>>> = {
  addr: 'address', 'name:mr': 'mr', 'name:pins': 'pins', 'name:mirror': 'mirror', 'name:wr': 'wr',
};

/** Fields every op takes. */
const COMMON = {
  at: F.time('earliest start, since the run started (a lower bound: a late start is recorded as lateNs)'),
  after: F.time('earliest start, since the previous op of the actor completed'),
  as: F.as('names the result for later ops and expectations (names are global and unique)'),
};
/** Device ops also take `wait`. */
const DEVICE = {
  wait: F.bool('false: post the op and go on; `poll` waits for its completion (default true)'),
};
/** CPU accesses also take `onSignal`. */
const SIGNAL = {
  onSignal: F.enum([word('die', 'the process dies of the signal (default)'), word('continue', 'the process goes on')],
    'what a SIGBUS or SIGSEGV does to the process'),
};

/** The fields some ops share (at, after, as; wait; onSignal), described once. */
export const SHARED_FIELDS: Fields = { ...COMMON, ...DEVICE, ...SIGNAL };

/** ownFields() - @d's fields other than the shared ones. */
export function ownFields(d: OpDescriptor): [string, AnyField][] {
  return Object.entries(d.fields).filter(([f]) => !(f in SHARED_FIELDS));
}

interface DefineOpts<N extends string, Fs extends Fields> {
  readonly name: N;
  readonly doc: string;
  readonly produces: NameKind;
  readonly results: readonly string[];
  readonly fields: Fs;
  readonly observes?: boolean;
}

type WithCommon<Fs extends Fields> = typeof COMMON & Fs;

/** processOp() - the descriptor of an op the actor's own thread runs in the kernel model. */
export function processOp<const N extends string, const Fs extends Fields>(
  d: DefineOpts<N, Fs> & { readonly exec?: Executor<OpOf<N, WithCommon<Fs>>> },
): OpDescriptor<N, WithCommon<Fs>> {
  return describe<N, WithCommon<Fs>>(d, 'process', { ...COMMON, ...d.fields }, d.exec);
}

/** cpuOp() - a process op that is a CPU access (takes `onSignal`). */
export function cpuOp<const N extends string, const Fs extends Fields>(
  d: DefineOpts<N, Fs> & { readonly exec?: Executor<OpOf<N, WithCommon<Fs> & typeof SIGNAL>> },
): OpDescriptor<N, WithCommon<Fs> & typeof SIGNAL> {
  return describe<N, WithCommon<Fs> & typeof SIGNAL>(d, 'process', { ...COMMON, ...d.fields, ...SIGNAL }, d.exec);
}

/** deviceOp() - the descriptor of an op a device executes (takes `wait`). */
export function deviceOp<const N extends string, const Fs extends Fields>(
  d: DefineOpts<N, Fs> & { readonly exec?: Executor<OpOf<N, WithCommon<Fs> & typeof DEVICE>> },
): OpDescriptor<N, WithCommon<Fs> & typeof DEVICE> {
  return describe<N, WithCommon<Fs> & typeof DEVICE>(d, 'device', { ...COMMON, ...d.fields, ...DEVICE }, d.exec);
}

function describe<N extends string, All extends Fields>(
  d: DefineOpts<N, Fields>, runs: Runs, fields: All, exec: Executor<OpOf<N, All>> | undefined,
): OpDescriptor<N, All> {
  const refs = Object.entries(fields).filter(([, spec]) => REF_KIND[spec.kind] !== undefined).map(([f]) => f);
  const out = { name: d.name, doc: d.doc, runs, fields, produces: d.produces, observes: d.observes ?? false, results: d.results, refs };
  return exec ? { ...out, exec } : out;
}
