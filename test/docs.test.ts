/**
 * The documentation that ships stays true: nothing in the package points at documents outside it,
 * every invariant kind has its rule and an example that fires it (run here), the manual names every
 * policy, device model and knob this build has, and the README's exploration figures are what
 * pinsim prints.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { exploreValidated } from '../src/explore/explore.js';
import { formatRunText } from '../src/report/text.js';
import { defaultRegistry, INVARIANT_KINDS } from '../src/scenario/registry.js';
import { runScenario } from '../src/scenario/run/run.js';
import { validateOrThrow } from '../src/scenario/format/validate.js';
import { MAIN, ROOT, ensureBuilt } from './helpers/dist.js';
import { README, blocks, section } from './helpers/readme.js';

const doc = (f: string) => readFileSync(join(ROOT, 'docs', f), 'utf8');
const MANUAL = doc('manual.md');
const INVARIANTS = doc('invariants.md');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : [p];
  });
}

beforeAll(() => {
  ensureBuilt();
}, 180_000);

describe('what ships refers to nothing outside the package', () => {
  it('no file of README.md, docs/, dist/, src/ or examples/ names the contract documents or their sections', () => {
    const shipped = ['README.md', ...['docs', 'dist', 'src', 'examples'].flatMap((d) => files(join(ROOT, d)))];
    const offending = shipped.filter((f) => /DESIGN|kernel-semantics|§/.test(readFileSync(f.startsWith('/') ? f : join(ROOT, f), 'utf8')));
    expect(offending.map((f) => relative(ROOT, f.startsWith('/') ? f : join(ROOT, f)))).toEqual([]);
  });

  it('the checker fires where a reference is planted', () => {
    expect(/DESIGN|kernel-semantics|§/.test('see DESIGN §7')).toBe(true);
  });
});

describe('docs/invariants.md', () => {
  const rules = new Map([...INVARIANTS.matchAll(/^\| `([a-z-]+)` \| (?!`)(.+) \|$/gm)].map((m) => [m[1] as string, m[2] as string]));
  const examples = [...INVARIANTS.matchAll(/^\| `([a-z-]+)` \| `([^`]+)` \| `([^`]+)` \|/gm)].map((m) => ({ kind: m[1] as string, file: m[2] as string, policy: m[3] as string }));

  it('gives every invariant kind its rule', () => {
    expect([...rules.keys()].sort()).toEqual([...INVARIANT_KINDS].sort());
    for (const [, rule] of rules) expect(rule.length).toBeGreaterThan(20);
  });

  it('names an example for every kind, or says why only a model of your own fires it', () => {
    const covered = new Set(examples.map((e) => e.kind));
    const byPlugin = [...INVARIANTS.matchAll(/^\| `([a-z-]+)` \| \(no built-in model\) \|/gm)].map((m) => m[1] as string);
    expect([...covered, ...byPlugin].sort()).toEqual([...INVARIANT_KINDS].sort());
    for (const k of byPlugin) expect(INVARIANTS).toMatch(new RegExp(`^- \`${k}\`: `, 'm'));
  });

  it.each(examples)('$file under $policy fires $kind', ({ kind, file, policy }) => {
    const r = runScenario(JSON.parse(readFileSync(join(ROOT, file), 'utf8')), { policy });
    expect(r.violations.map((v) => v.kind)).toContain(kind);
  });

  it('its own scenarios meet their expectations under every policy (pinsim check docs/invariants)', () => {
    const r = spawnSync(process.execPath, [MAIN, 'check', join(ROOT, 'docs', 'invariants'), '--policy', 'all'], { cwd: ROOT, encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^\d+ passed, 0 failed/m);
  });
});

describe('docs/manual.md', () => {
  it('names every policy, device model and device knob of this build, and every verdict and bound', () => {
    const reg = defaultRegistry();
    for (const p of reg.policies.keys()) expect(MANUAL).toContain(`\`${p}\``);
    for (const [name, m] of reg.devices) {
      expect(MANUAL).toContain(`\`${name}\``);
      for (const knob of Object.keys(m.params)) expect(MANUAL, `${name}.${knob}`).toContain(`\`${knob}\``);
    }
    for (const w of ['Never', 'NotObserved', 'Sometimes', 'Always', 'runs', 'time', 'preemption-bound', 'interrupted', 'finalStates', 'notes', 'lateNs']) {
      expect(MANUAL).toContain(`\`${w}\``);
    }
  });

  it('shows one exploration across machines as a Kubernetes Indexed Job and as a CI matrix, joined by pinsim merge', () => {
    expect(MANUAL).toMatch(/completionMode: Indexed/);
    expect(MANUAL).toMatch(/--shard "\$JOB_COMPLETION_INDEX\/16"/);
    expect(MANUAL).toMatch(/--shard \$\{\{ matrix\.shard \}\}\/8/);
    expect(MANUAL).toMatch(/npx pinsim merge/);
  });

  it('the text report prints a run\'s notes', () => {
    const r = runScenario(JSON.parse(readFileSync(join(ROOT, 'examples', 'gup-nic-truncate.json'), 'utf8')));
    expect(formatRunText({ ...r, notes: ['app.2 started 94.9µs late, behind app.1'] })).toMatch(/^notes:\n {2}- app\.2 started 94\.9µs late, behind app\.1$/m);
    expect(formatRunText(r)).not.toMatch(/^notes:/m);
  });
});

describe('README "Exploring interleavings"', () => {
  const text = section(README, 'Exploring interleavings');
  const file = join(ROOT, 'examples', 'explore', 'gpu-fault-vs-munmap-skip-read-retry.json');

  it('quotes what the first command prints', () => {
    const quoted = blocks(text, 'text')[0];
    const r = spawnSync(process.execPath, [MAIN, 'explore', file], { cwd: ROOT, encoding: 'utf8' });
    expect(quoted).toBeDefined();
    expect(r.stdout).toBe(quoted);
  });

  it('gives the execution counts the reductions print', () => {
    const m = /runs ([\d,]+) executions, sleep sets (\d[\d,]*\d|\d), sleep sets with the cache (\d[\d,]*\d|\d)\b/.exec(text);
    expect(m).not.toBeNull();
    const s = validateOrThrow(JSON.parse(readFileSync(file, 'utf8')));
    const por = exploreValidated(s, { stateCache: false });
    const cached = exploreValidated(s);
    expect([por.executions, cached.executions].map((n) => n.toLocaleString('en-US'))).toEqual([m![2], m![3]]);
    expect(por.exhaustive && cached.exhaustive).toBe(true);
    // The plain search (--no-por --no-state-cache) is too long for the suite; its figure is checked by hand.
    expect(Number(m![1]!.replace(/,/g, ''))).toBeGreaterThan(por.executions);
  });
});
