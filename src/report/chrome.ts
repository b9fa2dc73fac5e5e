/**
 * The Chrome / Perfetto trace of one run (the JSON "Trace Event Format" that ui.perfetto.dev and
 * chrome://tracing open): one process (pid 1) with one track per actor — the scenario's threads,
 * each device, the kernel's own paths — named by `thread_name` metadata. Ops are slices on their
 * actor, DMA windows slices on their device, MMU-notifier ranges slices on the invalidating actor
 * and each subscriber's invalidate a slice on the subscriber, joined by flow arrows from the range
 * to every acknowledgement. Counters follow refcount and pincount of the frames the violations are
 * about, and each violation is a global instant carrying its story.
 *
 * Timestamps are µs (ns / 1000, fractional). Slices on one track must nest, so a slice that would
 * overlap another partially (two DMAs in flight, an invalidation during a DMA) goes to an extra lane
 * of the same actor: a track of its own named `<actor> (2)`, sorted right below the actor's.
 */
import { formatSize, formatTime } from '../engine/clock.js';
import { PAGE_SIZE as PAGE_BYTES } from '../mm/types.js';
import type { MmEventOf, MmTraceEvent } from '../mm/trace_events.js';
import type { RunResult } from '../scenario/run/result.js';
import { tellChain } from './story.js';

type Args = Record<string, string | number | boolean>;

/** One event of the Trace Event Format, as the viewers read it. */
export interface ChromeEvent {
  name: string;
  ph: 'X' | 'M' | 's' | 'f' | 'C' | 'i';
  pid: number;
  tid: number;
  /** µs; absent on metadata events. */
  ts?: number;
  /** µs, on `X` slices. */
  dur?: number;
  cat?: string;
  /** Flow id, on `s` / `f`. */
  id?: number;
  /** `e`: a flow end binds to the slice enclosing it. */
  bp?: 'e';
  /** Instant scope: g(lobal), p(rocess), t(hread). */
  s?: 'g' | 'p' | 't';
  args?: Args;
}

export interface ChromeTrace {
  traceEvents: ChromeEvent[];
  displayTimeUnit: 'ns';
  metadata: { scenario: string; policy: string; seed: number; traceHash: string };
}

const PID = 1;
/** Kernel paths that are no scenario actor and no device. */
const ACTOR_GROUP = { scenario: 0, device: 1, kernel: 2 } as const;

interface Slice {
  actor: string;
  start: number;
  end: number;
  name: string;
  cat: string;
  args: Args;
  /** Assigned lane (0: the actor's own track). */
  lane: number;
}

/** One MMU-notifier range as the trace tells it. */
interface NotifierRange {
  id: number;
  actor: string;
  event: string;
  mm: string;
  from: number;
  to: number;
  blockable: boolean;
  /** notifier_start / notifier_end (or _abort) times, when traced. */
  start: number | null;
  end: number | null;
  aborted: boolean;
  acks: MmEventOf<'notifier_sub_done'>[];
  /** Time of the range's first event. */
  first: number;
}

interface Track {
  name: string;
  group: number;
  order: number;
  /** tid of each lane, lane 0 first. */
  tids: number[];
}

const us = (ns: number): number => ns / 1000;
const hex = (n: number): string => `0x${n.toString(16)}`;

/** Instants on the actor's track for kernel events worth seeing on a timeline. */
const NOTABLE: ReadonlySet<string> = new Set([
  'kernel_warn', 'kernel_bug', 'mr_revoked', 'device_dead', 'dummy_redirect', 'lease_break', 'iommu_fault', 'writeback_skip',
  'truncate_wait', 'folio_migrate', 'dax_busy_wait',
]);

function eventArgs(ev: MmTraceEvent): Args {
  const a: Args = {};
  for (const [k, v] of Object.entries(ev)) {
    if (k === 'type' || k === 'time' || k === 'actor') continue;
    // '' and -1 mean "none" in the trace (no file, no index, no pfn).
    if (v === '' || (v === -1 && (k === 'pfn' || k === 'index'))) continue;
    if (typeof v === 'number' && (k === 'pfn' || k === 'head' || k === 'va' || k === 'start' || k === 'end' || k === 'iova') && v >= 0) a[k] = hex(v);
    else if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') a[k] = v;
  }
  return a;
}

/**
 * assignLanes() - give each slice of one actor the first lane where it nests (it ends before the
 * enclosing open slice does, or the lane is idle). Slices sorted by start, longer first.
 */
function assignLanes(slices: Slice[]): number {
  slices.sort((a, b) => a.start - b.start || b.end - a.end);
  const stacks: number[][] = [];
  for (const s of slices) {
    let lane = 0;
    for (;; lane++) {
      const st = stacks[lane] ?? (stacks[lane] = []);
      while (st.length && (st[st.length - 1] as number) <= s.start) st.pop();
      const top = st[st.length - 1];
      if (top === undefined || top >= s.end) {
        st.push(s.end);
        break;
      }
    }
    s.lane = lane;
  }
  return stacks.length;
}

/** A flow arrow from an invalidation's slice to one subscriber's acknowledgement. */
interface Flow {
  id: number;
  event: string;
  from: Slice;
  to: Slice;
  holder: string;
}

/** A refcount/pincount sample of a frame a violation is about (pincount undefined: unchanged). */
interface CounterSample {
  ev: MmTraceEvent;
  pfn: number;
  refcount: number;
  pincount: number | undefined;
  /** a large folio's pages (its head's counts) */
  nr?: number;
}

/** The actors in order of first appearance, and which group (scenario, device, kernel) each is in. */
interface Actors {
  seen: string[];
  note(a: string): void;
  groupOf(a: string): number;
}

/**
 * actorsOf() - who is who: scenario actors run ops, devices are named by device/holder fields, the
 * rest is kernel; each noted in order of first appearance.
 */
function actorsOf(events: readonly MmTraceEvent[], r: RunResult): Actors {
  const scenarioActors = new Set<string>();
  for (const k of Object.keys(r.results)) {
    const m = /^(.+)\.\d+$/.exec(k);
    if (m) scenarioActors.add(m[1] as string);
  }
  const devices = new Set<string>();
  const seen: string[] = [];
  const seenSet = new Set<string>();
  const note = (a: string) => {
    if (a !== '' && !seenSet.has(a)) {
      seenSet.add(a);
      seen.push(a);
    }
  };
  for (const ev of events) {
    if (ev.type === 'op_start') scenarioActors.add(ev.actor);
    if ('device' in ev && typeof ev.device === 'string') devices.add(ev.device);
    if ((ev.type === 'notifier_sub_done' || ev.type === 'interval_insert') && !scenarioActors.has(ev.holder)) devices.add(ev.holder);
    note(ev.actor);
    if ('device' in ev && typeof ev.device === 'string') note(ev.device);
    if (ev.type === 'notifier_sub_done') note(ev.holder);
  }
  for (const a of scenarioActors) note(a);
  for (const v of r.violations) note(v.actor);
  const groupOf = (a: string) => (scenarioActors.has(a) ? ACTOR_GROUP.scenario : devices.has(a) ? ACTOR_GROUP.device : ACTOR_GROUP.kernel);
  return { seen, note, groupOf };
}

/** The frames the violations are about (their own pfn and every chain step's): these get counters. */
function involvedPfns(r: RunResult): Set<number> {
  const involved = new Set<number>();
  for (const v of r.violations) {
    if (v.pfn >= 0) involved.add(v.pfn);
    for (const c of v.chain) if (c.pfn !== undefined && c.pfn >= 0) involved.add(c.pfn);
  }
  return involved;
}

/**
 * SliceCollector - one pass over the events: ops, DMA windows and held DMAs become slices, notifier
 * ranges are gathered with their acknowledgements, counter samples and notable instants are kept.
 * finish() ends what is still open with the run and turns the ranges into slices and flows.
 */
class SliceCollector {
  readonly slices: Slice[] = [];
  readonly flows: Flow[] = [];
  readonly instants: ChromeEvent[] = [];
  readonly counters: CounterSample[] = [];
  private readonly involved: ReadonlySet<number>;
  private readonly openOps = new Map<string, MmEventOf<'op_start'>>();
  private readonly openDma = new Map<string, MmEventOf<'dma_start'>>();
  private readonly openHold = new Map<string, MmEventOf<'dev_dma_hold'>>();
  private readonly ranges = new Map<number, NotifierRange>();
  /** The large folios allocated so far (head pfn, pages), the latest last: a DMA slice names their size. */
  private readonly large: { head: number; nr: number }[] = [];
  /** The largest folio (in pages) each open DMA has touched. */
  private readonly dmaFolio = new Map<string, number>();

  constructor(involved: ReadonlySet<number>) {
    this.involved = involved;
  }

  /** The large folio @pfn belongs to (the latest allocated over it), or undefined. */
  private largeOf(pfn: number): { head: number; nr: number } | undefined {
    for (let i = this.large.length - 1; i >= 0; i--) {
      const f = this.large[i]!;
      if (pfn >= f.head && pfn < f.head + f.nr) return f;
    }
    return undefined;
  }

  private add(actor: string, start: number, end: number, name: string, cat: string, args: Args): Slice {
    const s: Slice = { actor, start, end: Math.max(start, end), name, cat, args, lane: 0 };
    this.slices.push(s);
    return s;
  }

  /** The range of @id; a range without notifier_start (exit's release) begins at its first acknowledgement. */
  private rangeOf(id: number, ev: MmEventOf<'notifier_start' | 'notifier_sub_done'>): NotifierRange {
    let rg = this.ranges.get(id);
    if (!rg) {
      rg = {
        id, actor: ev.actor, event: ev.event, mm: ev.mm, from: ev.start, to: ev.end, blockable: ev.blockable,
        start: null, end: null, aborted: false, acks: [], first: ev.time,
      };
      this.ranges.set(id, rg);
    }
    return rg;
  }

  private opEnd(ev: MmEventOf<'op_end' | 'op_blocked'>): void {
    const o = this.openOps.get(ev.name);
    if (!o) return;
    this.openOps.delete(ev.name);
    const args: Args = { op: ev.name, result: ev.type === 'op_end' ? ev.result : 'blocked' };
    if (ev.type === 'op_end' && ev.blockedNs) args['blocked'] = formatTime(ev.blockedNs);
    if (ev.type === 'op_blocked' && ev.wq) args['wq'] = ev.wq;
    this.add(o.actor, o.time, ev.time, ev.op, 'op', args);
  }

  private dmaComplete(ev: MmEventOf<'dma_complete'>): void {
    const key = `${ev.device}:${ev.wr}`;
    const s = this.openDma.get(key);
    if (!s) {
      // Completed without starting (a dead device, a revoked MR): a zero-length slice.
      this.add(ev.device, ev.time, ev.time, `dma ${ev.wr}`, 'dma', { wr: ev.wr, status: ev.status });
      return;
    }
    this.openDma.delete(key);
    const args: Args = { wr: s.wr, op: s.op, length: s.length, pages: s.pages, status: ev.status };
    // A DMA into a huge page says so: its pages are one folio of that size.
    const nr = this.dmaFolio.get(key);
    if (nr !== undefined) {
      args['folio'] = formatSize(nr * PAGE_BYTES);
      this.dmaFolio.delete(key);
    }
    this.add(ev.device, s.time, ev.time, `${s.op} ${s.wr}`, 'dma', args);
  }

  private holdRelease(ev: MmEventOf<'dev_dma_release'>): void {
    const key = `${ev.device}:${ev.wr}`;
    const s = this.openHold.get(key);
    if (!s) return;
    this.openHold.delete(key);
    this.add(ev.device, s.time, ev.time, `dma ${ev.wr}`, 'dma', { wr: ev.wr });
  }

  private rangeEnd(ev: MmEventOf<'notifier_end' | 'notifier_abort'>): void {
    const rg = this.ranges.get(ev.id);
    if (!rg || rg.end !== null) return;
    rg.end = ev.time;
    if (ev.type === 'notifier_abort') rg.aborted = true;
  }

  private sample(ev: MmTraceEvent, pfn: number, refcount: number, pincount: number | undefined): void {
    // A large folio's counts are its head's; the folio is involved when any of its pages is.
    const f = this.largeOf(pfn);
    if (f && f.head === pfn) {
      for (const p of this.involved) {
        if (p >= f.head && p < f.head + f.nr) {
          this.counters.push({ ev, pfn, refcount, pincount, nr: f.nr });
          return;
        }
      }
      return;
    }
    if (this.involved.has(pfn)) this.counters.push({ ev, pfn, refcount, pincount });
  }

  on(ev: MmTraceEvent): void {
    switch (ev.type) {
      case 'op_start': this.openOps.set(ev.name, ev); break;
      case 'op_end': case 'op_blocked': this.opEnd(ev); break;
      case 'dma_start': this.openDma.set(`${ev.device}:${ev.wr}`, ev); break;
      case 'dma_complete': this.dmaComplete(ev); break;
      case 'dev_dma_hold': {
        const key = `${ev.device}:${ev.wr}`;
        if (!this.openHold.has(key)) this.openHold.set(key, ev);
        break;
      }
      case 'dev_dma_release': this.holdRelease(ev); break;
      case 'notifier_start': this.rangeOf(ev.id, ev).start = ev.time; break;
      case 'notifier_end': case 'notifier_abort': this.rangeEnd(ev); break;
      case 'notifier_sub_done': this.rangeOf(ev.id, ev).acks.push(ev); break;
      case 'dma_ref_get': case 'dma_ref_put': this.sample(ev, ev.head ?? ev.pfn, ev.refcount, ev.pincount); break;
      case 'filemap_remove': case 'frame_final':
        ev.pfns.forEach((pfn, i) => this.sample(ev, pfn, ev.refcounts[i] as number, ev.pincounts[i] as number));
        break;
      case 'folio_alloc': if (ev.nr) this.large.push({ head: ev.pfn, nr: ev.nr }); break;
      case 'dma_access': {
        const f = this.largeOf(ev.pfn);
        const key = `${ev.device}:${ev.wr}`;
        if (f && f.nr > (this.dmaFolio.get(key) ?? 0)) this.dmaFolio.set(key, f.nr);
        break;
      }
      case 'filemap_add': case 'pte_set': case 'dax_busy_wait': this.sample(ev, ev.pfn, ev.refcount, undefined); break;
      case 'folio_free': for (const pfn of ev.pfns) this.sample(ev, pfn, 0, 0); break;
      default: break;
    }
    if (NOTABLE.has(ev.type)) {
      this.instants.push({ name: ev.type, ph: 'i', s: 't', cat: 'kernel', pid: PID, tid: 0, ts: us(ev.time), args: { actor: ev.actor, ...eventArgs(ev) } });
    }
  }

  /**
   * finish() - whatever is still open ends with the run (@lastTime). Each range: a slice on the
   * invalidating actor from start to end, then each subscriber's invalidate as a slice on the
   * subscriber, from the previous acknowledgement to its own, with a flow to it.
   */
  finish(lastTime: number): void {
    for (const o of this.openOps.values()) this.add(o.actor, o.time, lastTime, o.op, 'op', { op: o.name, result: 'unfinished' });
    for (const s of this.openDma.values()) {
      this.add(s.device, s.time, lastTime, `${s.op} ${s.wr}`, 'dma', { wr: s.wr, op: s.op, length: s.length, pages: s.pages, status: 'unfinished' });
    }
    for (const s of this.openHold.values()) this.add(s.device, s.time, lastTime, `dma ${s.wr}`, 'dma', { wr: s.wr, status: 'unfinished' });
    for (const rg of this.ranges.values()) {
      const lastAck = rg.acks.length ? (rg.acks[rg.acks.length - 1] as MmTraceEvent).time : rg.first;
      const start = rg.start ?? rg.first;
      const end = rg.end ?? (rg.start === null ? lastAck : lastTime);
      const args: Args = { range: rg.id, mm: rg.mm, start: hex(rg.from), end: hex(rg.to), blockable: rg.blockable };
      if (rg.aborted) args['aborted'] = true;
      if (rg.start !== null && rg.end === null) args['ended'] = false;
      const inv = this.add(rg.actor, start, Math.max(end, lastAck), `mmu_notifier ${rg.event}`, 'notifier', args);
      let next = start;
      for (const a of rg.acks) {
        const ack = this.add(a.holder, next, a.time, `invalidate ${a.event}`, 'notifier', {
          range: rg.id, invalidator: a.actor, mm: a.mm, ok: a.ok, blockable: a.blockable,
        });
        next = a.time;
        this.flows.push({ id: this.flows.length + 1, event: a.event, from: inv, to: ack, holder: a.holder });
      }
    }
  }
}

/**
 * assignTracks() - tracks for scenario actors, then devices, then kernel paths, each in order of
 * first appearance, with one tid per lane its slices need.
 */
function assignTracks(who: Actors, slices: Slice[]): Map<string, Track> {
  for (const s of slices) who.note(s.actor);
  const order = [...who.seen].sort((a, b) => who.groupOf(a) - who.groupOf(b) || who.seen.indexOf(a) - who.seen.indexOf(b));
  const byActor = new Map<string, Slice[]>();
  for (const s of slices) {
    const l = byActor.get(s.actor) ?? [];
    l.push(s);
    byActor.set(s.actor, l);
  }
  const tracks = new Map<string, Track>();
  let nextTid = 1;
  order.forEach((a, i) => tracks.set(a, { name: a, group: who.groupOf(a), order: i, tids: [nextTid++] }));
  for (const a of order) {
    const list = byActor.get(a);
    const t = tracks.get(a) as Track;
    const lanes = list ? assignLanes(list) : 1;
    for (let l = 1; l < lanes; l++) t.tids.push(nextTid++);
  }
  return tracks;
}

/**
 * flowEvents() - each flow's two ends. They lie strictly inside their slices where the slices have
 * any length, so that both viewers bind them to those slices whatever order they give events of
 * equal timestamps; and the arrow never points back in time (an acknowledgement may come at the
 * range's start).
 */
function flowEvents(flows: readonly Flow[], tidOf: (actor: string, lane?: number) => number): ChromeEvent[] {
  const out: ChromeEvent[] = [];
  for (const f of flows) {
    const args: Args = { range: Number(f.from.args['range'] ?? 0), subscriber: f.holder };
    const fAt = f.to.end - Math.min(1, (f.to.end - f.to.start) / 2);
    const sAt = Math.min(f.from.start + Math.min(1, (f.from.end - f.from.start) / 2), Math.max(f.from.start, fAt));
    out.push({ name: f.event, ph: 's', cat: 'notifier', id: f.id, pid: PID, tid: tidOf(f.from.actor, f.from.lane), ts: us(sAt), args });
    out.push({ name: f.event, ph: 'f', bp: 'e', cat: 'notifier', id: f.id, pid: PID, tid: tidOf(f.to.actor, f.to.lane), ts: us(fAt), args });
  }
  return out;
}

/** counterEvents() - one sample per frame and instant (the last change at that instant wins). */
function counterEvents(samples: readonly CounterSample[], tidOf: (actor: string) => number): ChromeEvent[] {
  const out: ChromeEvent[] = [];
  const pins = new Map<number, number>();
  const lastCounter = new Map<number, ChromeEvent>();
  for (const c of samples) {
    const pincount = c.pincount ?? pins.get(c.pfn) ?? 0;
    pins.set(c.pfn, pincount);
    const prev = lastCounter.get(c.pfn);
    if (prev && prev.ts === us(c.ev.time)) {
      prev.args = { refcount: c.refcount, pincount };
      continue;
    }
    if (prev && prev.args?.['refcount'] === c.refcount && prev.args['pincount'] === pincount) continue;
    const e: ChromeEvent = {
      name: c.nr ? `pfn ${hex(c.pfn)} (${formatSize(c.nr * PAGE_BYTES)} folio)` : `pfn ${hex(c.pfn)}`, ph: 'C', cat: 'frame', pid: PID, tid: tidOf(c.ev.actor), ts: us(c.ev.time), args: { refcount: c.refcount, pincount },
    };
    lastCounter.set(c.pfn, e);
    out.push(e);
  }
  return out;
}

/** Each violation as a global instant carrying its message and story. */
function violationEvents(r: RunResult, tidOf: (actor: string) => number): ChromeEvent[] {
  return r.violations.map((v) => {
    const args: Args = { message: v.message, story: tellChain(v, r.policy) };
    if (v.pfn >= 0) args['pfn'] = hex(v.pfn);
    if (v.file !== undefined) args['file'] = v.file;
    if (v.index !== undefined) args['index'] = v.index;
    return { name: v.kind, ph: 'i', s: 'g', cat: 'violation', pid: PID, tid: tidOf(v.actor), ts: us(v.time), args };
  });
}

/**
 * toChromeTrace() - @events (every trace event of the run, in order) and @r as a Chrome / Perfetto
 * trace. Deterministic: the same run gives the same document.
 */
export function toChromeTrace(events: readonly MmTraceEvent[], r: RunResult): ChromeTrace {
  const lastTime = events.length ? (events[events.length - 1] as MmTraceEvent).time : r.stats.simTimeNs;
  const who = actorsOf(events, r);
  const c = new SliceCollector(involvedPfns(r));
  for (const ev of events) c.on(ev);
  c.finish(lastTime);
  const tracks = assignTracks(who, c.slices);
  const tidOf = (actor: string, lane = 0): number => tracks.get(actor)?.tids[lane] ?? 0;

  const out: ChromeEvent[] = [];
  out.push({ name: 'process_name', ph: 'M', pid: PID, tid: 0, args: { name: `pinsim ${r.scenario} (${r.policy}, seed ${r.seed})` } });
  for (const t of tracks.values()) {
    t.tids.forEach((tid, lane) => {
      out.push({ name: 'thread_name', ph: 'M', pid: PID, tid, args: { name: lane === 0 ? t.name : `${t.name} (${lane + 1})` } });
      out.push({ name: 'thread_sort_index', ph: 'M', pid: PID, tid, args: { sort_index: t.order * 64 + lane } });
    });
  }

  const timed: ChromeEvent[] = c.slices.map((s) => ({
    name: s.name, ph: 'X', cat: s.cat, pid: PID, tid: tidOf(s.actor, s.lane), ts: us(s.start), dur: us(s.end - s.start), args: s.args,
  }));
  timed.push(...flowEvents(c.flows, tidOf), ...counterEvents(c.counters, tidOf));
  for (const i of c.instants) {
    i.tid = tidOf(String(i.args?.['actor'] ?? ''));
    timed.push(i);
  }
  timed.push(...violationEvents(r, tidOf));
  // Time order; at equal times enclosing slices first, then their contents, flows and instants.
  const rank = (e: ChromeEvent) => (e.ph === 'X' ? 0 : e.ph === 'C' ? 1 : e.ph === 's' || e.ph === 'f' ? 2 : 3);
  const indexed = timed.map((e, i) => ({ e, i }));
  indexed.sort((a, b) => (a.e.ts as number) - (b.e.ts as number) || rank(a.e) - rank(b.e) || (b.e.dur ?? 0) - (a.e.dur ?? 0) || a.i - b.i);
  for (const { e } of indexed) out.push(e);

  return {
    traceEvents: out,
    displayTimeUnit: 'ns',
    metadata: { scenario: r.scenario, policy: r.policy, seed: r.seed, traceHash: r.traceHash },
  };
}

/**
 * formatChromeTrace() - @t as JSON text, one trace event per line (a large trace stays greppable
 * and diffable), ending in a newline.
 */
export function formatChromeTrace(t: ChromeTrace): string {
  const evs = t.traceEvents.map((e) => JSON.stringify(e)).join(',\n');
  return `{"traceEvents":[\n${evs}\n],\n"displayTimeUnit":${JSON.stringify(t.displayTimeUnit)},\n"metadata":${JSON.stringify(t.metadata)}}\n`;
}
