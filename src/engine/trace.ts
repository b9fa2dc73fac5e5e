/**
 * The trace bus: every model event is emitted here, hashed into `traceHash`, and handed to the
 * listeners (invariant checkers, reports). The hash is computed from the event's fields in their
 * declared order, before any listener sees it, so it depends neither on which listeners are
 * attached nor on `--trace`. A field is a primitive (number, string, boolean) or, for an event
 * that covers a range of pages, a typed array of per-page values (Int32Array, Uint32Array,
 * Uint8Array, Float64Array), hashed element by element.
 *
 * A listener either takes every event or names the event types it takes; an event is handed to
 * the listeners of its type only, so a checker that reads three types costs nothing on the others.
 * Listeners of every event run first, then those of the event's type, each group in the order it
 * subscribed.
 */

/** The shape every trace event has; the domain (mm) declares the union of concrete events. */
export interface TraceEventBase {
  type: string;
  time: number;
  actor: string;
}

export type TraceListener<E> = (ev: E) => void;

/**
 * TRACE_HASH_SCHEMA - what `traceHash` covers, as a number a replay file records: a trace hash is
 * comparable only with one of the same schema. 1: one event per page; 2: one event per range the
 * kernel handles without a preemption point (range events with typed per-page arrays). Bump it
 * whenever the events hashed change shape, not when a behaviour changes.
 */
export const TRACE_HASH_SCHEMA = 2;

const FNV_PRIME = 0x01000193;

/**
 * The hash of every string seen in an event, shared by all buses: a pure function of the string,
 * so an exploration's executions (a bus each) do not hash the same names again. Emptied when it
 * reaches STR_HASH_MAX strings, so that names made up per run cannot grow it without bound.
 */
const strHash = new Map<string, number>();
const STR_HASH_MAX = 1 << 16;

/** The two lanes of a hash, threaded through the array hashers below. */
const lanes = new Int32Array(2);

/**
 * hashInts() - mix every element of an integer array (Int32Array, Uint32Array; Uint8Array in hashBytes()) into
 * @lanes, one 32-bit word an element. A loop per array type keeps each one monomorphic.
 */
function hashInts(a: Int32Array | Uint32Array): void {
  let h1 = lanes[0] as number, h2 = lanes[1] as number;
  for (let i = 0; i < a.length; i++) {
    const w = (a[i] as number) | 0;
    h1 = Math.imul(h1 ^ w, FNV_PRIME);
    h2 = Math.imul(h2 ^ w, 0x5bd1e995);
    h2 ^= h2 >>> 15;
  }
  lanes[0] = h1;
  lanes[1] = h2;
}

function hashBytes(a: Uint8Array): void {
  let h1 = lanes[0] as number, h2 = lanes[1] as number;
  for (let i = 0; i < a.length; i++) {
    const w = a[i] as number;
    h1 = Math.imul(h1 ^ w, FNV_PRIME);
    h2 = Math.imul(h2 ^ w, 0x5bd1e995);
    h2 ^= h2 >>> 15;
  }
  lanes[0] = h1;
  lanes[1] = h2;
}

/** A float array's elements, each split into two words as mix() splits a number. */
function hashFloats(a: Float64Array): void {
  let h1 = lanes[0] as number, h2 = lanes[1] as number;
  for (let i = 0; i < a.length; i++) {
    const v = a[i] as number;
    const lo = v | 0;
    const hi = lo === v ? (v < 0 ? -1 : 0) : Number.isInteger(v) ? Math.floor(v / 4294967296) | 0 : Math.floor(v * 1e6) | 0;
    h1 = Math.imul(h1 ^ lo, FNV_PRIME);
    h1 = Math.imul(h1 ^ hi, FNV_PRIME);
    h2 = Math.imul(h2 ^ lo, 0x5bd1e995);
    h2 ^= h2 >>> 15;
  }
  lanes[0] = h1;
  lanes[1] = h2;
}

export class TraceBus<E extends TraceEventBase> {
  private readonly listeners: TraceListener<E>[] = [];
  /** Listeners of one event type each, by type. */
  private readonly typed = new Map<string, TraceListener<E>[]>();
  private typedCount = 0;
  private h1 = 0x811c9dc5;
  private h2 = 0x9747b28c;
  /** Number of events emitted. */
  count = 0;
  /** When set, the running hash after each event (for the determinism self-check). */
  stepHashes: string[] | null = null;

  /**
   * subscribe() - hand @fn every event, or with @types only the events of those types.
   * Return: the unsubscribe.
   */
  subscribe(fn: TraceListener<E>, types?: readonly string[]): () => void {
    if (!types) {
      this.listeners.push(fn);
      return () => {
        const i = this.listeners.indexOf(fn);
        if (i >= 0) this.listeners.splice(i, 1);
      };
    }
    for (const t of new Set(types)) {
      const l = this.typed.get(t);
      if (l) l.push(fn);
      else this.typed.set(t, [fn]);
      this.typedCount++;
    }
    return () => {
      for (const t of new Set(types)) {
        const l = this.typed.get(t);
        const i = l ? l.indexOf(fn) : -1;
        if (l && i >= 0) {
          l.splice(i, 1);
          this.typedCount--;
          if (!l.length) this.typed.delete(t);
        }
      }
    };
  }

  /**
   * reset() - an empty trace again (no event, the initial hash), keeping the listeners: a machine
   * reused for the next execution hashes it as a new bus would.
   */
  reset(): void {
    this.h1 = 0x811c9dc5;
    this.h2 = 0x9747b28c;
    this.count = 0;
    this.stepHashes = null;
  }

  /** True when someone listens: emitters may skip building costly optional fields otherwise. */
  get listened(): boolean {
    return this.listeners.length > 0 || this.typedCount > 0;
  }

  /** True when someone takes events of @type (every event, or that type). */
  listens(type: string): boolean {
    return this.listeners.length > 0 || this.typed.has(type);
  }

  emit(ev: E): void {
    this.count++;
    // mix() inlined over the fields, with the two lanes in locals; an int32 field takes the short
    // path (its high word is its sign), which gives the same words as mix().
    let h1 = this.h1, h2 = this.h2;
    // E is any event shape (an interface has no index signature): read its fields by name. The
    // engine knows no event type, so the view cannot be narrower; no copy on this hot path.
    const rec = ev as unknown as Record<string, unknown>;
    for (const k in rec) {
      const v = rec[k];
      let lo: number, hi: number;
      if (typeof v === 'number') {
        lo = v | 0;
        if (lo === v) hi = v < 0 ? -1 : 0;
        else hi = Number.isInteger(v) ? Math.floor(v / 4294967296) | 0 : Math.floor(v * 1e6) | 0;
      } else if (typeof v === 'string') {
        lo = this.hashStr(v);
        hi = lo < 0 ? -1 : 0;
      } else if (typeof v === 'boolean') {
        lo = v ? 1 : 2;
        hi = 0;
      } else if (v instanceof Int32Array || v instanceof Uint32Array || v instanceof Uint8Array || v instanceof Float64Array) {
        // A range event's per-page values: every element, then its length.
        lanes[0] = h1;
        lanes[1] = h2;
        if (v instanceof Float64Array) hashFloats(v);
        else if (v instanceof Uint8Array) hashBytes(v);
        else hashInts(v);
        h1 = lanes[0] as number;
        h2 = lanes[1] as number;
        lo = v.length;
        hi = 0x7a11;
      } else continue;
      h1 = Math.imul(h1 ^ lo, FNV_PRIME);
      h1 = Math.imul(h1 ^ hi, FNV_PRIME);
      h2 = Math.imul(h2 ^ lo, 0x5bd1e995);
      h2 ^= h2 >>> 15;
      h2 = Math.imul(h2 ^ hi, 0x27d4eb2d) ^ h1;
    }
    this.h1 = h1;
    this.h2 = h2;
    this.mix(0x5bd1e995);
    if (this.stepHashes) this.stepHashes.push(this.traceHash);
    const ls = this.listeners;
    for (let i = 0; i < ls.length; i++) (ls[i] as TraceListener<E>)(ev);
    const ts = this.typed.get(ev.type);
    if (ts) for (let i = 0; i < ts.length; i++) (ts[i] as TraceListener<E>)(ev);
  }

  /** 64-bit FNV-style hash of the whole trace so far, as 16 hex digits. */
  get traceHash(): string {
    return (this.h1 >>> 0).toString(16).padStart(8, '0') + (this.h2 >>> 0).toString(16).padStart(8, '0');
  }

  private mix(v: number): void {
    // Split a number into two 32-bit words so that large integers (pfns, addresses) hash exactly.
    const lo = v | 0;
    const hi = Number.isInteger(v) ? Math.floor(v / 4294967296) | 0 : Math.floor(v * 1e6) | 0;
    this.h1 = Math.imul(this.h1 ^ lo, FNV_PRIME);
    this.h1 = Math.imul(this.h1 ^ hi, FNV_PRIME);
    this.h2 = Math.imul(this.h2 ^ lo, 0x5bd1e995);
    this.h2 ^= this.h2 >>> 15;
    this.h2 = Math.imul(this.h2 ^ hi, 0x27d4eb2d) ^ this.h1;
  }

  private hashStr(s: string): number {
    let h = strHash.get(s);
    if (h === undefined) {
      h = 0x811c9dc5;
      for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), FNV_PRIME);
      if (strHash.size >= STR_HASH_MAX) strHash.clear();
      strHash.set(s, h);
    }
    return h;
  }
}
