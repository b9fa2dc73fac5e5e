#!/usr/bin/env node
// @ts-check
// Run the user-written device and policy: node examples/custom-device/run.mjs (after npm run build).
// The registry is a value: the built-in plugins plus ours; a duplicate name would throw here.
import { BUILTIN, createRegistry, runScenario } from 'pinsim';
import { dma_engine } from './dma-engine.mjs';
import { no_shared_file_longterm } from './no-shared-file-longterm.mjs';
import { shadow_mmu } from './shadow-mmu.mjs';
import { dmaEngineTruncate, gupNicTruncate, shadowMmuOomKill } from './scenarios.mjs';

const registry = createRegistry({
  devices: [...BUILTIN.devices, dma_engine, shadow_mmu],
  policies: [...BUILTIN.policies, no_shared_file_longterm],
  invariants: BUILTIN.invariants,
});

/** @type {[import('pinsim').ScenarioInput, string[]][]} */
const plan = [
  [dmaEngineTruncate, ['linux-4.20', 'linux-5.7', 'linux-6.12']],
  [gupNicTruncate, ['no-shared-file-longterm', 'linux-4.20']],
  [shadowMmuOomKill(false), ['linux-4.20', 'linux-5.7', 'linux-6.12']],
  [shadowMmuOomKill(true), ['linux-4.20', 'linux-5.7', 'linux-6.12']],
];
let failed = 0;
for (const [s, policies] of plan) {
  for (const policy of policies) {
    const r = runScenario(s, { policy, registry });
    const kinds = r.violations.map((v) => v.kind).join(', ') || 'none';
    const ok = r.expectations.met && r.outcome !== 'error';
    if (!ok) failed++;
    console.log(`${ok ? 'ok  ' : 'FAIL'} ${r.scenario} [${policy}]: violations ${kinds}; ${Object.entries(r.results).filter(([k]) => !k.includes('.')).map(([k, v]) => `${k}=${v}`).join(' ')}`);
    for (const f of r.expectations.failures) console.log(`       ${f}`);
  }
}
process.exit(failed ? 1 : 0);
