/**
 * `pinsim check --format ktap` (DESIGN §8): KTAP version 1 as kernel CI parses it
 * (Documentation/dev-tools/ktap.rst): version line, plan, one result line per scenario × policy,
 * diagnostics as `# ` lines before their result, SKIP as `ok … # SKIP reason`, and the exit status
 * of check.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt } from '../helpers/dist.js';
import { KtapWriter, ktapDescription } from '../../src/cli/ktap.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MAIN = join(ROOT, 'dist/cli/main.js');
const EXAMPLE = join(ROOT, 'examples/gup-nic-truncate.json');
let tmp = '';

function check(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [MAIN, 'check', ...args, '--format', 'ktap'], { cwd: ROOT, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function variant(name: string, edit: (s: Record<string, unknown>) => void): string {
  const s = JSON.parse(readFileSync(EXAMPLE, 'utf8')) as Record<string, unknown>;
  edit(s);
  const file = join(tmp, name);
  writeFileSync(file, JSON.stringify(s));
  return file;
}

beforeAll(() => {
  ensureBuilt();
  tmp = mkdtempSync(join(tmpdir(), 'pinsim-ktap-'));
}, 180_000);

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('KtapWriter', () => {
  it('writes the version, the plan, diagnostics before their result, SKIP and ERROR directives, and totals', () => {
    const lines: string[] = [];
    const w = new KtapWriter((l) => lines.push(l));
    w.begin(4);
    w.result('pass', 'a [linux-6.12]');
    w.result('fail', 'b [linux-4.20]', ['violations: expected [], got [lost-write]\nsecond line']);
    w.result('skip', 'c [revoke]', [], 'revoke does not apply');
    w.result('error', 'd # e', ['[pinsim internal bug] boom\n    at x'], '[pinsim internal bug] boom');
    w.end();
    expect(lines).toEqual([
      'KTAP version 1',
      '1..4',
      'ok 1 a [linux-6.12]',
      '# violations: expected [], got [lost-write]',
      '# second line',
      'not ok 2 b [linux-4.20]',
      'ok 3 c [revoke] # SKIP revoke does not apply',
      '# [pinsim internal bug] boom',
      '#     at x',
      'not ok 4 d  e # ERROR [pinsim internal bug] boom',
      '# Totals: pass:1 fail:1 xfail:0 xpass:0 skip:1 error:1',
    ]);
  });

  it('a description never carries "#" or a line break', () => {
    expect(ktapDescription('x # y\nz')).toBe('x  y z');
  });
});

describe('pinsim check --format ktap', () => {
  it('every policy of a passing scenario is "ok N", exit 0', () => {
    const r = check(EXAMPLE, '--policy', 'linux-4.20,linux-6.12');
    expect(r.status).toBe(0);
    expect(r.stdout).toBe([
      'KTAP version 1', '1..2', 'ok 1 gup-nic-truncate [linux-4.20]', 'ok 2 gup-nic-truncate [linux-6.12]',
      '# Totals: pass:2 fail:0 xfail:0 xpass:0 skip:0 error:0', '',
    ].join('\n'));
  });

  it('an unmet expectation is "not ok" after its "# " diagnostics; a skip is "ok … # SKIP reason"; exit 1', () => {
    const file = variant('mixed.json', (s) => {
      s['expectByPolicy'] = { 'linux-6.12': { violations: ['lost-write'] }, revoke: { skip: 'not this one' } };
    });
    const r = check(file, '--policy', 'linux-6.12,revoke');
    expect(r.status).toBe(1);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines.slice(0, 2)).toEqual(['KTAP version 1', '1..2']);
    const notOk = lines.indexOf('not ok 1 gup-nic-truncate [linux-6.12]');
    expect(notOk).toBeGreaterThan(2);
    expect(lines[notOk - 1]).toMatch(/^# violations: expected \[lost-write\], got \[\]/);
    expect(lines).toContain('ok 2 gup-nic-truncate [revoke] # SKIP not this one');
    expect(lines.at(-1)).toBe('# Totals: pass:0 fail:1 xfail:0 xpass:0 skip:1 error:0');
  });

  it('a bad input keeps the plan: one "not ok … # ERROR" per policy, the issues as diagnostics and on stderr, exit 2', () => {
    const bad = variant('bad.json', (s) => { s['kernel'] = { policy: 'linux-6.21' }; });
    const r = check(EXAMPLE, bad, '--policy', 'linux-4.20,revoke');
    expect(r.status).toBe(2);
    expect(r.stdout).toMatch(/^KTAP version 1\n1\.\.4\nok 1 .*\nok 2 .*\n/);
    expect(r.stdout).toMatch(/^# .*bad\.json: kernel\.policy: unknown policy "linux-6\.21"/m);
    expect(r.stdout).toMatch(/^not ok 3 .*bad\.json \[linux-4\.20\] # ERROR invalid input$/m);
    expect(r.stdout).toMatch(/^not ok 4 .*bad\.json \[revoke\] # ERROR invalid input$/m);
    expect(r.stderr).toContain('kernel.policy');
  });

  it('--format ktap with --json is a usage error, exit 2', () => {
    const r = check(EXAMPLE, '--json');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--json and --format ktap/);
  });
});
