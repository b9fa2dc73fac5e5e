/**
 * runScenario(): validate a scenario, build the simulated machine (kernel of the chosen policy,
 * files, processes, devices, checkers), run it to the end-of-run rule of DESIGN §3, and return the
 * result of DESIGN §6 with its expectations evaluated.
 */
import { delay, type Actor, type Co } from '../engine/actor.js';
import { Prng } from '../engine/prng.js';
import { compact_zone } from '../mm/compaction.js';
import { storage_token, write_cache_pages } from '../mm/page-writeback.js';
import { reclaim_buffers, shrink_folio_list } from '../mm/vmscan.js';
import { Scheduler, type ChoicePoint } from '../engine/scheduler.js';
import { TraceBus } from '../engine/trace.js';
import type { DeviceParams } from '../devices/device.js';
import type { CheckerCtx } from '../invariants/checker.js';
import { Hasher } from '../engine/hash.js';
import { kernelFeatures } from '../mm/features.js';
import { kernel_fingerprint } from '../mm/fingerprint.js';
import { IommuDomain } from '../mm/iommu.js';
import { Kernel } from '../mm/kernel.js';
import { KernelBugStop, PinsimInternalError } from '../mm/mmdebug.js';
import { DEFAULT_TIMING } from '../mm/timing.js';
import type { MmTraceEvent } from '../mm/trace_events.js';
import { checkExpectations } from './expect.js';
import { opAtKey, RunState, runActor, type DeviceSlot } from './ops.js';
import { CONTRACT_POLICIES, DEFAULT_POLICY, defaultRegistry, lookupPolicy, type Registry } from './registry.js';
import type { OpTiming, RunResult, Violation } from './result.js';
import { ScenarioError, type Expect, type Issue, type Scenario } from './types.js';
import { featureIssues, validationContext } from './context.js';
import { validateScenario } from './validate.js';

export interface RunOptions {
  /** Overrides `kernel.policy` (default linux-6.12). */
  policy?: string;
  /** Default 1. */
  seed?: number;
  /** DESIGN §3's W in ns; 0 under run/check. */
  window?: number;
  /** Timing jitter in ns (overrides `kernel.jitter`). */
  jitter?: number;
  /** Recorded choices to replay. */
  choices?: readonly number[];
  /** A strategy's pick at each choice point (wins over `choices`). */
  chooser?: (p: ChoicePoint) => number;
  /** Extra listener on every trace event (reports). */
  trace?: (ev: MmTraceEvent) => void;
  /** Record the running trace hash after every event (determinism self-check). */
  stepHashes?: string[];
  /** After every step: the actor and the resources it touched (partial-order reduction). */
  afterStep?: (actor: string, footprint: ReadonlySet<string>) => void;
  /** Offer a state fingerprint at every choice point (the explorer's state cache). */
  stateHash?: boolean;
  registry?: Registry;
}

const DEFAULT_MEMORY = 4 * 1024 ** 3;
const DEFAULT_LIVENESS = 1_000_000_000;

/**
 * validateOrThrow() - the validated scenario, or a ScenarioError with every issue.
 */
export function validateOrThrow(input: unknown, registry: Registry = defaultRegistry(), file?: string): Scenario {
  const v = validateScenario(input, validationContext(registry));
  if (!v.ok) throw new ScenarioError(v.issues, file);
  const more = featureIssues(v.scenario, registry);
  if (more.length) throw new ScenarioError(more, file);
  return v.scenario;
}

/**
 * runScenario() - run @input (a scenario as written, or from the builder) under one policy.
 * Throws ScenarioError for bad input; pinsim's own failures come back as outcome `error`.
 * @example
 *   const r = runScenario(JSON.parse(fs.readFileSync('examples/gup-nic-truncate.json', 'utf8')), { policy: 'linux-4.20' });
 *   r.violations.map((v) => v.kind); // ['lost-write']
 */
export function runScenario(input: unknown, opts: RunOptions = {}): RunResult {
  const registry = opts.registry ?? defaultRegistry();
  return runValidated(validateOrThrow(input, registry), { ...opts, registry });
}

/** policyIssue() - why @name cannot be run, or null. */
export function policyIssue(name: string, registry: Registry, path = 'policy'): Issue | null {
  if (lookupPolicy(registry, name)) return null;
  const known = (CONTRACT_POLICIES as readonly string[]).includes(name);
  return {
    code: known ? 'not-implemented' : 'unknown-policy', path,
    message: known ? `policy "${name}" is part of the contract but not built yet` : `unknown policy "${name}"`,
    expected: `one of ${[...registry.policies.keys()].join(', ')}, or linux-X.Y (from 4.19)`,
  };
}

/** runValidated() - runScenario() for a scenario that validation already produced. */
export function runValidated(s: Scenario, opts: RunOptions = {}): RunResult {
  const registry = opts.registry ?? defaultRegistry();
  const policyName = opts.policy ?? s.replay?.policy ?? s.kernel.policy ?? DEFAULT_POLICY;
  const pi = policyIssue(policyName, registry);
  if (pi) throw new ScenarioError([pi]);
  const policy = lookupPolicy(registry, policyName)!;
  const seed = opts.seed ?? s.replay?.seed ?? 1;
  const base: RunResult = {
    scenario: s.name, policy: policyName, seed, outcome: 'pass', violations: [], results: {}, observed: {}, ops: {},
    expectations: { met: true, failures: [] },
    stats: { events: 0, simTimeNs: 0, faults: 0, invalidations: 0, pins: 0, choicePoints: 0 }, traceHash: '', choices: [],
  };
  const pe = s.expectByPolicy?.[policyName];
  if (pe && 'skip' in pe) return { ...base, outcome: 'skip', skipped: pe.skip };
  const expect: Expect | undefined = pe ?? s.expect;

  const jitter = opts.jitter ?? s.replay?.jitter ?? s.kernel.jitter ?? 0;
  const sched = new Scheduler({
    window: opts.window ?? s.replay?.window ?? 0,
    ...(opts.choices ? { choices: opts.choices } : s.replay?.choices ? { choices: s.replay.choices } : {}),
    ...(opts.chooser ? { chooser: opts.chooser } : {}),
    ...(s.kernel.until !== undefined ? { until: s.kernel.until } : {}),
    livenessBound: s.kernel.livenessBound ?? DEFAULT_LIVENESS,
    ...(jitter > 0 ? { jitter: { max: jitter, prng: new Prng(seed, 'jitter') } } : {}),
    ...(opts.afterStep ? { afterStep: (a: { name: string }, fp: ReadonlySet<string>) => opts.afterStep!(a.name, fp) } : {}),
    ...(opts.stateHash ? { fingerprint: () => fingerprint() } : {}),
  });
  const bus = new TraceBus<MmTraceEvent>();
  if (opts.stepHashes) bus.stepHashes = opts.stepHashes;
  const k = new Kernel({
    sched, bus, policy, features: kernelFeatures(policy.version[0], policy.version[1]), timing: DEFAULT_TIMING,
    memory: s.kernel.memory ?? DEFAULT_MEMORY,
  });

  // Checkers: one report per (kind, pfn, actor).
  const violations: Violation[] = [];
  const seen = new Set<string>();
  const cctx: CheckerCtx = {
    policy: policyName,
    livenessBound: s.kernel.livenessBound ?? DEFAULT_LIVENESS,
    report(v) {
      const key = `${v.kind}|${v.pfn}|${v.actor}`;
      if (seen.has(key)) return;
      seen.add(key);
      violations.push({ ...v });
    },
  };
  const checkers = [...registry.invariants.values()].map((c) => c.create(cctx));
  bus.subscribe((ev) => {
    for (const c of checkers) c.on(ev);
  });
  const stats = base.stats;
  bus.subscribe((ev) => {
    if (ev.type === 'fault') stats.faults++;
    else if (ev.type === 'notifier_start') stats.invalidations++;
    else if (ev.type === 'dma_ref_get') stats.pins++;
  });
  if (opts.trace) bus.subscribe(opts.trace);

  for (const [name, f] of Object.entries(s.files)) k.create_inode(name, f.fs, f.dax, f.size);
  // A process that a fork creates comes into being at the fork (DESIGN §5).
  const forked = new Set<string>();
  const visit = (ops: readonly { op: string; as?: string; onBreak?: readonly unknown[] }[]) => {
    for (const op of ops) {
      if (op.op === 'fork' && op.as) forked.add(op.as);
      if (op.onBreak) visit(op.onBreak as typeof ops);
    }
  };
  for (const a of Object.values(s.actors)) visit(a.ops);
  const procNames = new Set([...Object.keys(s.processes), ...Object.values(s.actors).map((a) => a.process)].filter((p) => !forked.has(p)));
  for (const p of procNames) {
    const spec = s.processes[p] ?? {};
    k.create_process(p, spec.memlock ?? Infinity, spec.capIpcLock ?? false);
  }
  const devices = new Map<string, DeviceSlot>();
  for (const [name, d] of Object.entries(s.devices)) {
    const model = registry.devices.get(d.model)!;
    const params: DeviceParams = {};
    for (const [pn, spec] of Object.entries(model.params)) params[pn] = d.params[pn] ?? spec.default;
    const iommu = params['iommu'] === true ? new IommuDomain(name) : null;
    devices.set(name, { model, inst: model.create({ k, name, params, prng: new Prng(seed, `device:${name}`), iommu }) });
  }

  if (s.kernel.leaseBreakTimeout !== undefined) k.tunables.leaseBreakTimeout = s.kernel.leaseBreakTimeout;
  if (s.kernel.movable !== undefined) k.movable.limit = Math.floor(s.kernel.movable / 4096);
  spawnBackground(k, s);

  const st = new RunState(k, sched, s, devices);
  /** The state here: model, actors' positions, devices' tables, and the violations found so far. */
  function fingerprint(): number {
    const h = new Hasher();
    kernel_fingerprint(k, h);
    sched.fingerprintActors(h);
    for (const [name, d] of devices) h.addString(name).add(d.inst.fingerprint?.() ?? 0);
    h.add(violations.length);
    for (const v of violations) h.addString(v.kind).add(v.pfn);
    return h.value;
  }
  // The footprint of a step also holds what its trace events name (frames, address spaces, files, devices).
  if (opts.afterStep) {
    bus.subscribe((ev) => {
      const e = ev as unknown as Record<string, unknown>;
      if (typeof e['pfn'] === 'number' && (e['pfn'] as number) > 0) sched.touch(`pfn:${e['pfn']}`);
      if (typeof e['mm'] === 'string' && e['mm']) sched.touch(`mm:${e['mm']}`);
      if (typeof e['file'] === 'string' && e['file']) sched.touch(`file:${e['file']}`);
      for (const f of ['device', 'holder']) if (typeof e[f] === 'string' && e[f]) sched.touch(`dev:${e[f]}`);
      if (ev.type === 'kernel_warn' || ev.type === 'kernel_bug') sched.touch(`site:${ev.site}`);
    });
  }
  const actorProc = new Map<string, string>(Object.entries(s.actors).map(([n, a]) => [n, a.process]));
  k.fatal_signal_pending = () => {
    const p = actorProc.get(sched.current?.name ?? '');
    return p !== undefined && k.processes.get(p)?.alive === false;
  };
  for (const [name, spec] of Object.entries(s.actors)) {
    let actor: ReturnType<Scheduler['spawn']> | null = null;
    actor = sched.spawn(name, runActor(st, name, spec, () => actor!), { at: 0 });
    const l = st.procActors.get(spec.process) ?? [];
    l.push(actor);
    st.procActors.set(spec.process, l);
  }

  let crashed = false;
  let error: string | undefined;
  try {
    sched.run();
  } catch (e) {
    if (e instanceof KernelBugStop) crashed = true;
    else error = e instanceof PinsimInternalError ? e.message : `[pinsim internal bug] ${(e as Error)?.stack ?? String(e)}`;
  }

  if (!crashed && !error) {
    for (const [key, r] of st.running) {
      const op = opAtKey(s, key);
      k.emit({ type: 'op_blocked', time: k.now, actor: r.actor.name, op: op?.op ?? '?', name: key, since: r.start, wq: r.actor.waitingOn?.name ?? '' });
    }
    try {
      finalEvents(k);
    } catch (e) {
      if (e instanceof KernelBugStop) crashed = true;
      else error = `[pinsim internal bug] ${(e as Error)?.stack ?? String(e)}`;
    }
  }
  for (const c of checkers) c.finish();

  // Ops that never finished: blocked, crashed (cut off by a kernel BUG) or never started.
  const end = sched.now;
  for (const [key, r] of st.running) {
    st.results[key] = crashed ? 'crashed' : 'blocked';
    const waiting = r.actor.state === 'waiting' ? end - r.actor.waitStart : 0;
    st.ops[key] = { start: r.start, end, blockedNs: r.actor.blockedNs - r.blocked0 + waiting, lateNs: r.lateNs };
    const as = opAtKey(s, key)?.as;
    if (as) {
      st.results[as] = st.results[key] as string;
      st.ops[as] = st.ops[key] as OpTiming;
    }
  }
  for (const [name, spec] of Object.entries(s.actors)) {
    spec.ops.forEach((op, i) => {
      const key = `${name}.${i}`;
      if (st.results[key] === undefined) {
        st.results[key] = 'not-run';
        if (op.as && st.results[op.as] === undefined) st.results[op.as] = 'not-run';
      }
    });
  }

  // The durable content of the file pages the expectations name (`storage:f@index`).
  for (const key of storageKeys(expect)) {
    const m = /^storage:(.+)@(\d+)$/.exec(key);
    const inode = m ? k.inodes.get(m[1] as string) : undefined;
    if (inode) st.observed[key] = k.contents[storage_token(k, inode, Number(m![2]))] as string;
  }

  const r: RunResult = {
    ...base, violations, results: st.results, observed: st.observed, ops: st.ops,
    stats: { ...stats, events: bus.count, simTimeNs: end, choicePoints: sched.recorded.length },
    traceHash: bus.traceHash, choices: [...sched.recorded],
    ...(sched.pruned ? { pruned: true } : {}),
  };
  if (error) return { ...r, outcome: 'error', error };
  const failures = expect ? checkExpectations(expect, r) : [];
  r.expectations = { met: failures.length === 0, failures };
  r.outcome = failures.length ? 'expectation-failed' : violations.length ? 'violations' : 'pass';
  return r;
}

function storageKeys(e: Expect | undefined): string[] {
  if (!e) return [];
  const keys = new Set<string>();
  const add = (k: string) => { if (k.startsWith('storage:')) keys.add(k); };
  for (const k of Object.keys(e.observed ?? {})) add(k);
  for (const o of [...(e.forbid ?? []), ...(e.allow ?? [])]) if (typeof o !== 'string') for (const k of Object.keys(o)) add(k);
  return [...keys];
}

/**
 * The kernel's periodic work, when `kernel` asks for it: the flusher threads (writeback), kswapd
 * (reclaim: strip clean buffers, free unreferenced clean file folios) and kcompactd (compaction).
 * Background actors never keep a run alive (DESIGN §3), but one inside a pass when the scenario's
 * actors have all finished ends that pass first (no kernel path is cut in half; docs/decisions.md).
 */
function spawnBackground(k: Kernel, s: Scenario): void {
  const loop = (name: string, period: number, body: () => Co<unknown>) => {
    const holder: { actor: Actor | null } = { actor: null };
    holder.actor = k.sched.spawn(name, (function* () {
      for (;;) {
        yield* delay(period, `${name}:sleep`);
        if (k.sched.draining) return;
        if (holder.actor) holder.actor.busy = true;
        yield* body();
        if (holder.actor) holder.actor.busy = false;
      }
    })(), { background: true, at: 0 });
  };
  if (s.kernel.writeback) loop('kworker/flush', s.kernel.writeback.period, function* () {
    for (const f of [...k.inodes.values()]) yield* write_cache_pages(k, f, 0, Infinity);
  });
  if (s.kernel.reclaim) loop('kswapd0', s.kernel.reclaim.period, function* () {
    yield* reclaim_buffers(k);
    yield* shrink_folio_list(k, 32);
  });
  if (s.kernel.compaction) loop('kcompactd0', s.kernel.compaction.period, () => compact_zone(k));
}

/** The end-of-run events: every live frame's counts, the pin counters, then run_end. */
function finalEvents(k: Kernel): void {
  const m = k.mem;
  for (let pfn = 1; pfn < m.highWater; pfn++) {
    if (m.free[pfn]) continue;
    k.emit({
      type: 'frame_final', time: k.now, actor: 'kernel', pfn, gen: m.gen[pfn] as number,
      refcount: m._refcount[pfn] as number, pincount: m._pincount[pfn] as number, mapcount: m._mapcount[pfn] as number,
    });
  }
  k.emit({ type: 'vmstat_final', time: k.now, actor: 'kernel', ...k.vmstat });
  k.emit({ type: 'run_end', time: k.now, actor: 'kernel', crashed: false });
}
