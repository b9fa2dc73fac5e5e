/**
 * `pinsim run --trace chrome` and `pinsim run --check-determinism` as users run them: the built
 * dist/cli/main.js spawned on examples. The Chrome trace file has traceEvents, a thread_name per
 * actor, X slices for the DMA windows and s/f flows for invalidations; the determinism check says
 * "deterministic: N events, traceHash X" and exits as the run would.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromeShapeProblems, threadNames, type RawEvent } from '../report/chrome-shape.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MAIN = join(ROOT, 'dist/cli/main.js');
let tmp = '';

function pinsim(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [MAIN, ...args], { cwd: ROOT, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

interface Doc { traceEvents: RawEvent[]; displayTimeUnit: string; metadata: Record<string, unknown> }

beforeAll(() => {
  // Other files may not type-check mid-edit; tsc still emits, and main.js is what we need.
  spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, encoding: 'utf8', shell: process.platform === 'win32' });
  if (!existsSync(MAIN)) throw new Error(`the build did not produce ${MAIN}`);
  tmp = mkdtempSync(join(tmpdir(), 'pinsim-chrome-'));
}, 180_000);

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('pinsim run --trace chrome --out FILE', () => {
  it('writes a Chrome/Perfetto trace of gup-nic-truncate: a track per actor, DMA slices, run metadata', () => {
    const out = join(tmp, 'gup.json');
    const r = pinsim('run', 'examples/gup-nic-truncate.json', '--policy', 'linux-4.20', '--trace', 'chrome', '--out', out);
    expect(r.status).toBe(1); // the lost write
    expect(r.stdout).toContain('lost-write');
    const doc = JSON.parse(readFileSync(out, 'utf8')) as Doc;
    expect(chromeShapeProblems(doc)).toEqual([]);
    expect(Array.isArray(doc.traceEvents)).toBe(true);
    expect(doc.metadata).toMatchObject({ scenario: 'gup-nic-truncate', policy: 'linux-4.20', seed: 1 });
    expect(r.stdout).toContain(`traceHash ${String(doc.metadata['traceHash'])}`);
    const names = [...threadNames(doc).values()];
    for (const a of ['app', 'admin', 'nic0', 'kernel']) expect(names).toContain(a);
    expect(new Set(names).size).toBe(names.length);
    const nic = [...threadNames(doc)].find(([, n]) => n === 'nic0')?.[0];
    const dma = doc.traceEvents.filter((e) => e.ph === 'X' && e.cat === 'dma');
    expect(dma.length).toBe(2);
    for (const e of dma) expect(e.tid).toBe(nic);
    // gup-nic registers no notifier, so nothing acknowledges the truncate's invalidation: no flows.
    expect(doc.traceEvents.some((e) => e.ph === 's' || e.ph === 'f')).toBe(false);
    expect(doc.traceEvents.some((e) => e.ph === 'i' && e.s === 'g' && e.name === 'lost-write')).toBe(true);
  });

  it('draws flows from each invalidation to the ODP NIC acknowledging it', () => {
    const out = join(tmp, 'odp.json');
    const r = pinsim('run', 'examples/odp-nic-truncate.json', '--trace', 'chrome', '--out', out);
    expect(r.status).toBe(0);
    const doc = JSON.parse(readFileSync(out, 'utf8')) as Doc;
    expect(chromeShapeProblems(doc)).toEqual([]);
    const s = doc.traceEvents.filter((e) => e.ph === 's');
    const f = doc.traceEvents.filter((e) => e.ph === 'f');
    expect(s.length).toBeGreaterThan(0);
    expect(f.map((e) => e.id)).toEqual(s.map((e) => e.id));
    expect(doc.traceEvents.some((e) => e.ph === 'X' && e.cat === 'dma')).toBe(true);
  });

  it('without --out writes the trace to stdout and the report to stderr', () => {
    const r = pinsim('run', 'examples/odp-nic-truncate.json', '--trace', 'chrome');
    expect(r.status).toBe(0);
    const doc = JSON.parse(r.stdout) as Doc;
    expect(chromeShapeProblems(doc)).toEqual([]);
    expect(r.stderr).toContain('traceHash');
  });

  it('with --json but without --out is a usage error, exit 2', () => {
    const r = pinsim('run', 'examples/odp-nic-truncate.json', '--trace', 'chrome', '--json');
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--out');
    expect(r.stdout).toBe('');
  });
});

describe('pinsim run --check-determinism', () => {
  it('runs twice and says so: exit 0, the question being determinism, though the run shows a lost write', () => {
    const r = pinsim('run', 'examples/gup-nic-truncate.json', '--policy', 'linux-4.20', '--check-determinism');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^deterministic: \d+ events, traceHash [0-9a-f]{16}\n/);
    expect(r.stdout).toContain('lost-write');
  });

  it('exits 0 on a run without violations, and --json gives the verdict as JSON', () => {
    const r = pinsim('run', 'examples/odp-nic-truncate.json', '--check-determinism', '--json');
    expect(r.status).toBe(0);
    const v = JSON.parse(r.stdout) as { deterministic: boolean; events: number; traceHash: string; outcome: string };
    expect(v.deterministic).toBe(true);
    expect(v.events).toBeGreaterThan(10);
    expect(v.outcome).toBe('pass');
  });
});
