/** oom_kill: the OOM killer kills a process. Part of the format, not built yet. */
import { F, processOp } from './op.js';

export const oom_kill = processOp({
  name: 'oom_kill',
  doc: 'the OOM killer kills `process`: the OOM reaper unmaps its memory with non-blockable invalidations (__oom_reap_task_mm), then exit_mmap',
  produces: 'result',
  results: ['ok'],
  fields: { process: F.process('the process to kill', { required: true }) },
});
