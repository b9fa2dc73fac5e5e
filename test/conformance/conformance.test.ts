/**
 * The conformance suite: every scenario under test/conformance/ ports one case of the oracle
 * (/work/shared/oracle/kernel-selftests.md: hmm-tests §1.7 as HMM-NN, rdma-core §5.2 as ODP-NN,
 * the §5.5 design cases as DES-NN; the project's own port of khugepaged.c as KHP-NN) and states
 * its outcome with `expect` (and `expectByPolicy` where eras differ). Each file runs under every
 * policy the default registry builds, and under every other linux-X.Y its expectByPolicy names (an
 * era boundary between the presets); one test per (case, policy), named with the case ID.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { defaultRegistry } from '../../src/scenario/registry.js';
import { runScenario } from '../../src/scenario/run/run.js';

const ROOT = fileURLToPath(new URL('.', import.meta.url));

function jsonFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? jsonFiles(join(dir, e.name)) : e.name.endsWith('.json') ? [join(dir, e.name)] : []))
    .sort();
}

interface Case {
  file: string;
  id: string;
  scenario: {
    name: string;
    description?: string;
    expect?: Record<string, unknown>;
    expectByPolicy?: Record<string, Record<string, unknown>>;
  };
}

const CASE_ID = /^(HMM|ODP|DES|GLT|COW|GUPT|KHP)-\d\d\b/;

const cases: Case[] = jsonFiles(ROOT).map((file) => {
  const scenario = JSON.parse(readFileSync(file, 'utf8')) as Case['scenario'];
  const base = file.split('/').pop() as string;
  return { file: relative(ROOT, file), id: CASE_ID.exec(base)?.[0] ?? base, scenario };
});

const policies = [...defaultRegistry().policies.keys()];

describe('conformance scenario files', () => {
  it('exist for the hmm-tests and rdma-core suites', () => {
    expect(cases.filter((c) => c.file.startsWith('hmm/')).length).toBeGreaterThanOrEqual(10);
    expect(cases.filter((c) => c.file.startsWith('rdma/')).length).toBeGreaterThanOrEqual(10);
  });

  it.each(cases.map((c) => [c.file, c] as const))('%s: named with its case ID, described, and states its violations', (_f, c) => {
    expect(c.id).toMatch(CASE_ID);
    expect(c.scenario.name.startsWith(`${c.id} `)).toBe(true);
    expect(c.scenario.description ?? '').not.toBe('');
    expect(c.scenario.expect).toBeDefined();
    expect(Array.isArray(c.scenario.expect?.['violations'])).toBe(true);
    for (const [p, e] of Object.entries(c.scenario.expectByPolicy ?? {})) {
      if ('skip' in e) continue;
      expect(Array.isArray(e['violations']), `expectByPolicy.${p}.violations`).toBe(true);
    }
  });
});

for (const c of cases) {
  describe(c.scenario.name, () => {
    const eras = Object.keys(c.scenario.expectByPolicy ?? {}).filter((p) => /^linux-\d+\.\d+$/.test(p) && !policies.includes(p));
    for (const policy of [...policies, ...eras]) {
      const skip = c.scenario.expectByPolicy?.[policy];
      if (skip && 'skip' in skip) {
        // Not expressible in this era: the run must say so with the scenario's reason, never run it.
        it(`${c.id} [${policy}] is reported skipped: ${String(skip['skip'])}`, () => {
          const r = runScenario(c.scenario, { policy });
          expect(r.outcome).toBe('skip');
          expect(r.skipped).toBe(skip['skip']);
          expect(r.violations).toEqual([]);
        });
        continue;
      }
      it(`${c.id} [${policy}] meets its expectations (${c.file})`, () => {
        const r = runScenario(c.scenario, { policy });
        expect(r.error).toBeUndefined();
        expect(r.expectations.failures).toEqual([]);
        expect(r.expectations.met).toBe(true);
        expect(['pass', 'violations']).toContain(r.outcome);
        // `violations` is an exact set: a run with none passes, a run with some says so.
        expect(r.outcome).toBe(r.violations.length ? 'violations' : 'pass');
      });
    }
  });
}
