/**
 * Worker threads for `pinsim explore --jobs N`: each worker explores one shard (i/N) of the same
 * scenario, posts progress (executions and violation kinds seen since its last post) about every
 * 250 ms, and posts its ExploreResult back; the parent merges them. An interrupt reaches the
 * workers through a shared flag that they read between executions. (One of the three files allowed
 * Node built-ins, with cli/ and scenario/load.ts.)
 */
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { explore, type ExploreOptions, type ExploreResult } from './explore.js';

interface Job {
  input: unknown;
  opts: Omit<ExploreOptions, 'shouldStop' | 'onExecution' | 'registry'>;
  deadline: number | null;
  /** set to 1 by the parent on an interrupt */
  interrupt: Int32Array;
}

/** What a worker reports between its results: counts since its previous report. */
export interface WorkerProgress {
  executions: number;
  /** violation kind → executions that showed it */
  found: Record<string, number>;
}

type Message = { progress: WorkerProgress } | { result: ExploreResult };

/** Strip the bulky run results from a result that crosses a thread boundary. */
export function slim(r: ExploreResult): ExploreResult {
  return { ...r, verdicts: r.verdicts.map((v) => (v.example ? { ...v, example: { ...v.example, result: undefined as never } } : v)) };
}

/** exploreInWorkers() - run @jobs shards in worker threads and return their results. */
export function exploreInWorkers(
  input: unknown, opts: Job['opts'], jobs: number, deadline: number | null, interrupt: Int32Array, onProgress: (p: WorkerProgress) => void,
): Promise<ExploreResult[]> {
  return Promise.all(Array.from({ length: jobs }, (_, index) => new Promise<ExploreResult>((resolve, reject) => {
    const job: Job = { input, opts: { ...opts, shard: { index, count: jobs } }, deadline, interrupt };
    const w = new Worker(new URL(import.meta.url), { workerData: job });
    w.on('message', (m: Message) => {
      if ('progress' in m) onProgress(m.progress);
      else resolve(m.result);
    });
    w.once('error', reject);
    w.once('exit', (code) => { if (code !== 0) reject(new Error(`explore worker ${index} exited with ${code}`)); });
  })));
}

if (!isMainThread && parentPort && workerData) {
  const job = workerData as Job;
  const port = parentPort;
  let pending: WorkerProgress = { executions: 0, found: {} };
  let last = 0;
  const r = explore(job.input, {
    ...job.opts,
    shouldStop: () => (Atomics.load(job.interrupt, 0) ? 'interrupted' : job.deadline !== null && Date.now() > job.deadline ? 'time' : false),
    onExecution: (_n, run) => {
      pending.executions++;
      for (const k of new Set(run.violations.map((v) => v.kind))) pending.found[k] = (pending.found[k] ?? 0) + 1;
      const now = Date.now();
      if (now - last < 250) return;
      last = now;
      port.postMessage({ progress: pending } satisfies Message);
      pending = { executions: 0, found: {} };
    },
  });
  if (pending.executions) port.postMessage({ progress: pending } satisfies Message);
  port.postMessage({ result: slim(r) } satisfies Message);
}
