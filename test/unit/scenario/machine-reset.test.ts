/**
 * The modelled machine's resets, field by field: a Machine that ran executions of a scenario (ending
 * however they end: finished, blocked, crashed by a kernel BUG, cut by kernel.until) and then built
 * its next execution (everything reset in place, the scenario's setup replayed) holds what a new
 * Machine's first execution holds, in every field reachable from the world: the Kernel with
 * everything it owns (frame table, allocator, pin and lease books, zones, hugetlb pool, inodes and
 * their page caches, processes and their page tables), the Scheduler, the RunState and each device
 * instance with its context. A field added to any of them and left out of its reset() differs
 * here; the planted omissions at the end show that it does.
 *
 * What a reset keeps on purpose is not state and is not compared: room (a typed column's rows past
 * the new one's length, which must all hold the default; `capacity`) and the spare objects kept for
 * reuse (fields named `spare…`).
 */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { Prng } from '../../../src/engine/prng.js';
import type { ChoicePoint } from '../../../src/engine/scheduler.js';
import { Kernel } from '../../../src/mm/kernel.js';
import { PinRegistry } from '../../../src/mm/pin_registry.js';
import { Radix } from '../../../src/mm/radix.js';
import { validateOrThrow } from '../../../src/scenario/format/validate.js';
import type { Scenario } from '../../../src/scenario/format/types.js';
import { defaultRegistry, resolvePolicy, type Registry } from '../../../src/scenario/registry.js';
import { finalEvents } from '../../../src/scenario/run/background.js';
import { Machine, type World } from '../../../src/scenario/run/world.js';

const ROOT = new URL('../../../', import.meta.url);

/** Scenarios that leave every part of the machine used: devices of each model, hugetlb, THP, DAX, leases, fork, OOM, background threads. */
const FILES = [
  'examples/explore/gpu-fault-vs-munmap-skip-read-retry.json',
  'examples/explore/odp-fault-vs-truncate.json',
  'examples/gup-nic-truncate.json',
  'examples/truncate-sigbus.json',
  'examples/odp-nic-umr-failure-fatal.json',
  'examples/thread-2018/08-writeback-put-user-page.json', // a kernel BUG: crashed mid-path
  'examples/thread-2018/03-dax-layout-lease.json',
  'examples/thread-2018/09-rdma-fork.json',
  'examples/thread-2018/14-iommu-backstop-pcie-hang.json',
  'test/regress/until-cuts-odp-invalidation.json',
  'test/regress/kcompactd-faster-than-odp-fault.json',
  'examples/oom-kill-odp-refuses.json',
  'examples/gpu-hmm-fork-device-private.json',
  'examples/gpu-hmm-migrate.json',
  'examples/hugetlb/gup-nic-hugetlbfs-truncate.json',
  'examples/hugetlb/odp-nic-hugetlb-dontneed.json',
  'examples/thp/thp-pinned-fork.json',
  'examples/thp/tmpfs-large-folio-truncate.json',
  'test/conformance/khugepaged/KHP-01-collapse_fork-khugepaged.json',
  'examples/madv-free-gup-reclaim.json',
  'examples/longterm-pin-movable.json',
];
const EXECUTIONS = 4;
/** One of each device model (one behind an IOMMU), hugetlb, THP and a fork: dirtied everywhere before the reset. */
const DIRTIED = [
  'examples/explore/odp-fault-vs-truncate.json',
  'examples/gpu-hmm-migrate.json',
  'examples/thread-2018/13-iommu-backstop.json',
  'examples/thread-2018/03-dax-layout-lease.json',
  'examples/hugetlb/odp-nic-hugetlb-dontneed.json',
  'examples/thp/thp-pinned-fork.json',
];

function load(f: string, registry: Registry): Scenario {
  return validateOrThrow(JSON.parse(readFileSync(new URL(f, ROOT), 'utf8')), registry);
}

/** A machine for @s under its policy, choosing at random at every choice point (with timing jitter when @jitter). */
function machine(s: Scenario, registry: Registry, jitter: number, prng: { p: Prng }): Machine {
  const policyName = s.kernel.policy ?? 'linux-6.12';
  return new Machine(s, {
    registry, policyName, policy: resolvePolicy(policyName, registry), seed: 3, window: 1000, jitter,
    chooser: (p: ChoicePoint) => prng.p.nextInt(p.candidates.length),
  });
}

/** Run @w to its end, as a run does (its outcome is the reuse comparison's business, not this test's). */
function execute(w: World): void {
  try {
    w.sched.run();
    finalEvents(w.k);
  } catch {
    // A kernel BUG or a pinsim error ends the execution where it stands: the next build resets from there.
  }
  for (const c of w.checkers) c.finish();
}

/** What the comparison walks: the modelled machine of a world, each device instance on its own. */
function modelOf(w: World): Record<string, unknown> {
  return { k: w.k, sched: w.sched, st: w.st, devices: [...w.st.devices.values()].map((d) => d.inst) };
}

/**
 * The paths at which @a and @b differ (at most 20), walking both object graphs together: the same
 * class, the same own fields, Maps and Sets in the same order, aliasing alike (an object met twice
 * in one graph is met at the same places in the other), functions by their source. A typed array
 * is compared row by row up to the shorter's length; the longer's other rows must all hold one
 * value, 0 or the shorter's last row (the room a reset keeps).
 */
function differences(a: unknown, b: unknown): string[] {
  const out: string[] = [];
  const pairs = new Map<object, object>();
  const walk = (x: unknown, y: unknown, path: string): void => {
    if (out.length >= 20) return;
    if (x === y || (Number.isNaN(x) && Number.isNaN(y))) return;
    if (typeof x !== typeof y || x === null || y === null || typeof x !== 'object' && typeof x !== 'function') {
      out.push(`${path}: ${String(x)} vs ${String(y)}`);
      return;
    }
    if (typeof x === 'function') {
      if (String(x) !== String(y)) out.push(`${path}: different functions`);
      return;
    }
    const ox = x as object, oy = y as object;
    const seen = pairs.get(ox);
    if (seen) {
      if (seen !== oy) out.push(`${path}: aliased differently`);
      return;
    }
    pairs.set(ox, oy);
    if (ox.constructor !== oy.constructor) {
      out.push(`${path}: ${ox.constructor?.name} vs ${oy.constructor?.name}`);
      return;
    }
    if (ArrayBuffer.isView(ox)) return rows(ox as unknown as ArrayLike<number>, oy as unknown as ArrayLike<number>, path);
    if (ox instanceof Map || ox instanceof Set) {
      const ex = [...(ox as Map<unknown, unknown>).entries()], ey = [...(oy as Map<unknown, unknown>).entries()];
      if (ex.length !== ey.length) out.push(`${path}: size ${ex.length} vs ${ey.length}`);
      else ex.forEach(([k, v], i) => {
        const [k2, v2] = ey[i] as [unknown, unknown];
        walk(k, k2, `${path}{key ${i}}`);
        walk(v, v2, `${path}{${typeof k === 'object' ? i : String(k)}}`);
      });
      return;
    }
    const keys = (o: object) => Object.getOwnPropertyNames(o).filter((n) => !n.startsWith('spare') && n !== 'capacity');
    const kx = keys(ox), ky = keys(oy);
    if (kx.join() !== ky.join()) {
      out.push(`${path}: fields ${kx.join()} vs ${ky.join()}`);
      return;
    }
    for (const n of kx) walk((ox as Record<string, unknown>)[n], (oy as Record<string, unknown>)[n], `${path}.${n}`);
  };
  const rows = (x: ArrayLike<number>, y: ArrayLike<number>, path: string): void => {
    const n = Math.min(x.length, y.length);
    for (let i = 0; i < n; i++) {
      if (x[i] !== y[i]) {
        out.push(`${path}[${i}]: ${x[i]} vs ${y[i]}`);
        return;
      }
    }
    const [long, short] = x.length > y.length ? [x, y] : [y, x];
    const fill = long[n];
    if (fill === undefined) return;
    if (fill !== 0 && fill !== short[n - 1]) out.push(`${path}[${n}]: room holds ${fill}`);
    for (let i = n; i < long.length; i++) {
      if (long[i] !== fill) {
        out.push(`${path}[${i}]: room holds ${long[i]}, not ${fill}`);
        return;
      }
    }
  };
  walk(a, b, 'world');
  return out;
}

/** Fields that are configuration, not state: what the machine was made with, never dirtied (their insides neither). */
const CONFIG = new Set(['bus', 'opts', 'scenario', 'model', 'params', 'p', 'features', 'policy', 'timing', 'tunables', 'hugepagesAsked', 'choices', 'frameWritten']);
/** Fields of configuration that hold a plain value (or, for `devices`, the slots made once), never dirtied themselves. */
const FIXED = new Set([
  'devices', 'name', 'key', 'id', 'owner', 'fs', 'dax', 'huge_order', 'limit', 'limitPages', 'capacity', 'window', 'until',
  'hasChooser', 'jitterMax', 'collect', 'thp', 'dmaLatency', 'device', 'iommu',
]);

/**
 * dirty() - change every piece of state reachable from @root, whether or not an execution would:
 * each number, boolean and string field (but configuration) changed, each empty one (null,
 * undefined) filled, and each Map, Set and array given an entry no execution makes. Typed columns are left to the executions (a reset refills them only
 * up to their high-water mark, by design). A reset that forgets any of it leaves it for the next
 * execution, which the comparison then sees.
 */
function dirty(root: unknown): void {
  const seen = new Set<object>();
  const visit = (x: unknown, fixed: boolean): void => {
    if (x === null || typeof x !== 'object' || seen.has(x) || ArrayBuffer.isView(x)) return;
    seen.add(x);
    if (x instanceof Map) {
      const vals = [...x.values()];
      if (!fixed) x.set(typeof x.keys().next().value === 'string' ? '\u0000dirt' : -987_654, { dirt: true });
      for (const v of vals) visit(v, false);
      return;
    }
    if (x instanceof Set) {
      const vals = [...x];
      if (!fixed) x.add(typeof vals[0] === 'string' ? '\u0000dirt' : -987_654);
      for (const v of vals) visit(v, false);
      return;
    }
    if (Array.isArray(x)) {
      const vals = [...x];
      if (!fixed) x.push({ dirt: true });
      for (const v of vals) visit(v, false);
      return;
    }
    const o = x as Record<string, unknown>;
    for (const n of Object.getOwnPropertyNames(o)) {
      if (CONFIG.has(n) || n.startsWith('spare')) continue;
      const v = o[n];
      const keep = FIXED.has(n);
      if (!keep && typeof v === 'number') o[n] = v + 7;
      else if (!keep && typeof v === 'boolean') o[n] = !v;
      else if (!keep && typeof v === 'string') o[n] = `${v}~`;
      else if (!keep && (v === null || v === undefined)) o[n] = { dirt: true };
      else visit(v, keep);
    }
  };
  visit(root, false);
}

/**
 * For each scenario: what differs between a reused machine's next world and a new machine's first
 * (with @dirtied, after every piece of the used machine's state was changed).
 */
function compareAll(files: readonly string[], registry: Registry, dirtied = false): string[] {
  const diffs: string[] = [];
  files.forEach((f, n) => {
    const s = load(f, registry);
    const jitter = n % 3 === 0 ? 500 : 0;
    const prng = { p: new Prng(11, f) };
    const reused = machine(s, registry, jitter, prng);
    let w: World | null = null;
    for (let i = 0; i < EXECUTIONS; i++) execute((w = reused.build()));
    if (dirtied && w) dirty(modelOf(w));
    const next = reused.build();
    const first = machine(s, registry, jitter, prng).build();
    for (const d of differences(modelOf(next), modelOf(first))) diffs.push(`${f}: ${d}`);
  });
  return diffs;
}

describe('a reset machine equals a new one, field by field', () => {
  const registry = defaultRegistry();
  it('after executions of scenarios that use every part of it', () => {
    expect(compareAll(FILES, registry)).toEqual([]);
  });
  it('after every piece of state was changed, whether or not an execution would', () => {
    expect(compareAll(DIRTIED, registry, true)).toEqual([]);
  });
  it('the comparison sees a used machine', () => {
    // The same walk, before the reset: the machine of an execution that ran differs from a new one.
    const s = load('examples/explore/odp-fault-vs-truncate.json', registry);
    const prng = { p: new Prng(11, 'used') };
    const w = machine(s, registry, 0, prng).build();
    execute(w);
    const fresh = modelOf(machine(s, registry, 0, prng).build());
    const used = modelOf(w);
    for (const part of ['k', 'sched', 'st', 'devices']) expect(differences(used[part], fresh[part]), part).not.toEqual([]);
  });
});

describe('the field-by-field comparison catches a reset that forgets', () => {
  const registry = defaultRegistry();
  const restore: (() => void)[] = [];
  afterEach(() => {
    for (const r of restore.splice(0)) r();
  });
  /** Run @after on every instance of @proto after its own reset(), until the test ends. */
  const plant = <T extends { reset(...a: never[]): void }>(proto: T, after: (self: T) => void): void => {
    const orig = proto.reset;
    proto.reset = function (this: T, ...a: never[]) {
      orig.apply(this, a);
      after(this);
    } as T['reset'];
    restore.push(() => {
      proto.reset = orig;
    });
  };
  const few = ['examples/explore/odp-fault-vs-truncate.json', 'examples/gup-nic-truncate.json', 'examples/thread-2018/09-rdma-fork.json'];

  it('a counter of the Kernel left as it was', () => {
    plant(Kernel.prototype, (k) => {
      k.nextRangeId = 9;
    });
    expect(compareAll(few, registry).some((d) => d.includes('world.k.nextRangeId'))).toBe(true);
  });
  it('a book the Kernel owns left full', () => {
    const live: unknown[] = [];
    plant(PinRegistry.prototype, (r) => {
      r.live.set(1, live as never);
    });
    expect(compareAll(few, registry).some((d) => d.includes('world.k.pins.live'))).toBe(true);
  });
  it('a page table left with its entries', () => {
    plant(Radix.prototype, (r) => {
      r.count = 1;
    });
    expect(compareAll(few, registry).some((d) => /pgtable|i_pages/.test(d))).toBe(true);
  });
});
