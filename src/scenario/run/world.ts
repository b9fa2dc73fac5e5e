/**
 * The simulated machine of a scenario's runs: the scheduler, the trace bus, a Kernel constructed
 * from a complete configuration (policy and era features, memory and ZONE_MOVABLE, tunables,
 * fatal_signal_pending), the checkers, files, processes, devices, background threads and the
 * scenario's actors. Built by the first execution, reset in place for the next ones (nothing is
 * assigned into the kernel after construction: it resets itself).
 */
import { Hasher } from '../../engine/hash.js';
import { Prng } from '../../engine/prng.js';
import { Scheduler, type ChoicePoint, type SchedulerOptions } from '../../engine/scheduler.js';
import { TraceBus } from '../../engine/trace.js';
import { resolveDeviceParams, type DeviceCtx, type DeviceModel, type DeviceParams } from '../../devices/device.js';
import { createCheckers, type CheckerInstance, type CheckerSet } from '../../invariants/checker.js';
import { FingerprintBooks, kernel_fingerprint } from '../../mm/fingerprint.js';
import { IommuDomain } from '../../mm/iommu.js';
import { mapping_set_folio_order } from '../../mm/filemap.js';
import { huge_page_order_of } from '../../mm/hugetlb.js';
import { PAGE_SIZE } from '../../mm/types.js';
import { Kernel } from '../../mm/kernel.js';
import { PINSIM_BUG } from '../../mm/mmdebug.js';
import { DEFAULT_TIMING } from '../../mm/timing.js';
import type { MmTraceEvent } from '../../mm/trace_events.js';
import type { Op } from '../ops/table.js';
import type { Registry, ResolvedPolicy } from '../registry.js';
import type { Scenario } from '../format/types.js';
import { HUGE_PAGE_SIZES } from '../format/sections.js';
import { runActor } from './actor.js';
import { spawnBackground } from './background.js';
import type { RunResult, Violation } from './result.js';
import { RunState, type DeviceSlot } from './state.js';

export const DEFAULT_MEMORY = 4 * 1024 ** 3;
export const DEFAULT_LIVENESS = 1_000_000_000;

/** What a run is built from besides the scenario. */
export interface WorldOptions {
  readonly registry: Registry;
  readonly policyName: string;
  readonly policy: ResolvedPolicy;
  readonly seed: number;
  readonly window: number;
  readonly jitter: number;
  readonly chooser?: (p: ChoicePoint) => number;
  readonly trace?: (ev: MmTraceEvent) => void;
  readonly afterStep?: (actor: string, footprint: ReadonlySet<string>) => void;
  /**
   * Offer a state fingerprint at every choice point, kept incrementally; 'checked': also computed
   * from scratch each time, and a difference is pinsim's bug (what the fingerprint tests run).
   */
  readonly stateHash?: boolean | 'checked';
}

export interface World {
  readonly k: Kernel;
  readonly sched: Scheduler;
  readonly bus: TraceBus<MmTraceEvent>;
  readonly st: RunState;
  readonly checkers: readonly CheckerInstance[];
  /** One report per (kind, pfn, actor), in the order found. */
  readonly violations: Violation[];
  /** The checkers' notes (what kernel.until cut), in the order given. */
  readonly notes: string[];
  readonly stats: RunResult['stats'];
}

/** kernel.hugepages as the kernel takes it: huge pages per order. */
function hugepagesByOrder(hp: Record<string, number>): Map<number, number> {
  return new Map(Object.entries(hp).map(([size, n]) => [huge_page_order_of(HUGE_PAGE_SIZES[size] ?? 0), n]));
}

/** The processes that exist at time 0: declared ones and those actors run in, less those a fork creates. */
function initialProcesses(s: Scenario): string[] {
  const forked = new Set<string>();
  const visit = (ops: readonly Op[]) => {
    for (const op of ops) {
      if (op.op === 'fork' && op.as) forked.add(op.as);
      if (op.op === 'setlease' && op.onBreak) visit(op.onBreak);
    }
  };
  for (const a of Object.values(s.actors)) visit(a.ops);
  return [...new Set([...Object.keys(s.processes), ...Object.values(s.actors).map((a) => a.process)])].filter((p) => !forked.has(p));
}

/** What one execution of a machine is given besides the machine's own options. */
export interface ExecutionOptions {
  /** Recorded choices to replay (when the machine has no chooser, or past its picks). */
  readonly choices?: readonly number[];
  /** Record the running trace hash after every event. */
  readonly stepHashes?: string[];
}

/** The modelled machine of a Machine, built by its first execution and reset by the next ones. */
interface Model {
  readonly sched: Scheduler;
  readonly k: Kernel;
  readonly st: RunState;
  /** Each device's slot, by name, in the scenario's order (a slot is replaced when its instance cannot reset). */
  readonly devices: Map<string, DeviceSlot>;
  /** Each device's context, in the same order (its PRNG and IOMMU domain reset with it). */
  readonly ctxs: DeviceCtx[];
}

/**
 * Machine - the simulated machine of one (scenario, policy, seed, window, jitter), made once and
 * used for any number of executions. Everything is kept and reset in place between executions:
 * the watchers (the trace bus with its listeners, the checkers and their shared books, the
 * violation and note lists, the stats) and the modelled machine (the scheduler, the Kernel with
 * its frame table, page caches, address spaces and pin books, the devices, the run's books). Each
 * execution then replays what the scenario sets up — files, processes, devices, background
 * threads and actors — whose generators are made anew (a generator cannot be rewound).
 * A checker set with an instance that cannot reset (a plugin's without reset()) is made anew, with
 * a new bus and so a new modelled machine, for every execution; a device whose instance cannot
 * reset (a plugin's without reset()) is created anew on the reset kernel.
 * See docs/engine-performance.md.
 */
export class Machine {
  readonly s: Scenario;
  readonly o: WorldOptions;
  private bus: TraceBus<MmTraceEvent> = new TraceBus<MmTraceEvent>();
  private set: CheckerSet | null = null;
  private violations: Violation[] = [];
  private notes: string[] = [];
  private readonly seen = new Set<string>();
  private readonly stats: RunResult['stats'] = { events: 0, simTimeNs: 0, faults: 0, invalidations: 0, pins: 0, choicePoints: 0 };
  /** The world of the current execution (null before the first). */
  private world: World | null = null;
  /** The modelled machine (null until the first execution, and whenever the bus is made anew). */
  private model: Model | null = null;
  /** Which process each scenario actor runs in (a thread dies at its next interruptible sleep once its process is killed). */
  private readonly actorProc: Map<string, string>;
  private readonly processes: readonly string[];
  private readonly sched0: SchedulerOptions;
  /** The timing jitter's stream, reseeded for every execution (null without jitter). */
  private readonly jitter: Prng | null;
  /** Each device's model and parameters, resolved once (a model reads its parameters, never writes them). */
  private readonly devices: readonly { name: string; model: DeviceModel; params: Readonly<DeviceParams> }[];
  private readonly paramNotes: string[] = [];
  /** The incremental state fingerprint's books (with stateHash), reset with every execution. */
  private readonly fp: FingerprintBooks | null;
  private readonly frameWritten: ((pfn: number) => void) | null;
  private readonly fatalSignalPending = (): boolean => {
    const w = this.world;
    const p = w ? this.actorProc.get(w.sched.current?.name ?? '') : undefined;
    return p !== undefined && w?.k.processes.get(p)?.alive === false;
  };

  constructor(s: Scenario, o: WorldOptions) {
    this.s = s;
    this.o = o;
    this.actorProc = new Map(Object.entries(s.actors).map(([n, a]) => [n, a.process]));
    this.processes = initialProcesses(s);
    // A deprecated knob is read as its replacement, with a note in every result.
    this.devices = Object.entries(s.devices).map(([name, d]) => {
      const model = o.registry.devices.get(d.model) ?? PINSIM_BUG(`no device model "${d.model}"`);
      return { name, model, params: resolveDeviceParams(model, d.params, name, this.paramNotes) };
    });
    this.jitter = o.jitter > 0 ? new Prng(o.seed, 'jitter') : null;
    this.sched0 = {
      window: o.window,
      ...(o.chooser ? { chooser: o.chooser } : {}),
      ...(s.kernel.until !== undefined ? { until: s.kernel.until } : {}),
      livenessBound: s.kernel.livenessBound ?? DEFAULT_LIVENESS,
      ...(o.afterStep ? { afterStep: (a: { name: string }, fp: ReadonlySet<string>) => o.afterStep!(a.name, fp) } : {}),
      ...(o.stateHash ? { fingerprint: () => this.fingerprint() } : {}),
      ...(this.jitter ? { jitter: { max: o.jitter, prng: this.jitter } } : {}),
    };
    const fp = (this.fp = o.stateHash ? new FingerprintBooks() : null);
    this.frameWritten = fp ? (pfn) => fp.markFrame(pfn) : null;
  }

  /** fingerprint() - the state fingerprint of the current execution (incremental; checked when asked). */
  fingerprint(): number {
    const w = this.world ?? PINSIM_BUG('fingerprint before the world is built');
    const v = worldFingerprint(w, this.fp);
    if (this.o.stateHash === 'checked' && v !== worldFingerprint(w, null)) {
      const stale = this.fp?.stale(w.k) ?? '';
      PINSIM_BUG(`the incremental state fingerprint differs from the one computed from scratch at choice point ${w.sched.recorded.length} (changed unseen: ${stale})`);
    }
    return v;
  }

  /** build() - the world of the next execution: every actor spawned, nothing run yet. */
  build(e: ExecutionOptions = {}): World {
    this.world = null;
    if (!this.watchers()) this.model = null;
    const { s } = this;
    const bus = this.bus;
    // Before the kernel is built or reset: anything it emitted would be a step.
    if (e.stepHashes) bus.stepHashes = e.stepHashes;
    const choices = e.choices ?? null;
    const m = this.model ? this.reset(this.model, choices) : (this.model = this.construct(choices));
    const { k, sched, st } = m;
    const notes = this.notes;
    for (const [name, f] of Object.entries(s.files)) {
      const ino = k.create_inode(name, f.fs, f.dax, f.size, f.fs === 'hugetlbfs' ? huge_page_order_of(f.pageSize ?? 0) : 0);
      // folioSize: what the filesystem and era allow, and a note when that is not what was asked.
      const note = f.folioSize ? mapping_set_folio_order(k, ino, Math.log2(f.folioSize / PAGE_SIZE)) : null;
      if (note) notes.push(note);
    }
    // A process that a fork creates comes into being at the fork.
    for (const p of this.processes) {
      const spec = s.processes[p] ?? {};
      k.create_process(p, spec.memlock ?? Infinity, spec.capIpcLock ?? false);
    }
    notes.push(...this.paramNotes);
    this.attachDevices(m);
    spawnBackground(k, s.kernel);

    for (const [name, spec] of Object.entries(s.actors)) {
      let actor: ReturnType<Scheduler['spawn']> | null = null;
      actor = sched.spawn(name, runActor(st, name, spec, () => actor!), { at: 0 });
      const l = st.procActors.get(spec.process) ?? [];
      l.push(actor);
      st.procActors.set(spec.process, l);
    }
    const checkers = (this.set as CheckerSet).instances;
    this.world = { k, sched, bus, st, checkers, violations: this.violations, stats: this.stats, notes };
    return this.world;
  }

  /**
   * The modelled machine as new, replaying @choices: a scheduler, a Kernel constructed from the
   * complete configuration, the run's books.
   */
  private construct(choices: readonly number[] | null): Model {
    const { s, o } = this;
    this.jitter?.reseed(o.seed, 'jitter');
    const sched = new Scheduler(choices ? { ...this.sched0, choices } : this.sched0);
    const k: Kernel = new Kernel({
      sched, bus: this.bus, policy: o.policy.policy, features: o.policy.features, timing: DEFAULT_TIMING,
      memory: s.kernel.memory ?? DEFAULT_MEMORY,
      ...(s.kernel.movable !== undefined ? { movable: s.kernel.movable } : {}),
      ...(s.kernel.hugepages ? { hugepages: hugepagesByOrder(s.kernel.hugepages) } : {}),
      ...(s.kernel.thp ? { thp: s.kernel.thp } : {}),
      ...(s.kernel.leaseBreakTimeout !== undefined ? { tunables: { leaseBreakTimeout: s.kernel.leaseBreakTimeout } } : {}),
      fatal_signal_pending: this.fatalSignalPending,
      ...(this.frameWritten ? { frameWritten: this.frameWritten } : {}),
    });
    const devices = new Map<string, DeviceSlot>();
    return { sched, k, st: new RunState(k, sched, s, devices), devices, ctxs: [] };
  }

  /**
   * @m reset in place for the next execution, replaying @choices. The watchers are reset already
   * (the kernel's boot is traced on the bus), and the scheduler before the kernel (the boot is at
   * time 0).
   */
  private reset(m: Model, choices: readonly number[] | null): Model {
    this.jitter?.reseed(this.o.seed, 'jitter');
    m.sched.reset(choices);
    m.k.reset();
    m.st.reset();
    return m;
  }

  /**
   * The scenario's devices on @m's kernel, in the scenario's order: created by the first execution;
   * by the next ones reset with their contexts' PRNG and IOMMU domain, or created anew when their
   * instance cannot reset.
   */
  private attachDevices(m: Model): void {
    const seed = this.o.seed;
    this.devices.forEach(({ name, model, params }, i) => {
      const slot = m.devices.get(name);
      const ctx = m.ctxs[i];
      if (slot?.inst.reset && ctx) {
        ctx.prng.reseed(seed, `device:${name}`);
        ctx.iommu?.reset();
        slot.inst.reset();
        return;
      }
      const iommu = params['iommu'] === true ? new IommuDomain(name) : null;
      const c: DeviceCtx = { k: m.k, name, params, prng: new Prng(seed, `device:${name}`), iommu };
      m.ctxs[i] = c;
      m.devices.set(name, { model, inst: model.create(c) });
    });
  }

  /**
   * The listeners on the trace bus, as new: the checkers (one report per (kind, pfn, actor)), each
   * handler on its own event type with the shared books first, the stats, the footprint and the
   * caller's trace listener. Reset in place when every checker can be; else subscribed anew on a
   * new bus. Return: true when reset in place (the bus is the one of before).
   */
  private watchers(): boolean {
    this.violations = [];
    this.notes = [];
    this.seen.clear();
    const st = this.stats;
    st.events = st.simTimeNs = st.faults = st.invalidations = st.pins = st.choicePoints = 0;
    this.fp?.reset();
    if (this.set?.resettable) {
      this.bus.reset();
      this.set.reset();
      return true;
    }
    if (this.set) this.bus = new TraceBus<MmTraceEvent>();
    const { s, o, bus } = this;
    this.set = createCheckers([...o.registry.invariants.values()], {
      policy: o.policyName,
      livenessBound: s.kernel.livenessBound ?? DEFAULT_LIVENESS,
      position: () => this.bus.count,
      ...(s.kernel.until !== undefined ? { until: s.kernel.until } : {}),
      cutByUntil: () => this.world?.sched.cut ?? false,
      note: (text) => {
        if (!this.notes.includes(text)) this.notes.push(text);
      },
      report: (v) => {
        const key = `${v.kind}|${v.pfn}|${v.actor}`;
        if (this.seen.has(key)) return;
        this.seen.add(key);
        this.violations.push({ ...v });
      },
    });
    for (const [type, fn] of this.set.subscriptions) bus.subscribe(fn, [type]);
    bus.subscribe(() => st.faults++, ['fault']);
    bus.subscribe(() => st.invalidations++, ['notifier_start']);
    bus.subscribe(() => st.pins++, ['dma_ref_get']);
    if (this.fp) bus.subscribe((ev) => this.fp?.observe(ev));
    if (o.trace) bus.subscribe(o.trace);
    if (o.afterStep) bus.subscribe(footprintOf(() => this.world));
    return false;
  }
}

/**
 * The footprint of a step also holds what its trace events name (frames, address spaces, files,
 * devices): every frame of a range event, so a zap or an invalidation covers its whole range. A
 * frame of a large folio is named by the folio's head, so two steps about pages of one huge page
 * touch the same thing.
 */
function footprintOf(current: () => World | null): (ev: MmTraceEvent) => void {
  return (ev) => {
    // While a world is being built no step is under way: nothing to record.
    const w = current();
    if (!w) return;
    const { k, sched } = w;
    const touchPfn = (p: number): void => sched.touch(`pfn:${k.mem.folio_head(p)}`);
    const e: Readonly<Record<string, unknown>> = ev;
    if (typeof e['pfn'] === 'number' && e['pfn'] > 0) touchPfn(e['pfn']);
    const pfns = e['pfns'];
    if (pfns instanceof Int32Array) {
      // A huge entry's pages are one folio: its head once.
      let last = -1;
      for (const p of pfns) {
        if (p <= 0) continue;
        const head = k.mem.folio_head(p);
        if (head !== last) sched.touch(`pfn:${head}`);
        last = head;
      }
    }
    if (typeof e['mm'] === 'string' && e['mm']) sched.touch(`mm:${e['mm']}`);
    if (typeof e['file'] === 'string' && e['file']) sched.touch(`file:${e['file']}`);
    for (const f of ['device', 'holder']) if (typeof e[f] === 'string' && e[f]) sched.touch(`dev:${e[f]}`);
    if (ev.type === 'kernel_warn' || ev.type === 'kernel_bug') sched.touch(`site:${ev.site}`);
  };
}

/**
 * The state of @w: model, actors' positions, devices' tables, and the violations found so far; kept
 * by @books, or with null every part computed from scratch (the reference).
 */
export function worldFingerprint(w: World, books: FingerprintBooks | null): number {
  const h = new Hasher();
  kernel_fingerprint(w.k, h, books);
  w.sched.fingerprintActors(h);
  for (const [name, d] of w.st.devices) h.addString(name).add(d.inst.fingerprint?.(books === null) ?? 0);
  h.add(w.violations.length);
  for (const v of w.violations) h.addString(v.kind).add(v.pfn);
  return h.value;
}
