/** Build a bare simulated kernel and drive kernel paths to completion, for mm unit tests. */
import type { Co } from '../../src/engine/actor.js';
import { Scheduler } from '../../src/engine/scheduler.js';
import { TraceBus } from '../../src/engine/trace.js';
import { kernelFeatures } from '../../src/mm/features.js';
import { Kernel, type KernelConfig } from '../../src/mm/kernel.js';
import { DEFAULT_TIMING } from '../../src/mm/timing.js';
import type { MmTraceEvent } from '../../src/mm/trace_events.js';
import { linux_4_20 } from '../../src/policy/linux-4.20.js';
import { linux_6_12 } from '../../src/policy/linux-6.12.js';
import type { KernelPolicy } from '../../src/mm/policy_ops.js';
import { linux_era } from '../../src/policy/linux-era.js';
import { PINSIM_BUG } from '../../src/engine/bug.js';

export interface TestKernel {
  k: Kernel;
  sched: Scheduler;
  events: MmTraceEvent[];
  /** Run @gen as an actor named @actor to completion (with everything else runnable). */
  run<T>(gen: Co<T>, actor?: string): T;
}

/**
 * makeKernel() - a kernel of @era (a preset, any `X.Y` of the era timeline, or a policy) with @memory
 * bytes; @config adds what else its constructor takes.
 */
export function makeKernel(era: '4.20' | '6.12' | `${number}.${number}` | KernelPolicy = '6.12', memory = 64 * 1024 * 1024,
  config: Pick<KernelConfig, 'movable' | 'tunables' | 'fatal_signal_pending' | 'hugepages'> = {}): TestKernel {
  const policy = era === '4.20' ? linux_4_20 : era === '6.12' ? linux_6_12 : typeof era === 'string' ? (linux_era(`linux-${era}`) ?? PINSIM_BUG(`no era ${era}`)) : era;
  const sched = new Scheduler({ livenessBound: 0 });
  const bus = new TraceBus<MmTraceEvent>();
  const events: MmTraceEvent[] = [];
  bus.subscribe((e) => events.push(e));
  const k = new Kernel({ sched, bus, policy, features: kernelFeatures(policy.version[0], policy.version[1]), timing: DEFAULT_TIMING, memory, ...config });
  return {
    k, sched, events,
    run<T>(gen: Co<T>, actor = 'test'): T {
      let out: { v: T } | null = null;
      sched.spawn(actor, (function* () {
        out = { v: yield* gen };
      })());
      sched.run();
      if (!out) throw new Error('kernel path did not complete (blocked?)');
      return (out as { v: T }).v;
    },
  };
}

export const PAGE = 4096;
