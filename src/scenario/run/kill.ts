/** A process dying of a signal or exiting: what happens to its threads, its mm and its devices. */
import type { Actor, Co } from '../../engine/actor.js';
import { exit_mmap } from '../../mm/exit.js';
import type { Process } from '../../mm/kernel.js';
import { recordResult, recordTiming } from './record.js';
import { opAtKey, type RunState } from './state.js';

/** Sites where a thread is in user space (or in a sleep a fatal signal ends at once). */
const USER_SITES = new Set(['start', 'op:at', 'op:wait_name', 'op:sleep', 'op:device_wait', 'op:poll']);

/**
 * killProcess() - the process dies (do_group_exit): its other threads get SIGKILL. One in user space
 * (or in nanosleep, or waiting for its own device op) dies at once, its op EINTR; one inside a kernel
 * path finishes it (interruptible sleeps return EINTR) and dies at the op boundary, so no lock is
 * left held. Then the mm is torn down and the process's MRs are released.
 * Kernel: kernel/exit.c do_group_exit(), zap_other_threads(); mm/mmap.c exit_mmap().
 */
export function* killProcess(st: RunState, proc: Process, self: Actor): Co {
  killThreads(st, proc, self);
  yield* exitProcessMm(st, proc);
}

/**
 * killThreads() - SIGKILL to every thread of @proc but @self (see killProcess()); nothing of the mm
 * is torn down yet. Kernel: kernel/signal.c zap_other_threads().
 */
export function killThreads(st: RunState, proc: Process, self: Actor | null): void {
  proc.alive = false;
  for (const a of st.procActors.get(proc.name) ?? []) {
    if (a === self || a.state === 'done') continue;
    if (USER_SITES.has(a.site)) {
      for (const [key, r] of st.running) {
        if (r.actor !== a) continue;
        const as = opAtKey(st.scenario, key)?.as;
        recordResult(st, key, as, 'EINTR');
        recordTiming(st, key, as, { start: r.start, end: st.k.now, blockedNs: 0, lateNs: r.lateNs });
        st.running.delete(key);
      }
      st.sched.kill(a);
    } else if (a.state === 'waiting') st.sched.wakeActor(a); // an interruptible sleep re-checks and bails out
  }
}

/**
 * exitProcessMm() - the dead process's mm goes (exit_mmap), then its files close: its MRs and
 * mirrors are released. Kernel: kernel/exit.c do_exit() (exit_mm() before exit_files()).
 */
export function* exitProcessMm(st: RunState, proc: Process): Co {
  yield* exit_mmap(st.k, proc.mm);
  for (const [, slot] of st.devices) if (slot.inst.release_process) yield* slot.inst.release_process(proc);
}
