/**
 * The friction a new user met in their first hour, each fixed and kept fixed: replay with run's
 * outputs, `check <dir>` skipping what is not a scenario and saying so, units refused with a space,
 * the report on stderr when the trace takes stdout, `pinsim help <command>`, one line per named
 * op, a unit on the trace's time column, `list` within 100 columns, and --check-determinism's exit.
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, ensureBuilt, pinsim } from '../helpers/dist.js';

const TRUNCATE = join(ROOT, 'examples', 'gup-nic-truncate.json');
const BUG = join(ROOT, 'examples', 'explore', 'gpu-fault-vs-munmap-skip-read-retry.json');
let tmp = '';

/** Lines longer than @width code points (not bytes: `µ` is one column). */
const over = (text: string, width = 100) => text.split('\n').filter((l) => [...l].length > width);

beforeAll(() => {
  ensureBuilt();
  tmp = mkdtempSync(join(tmpdir(), 'pinsim-friction-'));
}, 180_000);

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('pinsim replay takes run\'s outputs', () => {
  let saved = '';
  beforeAll(() => {
    const dir = join(tmp, 'ce');
    pinsim('explore', BUG, '--save', dir);
    saved = join(dir, 'gpu-fault-vs-munmap-skip-read-retry.dma-into-reused-page.replay.json');
  });

  it('--trace chrome --out FILE writes a Perfetto trace of the counterexample, exit 0', () => {
    const out = join(tmp, 'ce.chrome.json');
    const r = pinsim('replay', saved, '--trace', 'chrome', '--out', out);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/replay reproduced traceHash [0-9a-f]{16}/);
    const doc = JSON.parse(readFileSync(out, 'utf8')) as { traceEvents: unknown[]; metadata: Record<string, unknown> };
    expect(doc.traceEvents.length).toBeGreaterThan(10);
    expect(r.stdout).toContain(`traceHash ${String(doc.metadata['traceHash'])}`);
  });

  it('--json prints the result on stdout and the verdict on stderr', () => {
    const r = pinsim('replay', saved, '--json');
    expect(r.status).toBe(0);
    expect((JSON.parse(r.stdout) as { violations: { kind: string }[] }).violations.map((v) => v.kind)).toContain('dma-into-reused-page');
    expect(r.stderr).toMatch(/replay reproduced/);
  });

  it('--trace text without --out: the trace on stdout, the report on stderr; --json --trace needs --out', () => {
    const r = pinsim('replay', saved, '--trace', 'text');
    expect(r.status).toBe(0);
    expect(r.stdout.split('\n')[0]).toMatch(/^\d+\.\d{3}µs \S+ [a-z_]+:/);
    expect(r.stderr).toMatch(/dma-into-reused-page/);
    expect(pinsim('replay', saved, '--json', '--trace', 'text').status).toBe(2);
  });
});

describe('pinsim check <dir>', () => {
  it('skips package.json, package-lock.json and tsconfig.json (no top-level actors), naming them, and checks the scenario', () => {
    const dir = join(tmp, 'project');
    mkdirSync(dir);
    cpSync(TRUNCATE, join(dir, 'gup-nic-truncate.json'));
    for (const f of ['package.json', 'package-lock.json', 'tsconfig.json']) cpSync(join(ROOT, f), join(dir, f));
    writeFileSync(join(dir, 'tsconfig.json'), '{\n  // a comment, as tsconfig allows\n  "compilerOptions": {}\n}\n');
    const r = pinsim('check', dir, '--policy', 'linux-6.12');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^1 passed, 0 failed, 0 skipped$/m);
    expect(r.stdout).not.toMatch(/INVALID/);
    expect(r.stderr).toMatch(/skipped in .*project\/: package-lock\.json, package\.json, tsconfig\.json \(JSON without a top-level "actors"\)/);
  });

  it('still reports a broken scenario file rather than passing it over', () => {
    const dir = join(tmp, 'broken');
    mkdirSync(dir);
    writeFileSync(join(dir, 'half.json'), '{ "name": "half", "actors": { "app": [ ');
    const r = pinsim('check', dir);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/half\.json/);
  });

  it('says why it skips examples/custom-device/ (its modules are not *.scenario.* files; see its README)', () => {
    const r = pinsim('check', join(ROOT, 'examples'), '--policy', 'linux-6.12');
    expect(r.stderr).toMatch(/skipped examples\/custom-device\/: no scenario in it: .*\.mjs.* \(modules are loaded only when named \*\.scenario\.\{ts,js,mjs\}\); see its README\.md/);
  });
});

describe('units and outputs', () => {
  it('"16 K" and "10 us" are bad input (exit 2), with the JSON path', () => {
    const s = JSON.parse(readFileSync(TRUNCATE, 'utf8')) as { actors: { app: Record<string, unknown>[] } };
    s.actors.app[0]!['length'] = '16 K';
    s.actors.app[2]!['at'] = '10 us';
    const file = join(tmp, 'spaced.json');
    writeFileSync(file, JSON.stringify(s));
    const r = pinsim('run', file);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/actors\.app\[0\]\.length/);
    expect(r.stderr).toMatch(/actors\.app\[2\]\.at/);
    expect(r.stderr).toMatch(/no space before the unit/);
  });

  it('run --trace text|json without --out: the trace alone on stdout, the text report on stderr', () => {
    for (const trace of ['text', 'json', 'chrome']) {
      const r = pinsim('run', TRUNCATE, '--policy', 'linux-4.20', '--trace', trace);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/^outcome {3}violations \(lost-write\)$/m);
      expect(r.stdout).not.toMatch(/^outcome/m);
      if (trace !== 'text') expect(() => JSON.parse(r.stdout) as unknown).not.toThrow();
    }
  });

  it('the text trace gives its time column a unit', () => {
    const out = join(tmp, 't.txt');
    pinsim('run', TRUNCATE, '--trace', 'text', '--out', out);
    for (const l of readFileSync(out, 'utf8').trim().split('\n')) expect(l).toMatch(/^\d+\.\d{3}µs \S+ [a-z_]+:/);
  });

  it('the text report lists every named op once, with its name', () => {
    const r = pinsim('run', TRUNCATE, '--policy', 'linux-4.20');
    const results = r.stdout.slice(r.stdout.indexOf('results:'), r.stdout.indexOf('stats'));
    expect(results.trim().split('\n').slice(1).map((l) => l.trim())).toEqual([
      'app.0 (buf) = ok', 'app.1 (mr) = ok', 'app.2 (w1) = ok', 'admin.0 = ok', 'app.3 (w2) = ok', 'app.4 = ok',
    ]);
  });

  it('--check-determinism exits as its message says: 0 for deterministic, even when the run has a violation', () => {
    const r = pinsim('run', TRUNCATE, '--policy', 'linux-4.20', '--check-determinism');
    expect(r.stdout).toMatch(/^deterministic: /);
    expect(r.status).toBe(0);
  });
});

describe('help and list', () => {
  it('pinsim help run prints run\'s help, as run --help does; an unknown command gets a did-you-mean (exit 2)', () => {
    const help = pinsim('help', 'run');
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^usage: pinsim run <scenario> \[flags\]/);
    expect(help.stdout).toBe(pinsim('run', '--help').stdout);
    const bad = pinsim('help', 'rnu');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/did you mean run\?/);
  });

  it('list, the help and every command\'s help fit 100 columns', () => {
    expect(over(pinsim('list').stdout)).toEqual([]);
    expect(over(pinsim('--help').stdout)).toEqual([]);
    for (const c of ['run', 'check', 'compare', 'explore', 'replay', 'merge', 'list']) expect(over(pinsim('help', c).stdout)).toEqual([]);
  });
});
