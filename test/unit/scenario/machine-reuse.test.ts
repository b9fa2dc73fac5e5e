/**
 * A machine reused by the next execution gives what a new machine gives for the same choices: the
 * same trace hash, violations, results, observed values, op timings, notes and stats. Executions
 * on one ScenarioRunner (the explorer's path) are replayed one by one on a new machine
 * (runValidated) and compared, after executions that ended in violations, an errno, a kernel.until
 * cut, a device-fatal error and a kernel BUG. A reset() that forgets a field of a checker, of the
 * shared books or of the trace bus shows here as a difference; the planted faults at the end show
 * that it does.
 */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { Prng } from '../../../src/engine/prng.js';
import { TraceBus } from '../../../src/engine/trace.js';
import { ChainHistory, FrameBooks, Interner, SlotTable, VaTable, i32Column } from '../../../src/invariants/books.js';
import { createCheckers, type Checker, type CheckerCtx, type CheckerSet } from '../../../src/invariants/checker.js';
import type { MmTraceEvent } from '../../../src/mm/trace_events.js';
import { validateOrThrow } from '../../../src/scenario/format/validate.js';
import type { Scenario } from '../../../src/scenario/format/types.js';
import { BUILTIN, createRegistry, defaultRegistry, type Registry } from '../../../src/scenario/registry.js';
import type { RunResult } from '../../../src/scenario/run/result.js';
import { ScenarioRunner, runValidated } from '../../../src/scenario/run/run.js';
import { Scheduler, type ChoicePoint } from '../../../src/engine/scheduler.js';
import { MemMap } from '../../../src/mm/mem_map.js';
import type { DeviceInstance, DeviceModel } from '../../../src/devices/device.js';

const ROOT = new URL('../../../', import.meta.url);

/** Every explore example, and examples chosen for how their executions end. */
const FILES = [
  'examples/explore/gpu-fault-vs-munmap-skip-read-retry.json',
  'examples/explore/gpu-fault-vs-munmap.json',
  'examples/explore/odp-fault-vs-truncate.json',
  'examples/gup-nic-truncate.json', // lost-write
  'examples/truncate-sigbus.json', // SIGBUS, EINTR
  'examples/odp-nic-umr-failure-fatal.json', // device-error, kernel-warn
  'examples/thread-2018/08-writeback-put-user-page.json', // a kernel BUG: crashed
  'test/regress/until-cuts-odp-invalidation.json', // kernel.until cuts an invalidation
  'test/regress/kcompactd-cut-by-until.json',
  'examples/oom-kill-odp-refuses.json',
  'examples/gpu-hmm-fork-device-private.json',
  'examples/thread-2018/09-rdma-fork.json',
];
/**
 * And scenarios for every other part of the machine a reset must restore: hugetlb pools and
 * hugetlbfs, THP and large page-cache folios, khugepaged, kswapd and kcompactd, DAX and leases,
 * IOMMU domains, device-private pages, ZONE_MOVABLE, COW, an OOM kill, timing jitter (below).
 */
const MORE_FILES = [
  'examples/hugetlb/gup-nic-hugetlbfs-truncate.json',
  'examples/hugetlb/longterm-pin-hugetlb-movable.json',
  'examples/hugetlb/odp-nic-hugetlb-dontneed.json',
  'examples/thp/thp-pinned-fork.json',
  'examples/thp/tmpfs-large-folio-truncate.json',
  'examples/thp/madv-collapse-pinned.json',
  'test/conformance/khugepaged/KHP-01-collapse_fork-khugepaged.json',
  'examples/madv-free-gup-reclaim.json',
  'test/regress/kcompactd-faster-than-odp-fault.json',
  'examples/dax-truncate-waits-for-gup.json',
  'examples/thread-2018/03-dax-layout-lease.json',
  'examples/thread-2018/14-iommu-backstop-pcie-hang.json',
  'examples/gpu-hmm-migrate.json',
  'examples/longterm-pin-movable.json',
  'examples/cow/vmsplice-cve-2020-29374.json',
  'examples/oom-kill-gpu-nonblock-slept.json',
];
const POLICIES = (s: Scenario): string[] => [...new Set([s.kernel.policy ?? 'linux-6.12', 'linux-4.20'])];
const EXECUTIONS = 12;

function load(f: string, registry: Registry): Scenario {
  return validateOrThrow(JSON.parse(readFileSync(new URL(f, ROOT), 'utf8')), registry);
}

/** What a run is judged by, and everything it reports. */
function observable(r: RunResult) {
  return {
    outcome: r.outcome, traceHash: r.traceHash, violations: r.violations, results: r.results, observed: r.observed,
    ops: r.ops, notes: r.notes, stats: r.stats, choices: r.choices, error: r.error, expectations: r.expectations,
  };
}

interface Seen {
  violations: boolean;
  errno: boolean;
  until: boolean;
  deviceError: boolean;
  crashed: boolean;
}

/**
 * Run @s @EXECUTIONS times on one runner with random choices at every choice point, and each of
 * them again on a new machine. Return: the executions that differ, and what the executions showed.
 */
function compare(s: Scenario, policy: string, registry: Registry, seen?: Seen, jitter = 0): string[] {
  let prng = new Prng(7, 'reuse:0');
  const chooser = (p: ChoicePoint): number => prng.nextInt(p.candidates.length);
  const runner = new ScenarioRunner(s, { policy, window: 1000, jitter, chooser, registry });
  const diffs: string[] = [];
  for (let i = 0; i < EXECUTIONS; i++) {
    prng = new Prng(7, `reuse:${i}`);
    const reused = runner.run();
    const fresh = runValidated(s, { policy, window: 1000, jitter, choices: reused.choices, registry });
    try {
      expect(observable(reused)).toEqual(observable(fresh));
    } catch {
      diffs.push(`${s.name} under ${policy}, execution ${i}`);
    }
    if (!seen) continue;
    const results = Object.values(reused.results);
    seen.violations ||= reused.violations.length > 0;
    seen.errno ||= results.some((v) => /^E[A-Z]+$/.test(v) || v.startsWith('SIG'));
    seen.until ||= (reused.notes ?? []).some((n) => n.startsWith('kernel.until'));
    seen.deviceError ||= results.includes('device-error');
    seen.crashed ||= results.includes('crashed');
  }
  return diffs;
}

describe('a reused machine gives what a new one gives', () => {
  const registry = defaultRegistry();
  const seen: Seen = { violations: false, errno: false, until: false, deviceError: false, crashed: false };
  for (const f of [...FILES, ...MORE_FILES]) {
    it(f, () => {
      const s = load(f, registry);
      for (const policy of POLICIES(s)) expect(compare(s, policy, registry, seen)).toEqual([]);
    });
  }
  it('after executions that ended in violations, an errno or signal, a kernel.until cut, a device error and a kernel BUG', () => {
    expect(seen).toEqual({ violations: true, errno: true, until: true, deviceError: true, crashed: true });
  });

  it('with step hashes: one for every event of its own execution, none of the next', () => {
    const s = load('examples/explore/odp-fault-vs-truncate.json', registry);
    const runner = new ScenarioRunner(s, { policy: 'linux-6.12', registry });
    const steps: string[] = [];
    const r = runner.run({ stepHashes: steps });
    expect(steps.length).toBe(r.stats.events);
    expect(steps.at(-1)).toBe(r.traceHash);
    runner.run();
    expect(steps.length).toBe(r.stats.events);
  });

  it('with timing jitter (its stream starts again with every execution)', () => {
    for (const f of ['examples/explore/odp-fault-vs-truncate.json', 'examples/gup-nic-truncate.json', 'examples/gpu-hmm-migrate.json']) {
      const s = load(f, registry);
      expect(compare(s, 'linux-6.12', registry, undefined, 2000)).toEqual([]);
    }
  });

  it('with device models whose instances cannot reset (created anew on the reset kernel)', () => {
    const plain: DeviceModel[] = BUILTIN.devices.map((d) => ({
      ...d,
      create(ctx) {
        const inst = d.create(ctx);
        // The instance's methods and books, without its reset() (a plugin's).
        return Object.assign(Object.create(inst) as DeviceInstance, { reset: undefined });
      },
    }));
    const reg = createRegistry({ ...BUILTIN, devices: plain });
    for (const f of ['examples/explore/gpu-fault-vs-munmap.json', 'examples/gpu-hmm-migrate.json', 'examples/gup-nic-truncate.json', 'examples/explore/odp-fault-vs-truncate.json']) {
      expect(compare(load(f, reg), 'linux-6.12', reg)).toEqual([]);
    }
  });

  it('with a checker that cannot reset (made anew for every execution)', () => {
    const plain: Checker[] = [...BUILTIN.invariants].map((c) => ({
      kind: c.kind, description: c.description,
      create(ctx) {
        const { on, finish } = c.create(ctx);
        return { on, finish };
      },
    }));
    const reg = createRegistry({ ...BUILTIN, invariants: plain });
    expect(compare(load('examples/gup-nic-truncate.json', reg), 'linux-4.20', reg)).toEqual([]);
  });
});

describe('the comparison catches a reset that forgets', () => {
  const restore: (() => void)[] = [];
  afterEach(() => {
    for (const r of restore.splice(0)) r();
  });
  /** Make @proto's reset() do nothing until the test ends. */
  const forget = (proto: { reset(...a: never[]): void }): void => {
    const orig = proto.reset;
    proto.reset = () => {};
    restore.push(() => {
      proto.reset = orig;
    });
  };

  it('the frame table', () => {
    forget(MemMap.prototype);
    const reg = defaultRegistry();
    expect(compare(load('examples/explore/odp-fault-vs-truncate.json', reg), 'linux-6.12', reg)).not.toEqual([]);
  });
  it("the scheduler's clock and queue", () => {
    forget(Scheduler.prototype);
    const reg = defaultRegistry();
    expect(compare(load('examples/explore/odp-fault-vs-truncate.json', reg), 'linux-6.12', reg)).not.toEqual([]);
  });

  it("the trace bus's hash", () => {
    forget(TraceBus.prototype);
    const reg = defaultRegistry();
    expect(compare(load('examples/explore/odp-fault-vs-truncate.json', reg), 'linux-6.12', reg)).not.toEqual([]);
  });
});

/**
 * Each checker's reset(), on the event streams of different scenarios: a checker set that judged
 * one run and was reset judges the next as a new set does. Streams of different scenarios touch
 * different frames, files and address spaces, so what a reset forgot is read by the next stream.
 */
describe('a reset checker judges the next run as a new one', () => {
  const registry = defaultRegistry();
  const traces: MmTraceEvent[][] = [];
  for (const f of FILES) {
    const s = load(f, registry);
    for (const policy of POLICIES(s)) {
      const evs: MmTraceEvent[] = [];
      runValidated(s, { policy, trace: (ev) => evs.push(ev), registry });
      traces.push(evs);
    }
  }
  const checkers = [...BUILTIN.invariants];

  /** The reports (and notes) of @set on @evs, then finished. */
  function judge(set: CheckerSet, out: string[], evs: readonly MmTraceEvent[]): string[] {
    out.length = 0;
    const subs = new Map<string, ((ev: MmTraceEvent) => void)[]>();
    for (const [t, fn] of set.subscriptions) subs.set(t, [...(subs.get(t) ?? []), fn]);
    evs.forEach((ev, i) => {
      position = i + 1;
      for (const fn of subs.get(ev.type) ?? []) fn(ev);
    });
    for (const c of set.instances) c.finish();
    return [...out];
  }
  let position = 0;
  const make = (list: Checker[], out: string[]): CheckerSet => createCheckers(list, {
    policy: 'linux-6.12', position: () => position, cutByUntil: () => false,
    report: (v) => out.push(JSON.stringify(v)), note: (t) => out.push(`note: ${t}`),
  });
  /** The pairs of streams whose second judgement differs between a reset set and a new one. */
  function differing(list: Checker[]): number {
    const out: string[] = [];
    const reused = make(list, out);
    let n = 0;
    // What a run leaves: whole runs, and runs cut short (as a pruned execution or kernel.until cuts).
    const before = traces.flatMap((t) => [t, t.slice(0, t.length >> 1), t.slice(0, (3 * t.length) >> 2)]);
    for (let i = 0; i < before.length; i++) {
      for (let j = 0; j < traces.length; j++) {
        reused.reset();
        judge(reused, out, before[i] as MmTraceEvent[]);
        reused.reset();
        const again = judge(reused, out, traces[j] as MmTraceEvent[]);
        const fresh = judge(make(list, out), out, traces[j] as MmTraceEvent[]);
        if (JSON.stringify(again) !== JSON.stringify(fresh)) n++;
      }
    }
    return n;
  }

  it('every built-in checker can reset', () => {
    expect(make(checkers, []).resettable).toBe(true);
  });
  it('the streams show violations', () => {
    const out: string[] = [];
    const set = make(checkers, out);
    const kinds = new Set(traces.flatMap((t) => { set.reset(); return judge(set, out, t).map((r) => (JSON.parse(r) as { kind: string }).kind); }));
    expect(kinds.size).toBeGreaterThanOrEqual(4);
  });
  it('every pair of streams, all checkers together', () => {
    expect(differing(checkers)).toBe(0);
  });
  // Leave a checker's reset() out, and some pair must differ: the checkers whose leftovers a later
  // run reads. The others write a frame's or an op's books at its allocation or start, before any
  // read, so what a forgotten reset leaves is not read by a valid stream (their reset() still frees
  // it); their books are compared field by field below where they are classes.
  for (const kind of ['notifier-unpaired', 'install-during-invalidation', 'notifier-teardown-incomplete', 'pinned-page-moved', 'access-after-release']) {
    it(`a reset of ${kind} that forgets shows`, () => {
      const planted = checkers.map((c) => c.kind !== kind ? c : {
        kind: c.kind, description: c.description,
        create(ctx: CheckerCtx) {
          return { ...c.create(ctx), reset() {} };
        },
      });
      expect(differing(planted)).toBeGreaterThan(0);
    });
  }
});

/**
 * The books' resets, field by field: a used and reset structure equals a new one (a column's rows
 * compared up to its last non-fill value, since a reset column keeps its room). A field added to a
 * books class and left out of its reset() fails here.
 */
describe('a reset book equals a new one', () => {
  /** A typed array as its rows up to the last that differs from @fill. */
  const rows = (x: ArrayLike<number>, fill: number) => {
    const a = Array.from(x);
    while (a.length && a[a.length - 1] === fill) a.pop();
    return { typed: true, rows: a };
  };
  /** @x with every typed array as its rows() (a column's up to its fill value, others up to zeros). */
  const trimmed = (x: unknown, seen = new Map<unknown, unknown>()): unknown => {
    if (typeof x === 'function') return 'function';
    if (x === null || typeof x !== 'object') return x;
    if (seen.has(x)) return seen.get(x);
    if (ArrayBuffer.isView(x) && !(x instanceof DataView)) return rows(x as unknown as ArrayLike<number>, 0);
    if (x instanceof Map) return new Map([...x].map(([k, v]) => [k, trimmed(v, seen)]));
    if (Array.isArray(x)) return x.map((v) => trimmed(v, seen));
    const out: Record<string, unknown> = {};
    seen.set(x, out);
    const o = x as Record<string, unknown>;
    for (const k of Object.getOwnPropertyNames(x)) {
      if (k === 'spare') continue; // VaTable's spare leaves are not part of its state
      const v = o[k];
      out[k] = k === 'a' && typeof o['fill'] === 'number' && ArrayBuffer.isView(v) ? rows(v as unknown as ArrayLike<number>, o['fill']) : trimmed(v, seen);
    }
    return out;
  };
  const alloc = (pfn: number, gen: number) => ({ type: 'folio_alloc' as const, time: 1, actor: 'a', pfn, gen, owner: 'anon', file: '', index: -1 });

  it('FrameBooks and ChainHistory', () => {
    const frames = new FrameBooks();
    const history = new ChainHistory(frames);
    for (const h of [frames, history]) expect(typeof h.reset).toBe('function');
    frames.onAlloc(alloc(70, 3));
    history.on(alloc(70, 3));
    frames.onFree({ type: 'folio_free', time: 2, actor: 'a', pfns: Int32Array.of(70, 5) });
    history.on({ type: 'folio_free', time: 2, actor: 'a', pfns: Int32Array.of(70, 5) });
    history.on({ type: 'dma_ref_get', time: 3, actor: 'a', pfn: 5 } as never);
    const f0 = new FrameBooks();
    // The comparison sees what was used and not reset.
    expect(trimmed(frames)).not.toEqual(trimmed(f0));
    expect(trimmed(history)).not.toEqual(trimmed(new ChainHistory(f0)));
    frames.reset();
    history.reset();
    expect(trimmed(frames)).toEqual(trimmed(f0));
    expect(trimmed(history)).toEqual(trimmed(new ChainHistory(f0)));
  });

  it('VaTable, SlotTable, Interner and a column', () => {
    const t = new VaTable(-1);
    t.set(3, 9, 1, 2.5, 4, 1);
    t.set(600, 10, 1, -1, 4, 1);
    expect(trimmed(t)).not.toEqual(trimmed(new VaTable(-1)));
    t.reset();
    expect(trimmed(t)).toEqual(trimmed(new VaTable(-1)));
    // A reused leaf reads as new.
    t.set(700, 11, 0, -1, 0, 0);
    expect(t.get(600)).toBeNull();
    expect(t.get(700)).toEqual({ pfn: 11, a: 0, b: -1, c: 0, flags: 0 });
    const slots = new SlotTable<string>();
    slots.hold(slots.add('x'));
    slots.reset();
    expect(trimmed(slots)).toEqual(trimmed(new SlotTable<string>()));
    const names = new Interner();
    names.id('mm0');
    names.reset();
    expect(trimmed(names)).toEqual(trimmed(new Interner()));
    const col = i32Column(-1);
    col.set(100, 5);
    col.reset();
    expect(col.get(100)).toBe(-1);
    expect(trimmed(col)).toEqual(trimmed(i32Column(-1)));
  });
});
