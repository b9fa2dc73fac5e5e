#!/usr/bin/env node
/**
 * The explorer's results with its state cache on, one JSON line per (file, policy, POR on/off):
 * executions, distinct states, pruned schedules, and each outcome's verdict, count and first
 * execution. Run against two builds and diff the outputs to show that a change to the state
 * fingerprint kept every exploration as it was.
 *
 *   node scripts/explore-counts.mjs [--dist DIR] > out.jsonl
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const at = args.indexOf('--dist');
const dist = resolve(at >= 0 ? args[at + 1] : join(HERE, '..', 'dist'));
const lib = (p) => import(pathToFileURL(join(dist, p)).href);
const { explore } = await lib('explore/explore.js');
const { INVARIANT_KINDS, defaultRegistry } = await lib('index.js');
const registry = defaultRegistry();

const FILES = [
  'examples/explore/gpu-fault-vs-munmap-skip-read-retry.json',
  'examples/explore/gpu-fault-vs-munmap.json',
  'examples/explore/odp-fault-vs-truncate.json',
  'examples/gpu-hmm-fork-device-private.json',
  'examples/thp/thp-pinned-fork.json',
  'examples/hugetlb/gup-nic-hugetlbfs-truncate.json',
  'examples/oom-kill-odp-refuses.json',
  'test/conformance/khugepaged/KHP-03-collapse_max_ptes_shared-khugepaged.json',
  'examples/odp-nic-truncate.json',
  'examples/dax-truncate-waits-for-gup.json',
];

for (const f of FILES) {
  const raw = JSON.parse(readFileSync(join(HERE, '..', f), 'utf8'));
  for (const policy of [...new Set([raw.kernel?.policy ?? 'linux-6.12', 'linux-4.20'])]) {
    for (const por of [false, true]) {
      const r = explore(structuredClone(raw), { policy, strategy: 'dfs', stateCache: true, por, runs: 3000, registry }, INVARIANT_KINDS);
      const verdicts = r.verdicts.map((o) => [o.outcome, o.verdict, o.count, o.exhaustive, o.example?.execution ?? null]);
      console.log(JSON.stringify({ f, policy, por, executions: r.executions, states: r.states, pruned: r.pruned, exhaustive: r.exhaustive, bound: r.bound, verdicts }));
    }
  }
}
