/**
 * oom_kill: the OOM killer kills a process. Its threads get SIGKILL; the OOM reaper then unmaps its
 * anonymous and private memory with non-blockable invalidations (which notifier subscribers may
 * refuse: that VMA is skipped), and only then does the process's exit tear down the mm (exit_mmap,
 * blockable) and close its devices. A `process` that a fork creates is waited for, as an actor of it
 * would be; if that fork failed, the op fails with EINVAL. A process that has exited already: ESRCH.
 */
import { wait_event } from '../../engine/waitqueue.js';
import { EINVAL, ESRCH } from '../../mm/errno.js';
import { oom_reap_task } from '../../mm/oom_kill.js';
import { exitProcessMm, killThreads } from '../run/kill.js';
import { F, processOp } from './op.js';

export const oom_kill = processOp({
  name: 'oom_kill',
  doc: 'the OOM killer kills `process`: the OOM reaper unmaps its memory with non-blockable invalidations (__oom_reap_task_mm), then exit_mmap',
  produces: 'result',
  results: ['ok', 'ESRCH', 'EINVAL'],
  fields: { process: F.process('the process to kill (a fork\'s `as`: the op waits for the fork)', { required: true }) },
  *exec(x, op) {
    const st = x.st, k = x.k;
    if (!k.processes.has(op.process)) {
      yield* wait_event(st.namesWq, () => k.processes.has(op.process) || st.names.get(op.process)?.kind === 'failed', 'op:wait_fork');
    }
    const victim = k.processes.get(op.process);
    if (!victim) return { result: EINVAL }; // the fork that was to create it failed
    if (!victim.alive || victim.mm.dead) return { result: ESRCH };
    const self = st.sched.current;
    killThreads(st, victim, self);
    // wake_oom_reaper(): the reaper unmaps what it can without blocking, then the victim exits.
    yield* oom_reap_task(k, victim.mm);
    yield* exitProcessMm(st, victim);
    return { result: 'ok', ...(victim === x.proc ? { exited: true } : {}) };
  },
});
