/**
 * The trace bus: every model event is emitted here, hashed into `traceHash`, and handed to the
 * listeners (invariant checkers, reports). The hash is computed from the event's primitive fields
 * in their declared order, before any listener sees it, so it depends neither on which listeners
 * are attached nor on `--trace`.
 */

/** The shape every trace event has; the domain (mm) declares the union of concrete events. */
export interface TraceEventBase {
  type: string;
  time: number;
  actor: string;
}

export type TraceListener<E> = (ev: E) => void;

const FNV_PRIME = 0x01000193;

/**
 * The hash of every string seen in an event, shared by all buses: a pure function of the string,
 * so an exploration's executions (a bus each) do not hash the same names again. Emptied when it
 * reaches STR_HASH_MAX strings, so that names made up per run cannot grow it without bound.
 */
const strHash = new Map<string, number>();
const STR_HASH_MAX = 1 << 16;

export class TraceBus<E extends TraceEventBase> {
  private readonly listeners: TraceListener<E>[] = [];
  private h1 = 0x811c9dc5;
  private h2 = 0x9747b28c;
  /** Number of events emitted. */
  count = 0;
  /** When set, the running hash after each event (for the determinism self-check). */
  stepHashes: string[] | null = null;

  subscribe(fn: TraceListener<E>): () => void {
    this.listeners.push(fn);
    return () => {
      const i = this.listeners.indexOf(fn);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  /** True when someone listens: emitters may skip building costly optional fields otherwise. */
  get listened(): boolean {
    return this.listeners.length > 0;
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
