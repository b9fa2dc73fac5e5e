/**
 * Worker threads for `pinsim explore --jobs N`: each worker explores one shard (i/N) of the same
 * scenario and posts its ExploreResult back; the parent merges them. (One of the three files allowed
 * Node built-ins, with cli/ and the scenario loaders in scenario/format/.)
 */
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { explore, type ExploreOptions, type ExploreResult } from './explore.js';
import { INVARIANT_KINDS } from '../scenario/registry.js';
import { validateOrThrow } from '../scenario/format/validate.js';

interface Job {
  input: unknown;
  opts: Omit<ExploreOptions, 'shouldStop' | 'onExecution' | 'registry'>;
  deadline: number | null;
}

/** Strip the bulky run results from a result that crosses a thread boundary. */
export function slim(r: ExploreResult): ExploreResult {
  return { ...r, verdicts: r.verdicts.map((v) => (v.example ? { ...v, example: { ...v.example, result: undefined as never } } : v)) };
}

/** exploreInWorkers() - run @jobs shards in worker threads and return their results. */
export function exploreInWorkers(input: unknown, opts: Job['opts'], jobs: number, deadline: number | null): Promise<ExploreResult[]> {
  return Promise.all(Array.from({ length: jobs }, (_, index) => new Promise<ExploreResult>((resolve, reject) => {
    const job: Job = { input, opts: { ...opts, shard: { index, count: jobs } }, deadline };
    const w = new Worker(new URL(import.meta.url), { workerData: job });
    w.once('message', (m: ExploreResult) => resolve(m));
    w.once('error', reject);
    w.once('exit', (code) => { if (code !== 0) reject(new Error(`explore worker ${index} exited with ${code}`)); });
  })));
}

if (!isMainThread && parentPort && workerData) {
  const job = workerData as Job;
  const s = validateOrThrow(job.input);
  const r = explore(s, { ...job.opts, shouldStop: () => job.deadline !== null && Date.now() > job.deadline }, INVARIANT_KINDS);
  parentPort.postMessage(slim(r));
}
