/**
 * Building the simulated machine of one run, once: the scheduler, the trace bus, a Kernel
 * constructed from a complete configuration (policy and era features, memory and ZONE_MOVABLE,
 * tunables, fatal_signal_pending), the checkers, files, processes, devices, background threads and
 * the scenario's actors. Nothing is assigned into the kernel after construction.
 */
import { Hasher } from '../../engine/hash.js';
import { Prng } from '../../engine/prng.js';
import { Scheduler, type ChoicePoint } from '../../engine/scheduler.js';
import { TraceBus } from '../../engine/trace.js';
import type { DeviceParams } from '../../devices/device.js';
import type { CheckerCtx, CheckerInstance } from '../../invariants/checker.js';
import { kernel_fingerprint } from '../../mm/fingerprint.js';
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
  readonly choices?: readonly number[];
  readonly chooser?: (p: ChoicePoint) => number;
  readonly trace?: (ev: MmTraceEvent) => void;
  readonly stepHashes?: string[];
  readonly afterStep?: (actor: string, footprint: ReadonlySet<string>) => void;
  readonly stateHash?: boolean;
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

/**
 * The listeners on the trace bus, in order: the checkers (one report per (kind, pfn, actor)), the
 * stats, and the caller's trace listener.
 */
function listen(bus: TraceBus<MmTraceEvent>, sched: Scheduler, s: Scenario, o: WorldOptions): Pick<World, 'checkers' | 'violations' | 'stats' | 'notes'> {
  const violations: Violation[] = [];
  const notes: string[] = [];
  const seen = new Set<string>();
  const cctx: CheckerCtx = {
    policy: o.policyName,
    livenessBound: s.kernel.livenessBound ?? DEFAULT_LIVENESS,
    ...(s.kernel.until !== undefined ? { until: s.kernel.until } : {}),
    cutByUntil: () => sched.cut,
    note(text) {
      if (!notes.includes(text)) notes.push(text);
    },
    report(v) {
      const key = `${v.kind}|${v.pfn}|${v.actor}`;
      if (seen.has(key)) return;
      seen.add(key);
      violations.push({ ...v });
    },
  };
  const checkers = [...o.registry.invariants.values()].map((c) => c.create(cctx));
  bus.subscribe((ev) => {
    for (const c of checkers) c.on(ev);
  });
  const stats: RunResult['stats'] = { events: 0, simTimeNs: 0, faults: 0, invalidations: 0, pins: 0, choicePoints: 0 };
  bus.subscribe((ev) => {
    if (ev.type === 'fault') stats.faults++;
    else if (ev.type === 'notifier_start') stats.invalidations++;
    else if (ev.type === 'dma_ref_get') stats.pins++;
  });
  if (o.trace) bus.subscribe(o.trace);
  return { checkers, violations, stats, notes };
}

/** buildWorld() - the machine of @s under @o.policy, every actor spawned and nothing run yet. */
export function buildWorld(s: Scenario, o: WorldOptions): World {
  let world: World | null = null;
  const sched = new Scheduler({
    window: o.window,
    ...(o.choices ? { choices: o.choices } : {}),
    ...(o.chooser ? { chooser: o.chooser } : {}),
    ...(s.kernel.until !== undefined ? { until: s.kernel.until } : {}),
    livenessBound: s.kernel.livenessBound ?? DEFAULT_LIVENESS,
    ...(o.jitter > 0 ? { jitter: { max: o.jitter, prng: new Prng(o.seed, 'jitter') } } : {}),
    ...(o.afterStep ? { afterStep: (a: { name: string }, fp: ReadonlySet<string>) => o.afterStep!(a.name, fp) } : {}),
    ...(o.stateHash ? { fingerprint: () => worldFingerprint(world ?? PINSIM_BUG('fingerprint before the world is built')) } : {}),
  });
  const bus = new TraceBus<MmTraceEvent>();
  if (o.stepHashes) bus.stepHashes = o.stepHashes;
  // A thread dies at its next interruptible sleep once its process has been killed.
  const actorProc = new Map<string, string>(Object.entries(s.actors).map(([n, a]) => [n, a.process]));
  const k: Kernel = new Kernel({
    sched, bus, policy: o.policy.policy, features: o.policy.features, timing: DEFAULT_TIMING,
    memory: s.kernel.memory ?? DEFAULT_MEMORY,
    ...(s.kernel.movable !== undefined ? { movable: s.kernel.movable } : {}),
    ...(s.kernel.hugepages ? { hugepages: hugepagesByOrder(s.kernel.hugepages) } : {}),
    ...(s.kernel.thp ? { thp: s.kernel.thp } : {}),
    ...(s.kernel.leaseBreakTimeout !== undefined ? { tunables: { leaseBreakTimeout: s.kernel.leaseBreakTimeout } } : {}),
    fatal_signal_pending: () => {
      const p = actorProc.get(sched.current?.name ?? '');
      return p !== undefined && k.processes.get(p)?.alive === false;
    },
  });

  const { checkers, violations, stats, notes } = listen(bus, sched, s, o);
  for (const [name, f] of Object.entries(s.files)) {
    const ino = k.create_inode(name, f.fs, f.dax, f.size, f.fs === 'hugetlbfs' ? huge_page_order_of(f.pageSize ?? 0) : 0);
    // folioSize: what the filesystem and era allow, and a note when that is not what was asked.
    const note = f.folioSize ? mapping_set_folio_order(k, ino, Math.log2(f.folioSize / PAGE_SIZE)) : null;
    if (note) notes.push(note);
  }
  // A process that a fork creates comes into being at the fork.
  for (const p of initialProcesses(s)) {
    const spec = s.processes[p] ?? {};
    k.create_process(p, spec.memlock ?? Infinity, spec.capIpcLock ?? false);
  }
  const devices = new Map<string, DeviceSlot>();
  for (const [name, d] of Object.entries(s.devices)) {
    const model = o.registry.devices.get(d.model) ?? PINSIM_BUG(`no device model "${d.model}"`);
    const params: DeviceParams = {};
    for (const [pn, spec] of Object.entries(model.params)) params[pn] = d.params[pn] ?? spec.default;
    const iommu = params['iommu'] === true ? new IommuDomain(name) : null;
    devices.set(name, { model, inst: model.create({ k, name, params, prng: new Prng(o.seed, `device:${name}`), iommu }) });
  }
  spawnBackground(k, s.kernel);

  const st = new RunState(k, sched, s, devices);
  if (o.afterStep) bus.subscribe(footprintOf(sched));
  for (const [name, spec] of Object.entries(s.actors)) {
    let actor: ReturnType<Scheduler['spawn']> | null = null;
    actor = sched.spawn(name, runActor(st, name, spec, () => actor!), { at: 0 });
    const l = st.procActors.get(spec.process) ?? [];
    l.push(actor);
    st.procActors.set(spec.process, l);
  }
  world = { k, sched, bus, st, checkers, violations, stats, notes };
  return world;
}

/** The footprint of a step also holds what its trace events name (frames, address spaces, files, devices). */
function footprintOf(sched: Scheduler): (ev: MmTraceEvent) => void {
  return (ev) => {
    const e: Readonly<Record<string, unknown>> = ev;
    if (typeof e['pfn'] === 'number' && e['pfn'] > 0) sched.touch(`pfn:${e['pfn']}`);
    if (typeof e['mm'] === 'string' && e['mm']) sched.touch(`mm:${e['mm']}`);
    if (typeof e['file'] === 'string' && e['file']) sched.touch(`file:${e['file']}`);
    for (const f of ['device', 'holder']) if (typeof e[f] === 'string' && e[f]) sched.touch(`dev:${e[f]}`);
    if (ev.type === 'kernel_warn' || ev.type === 'kernel_bug') sched.touch(`site:${ev.site}`);
  };
}

/** The state of @w: model, actors' positions, devices' tables, and the violations found so far. */
function worldFingerprint(w: World): number {
  const h = new Hasher();
  kernel_fingerprint(w.k, h);
  w.sched.fingerprintActors(h);
  for (const [name, d] of w.st.devices) h.addString(name).add(d.inst.fingerprint?.() ?? 0);
  h.add(w.violations.length);
  for (const v of w.violations) h.addString(v.kind).add(v.pfn);
  return h.value;
}
