/**
 * STYLE.md §1's layer table and house rule 4, checked on every src/**.ts (test/helpers/layering.ts),
 * and shown to catch what it claims: each rule fails on a copy of src/ with one offence planted.
 */
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkLayering, layerOffence, LEVEL, scan, type Scan } from './helpers/layering.js';

const ROOT = join(import.meta.dirname, '..');
/** Scans by file text: a copy of src/ is re-read in full, but only what differs is parsed again. */
const cache = new Map<string, Scan>();
const real = checkLayering(ROOT, cache);

describe('layering (STYLE.md §1)', () => {
  it('finds the source tree, and every file sits in a known layer', () => {
    expect(real.files.length).toBeGreaterThan(20);
    expect(real.files.filter((f) => !((f.split('/')[1] ?? '') in LEVEL))).toEqual([]);
    expect(real.specifiers).toBeGreaterThan(100);
  });
  it('every import points to its own layer or a lower one, with siblings closed and invariants type-only', () => {
    expect(real.layer).toEqual([]);
  });
  it('node built-ins, clocks, timers, Math.random and promises stay in cli/, the scenario loaders and explore/workers.ts', () => {
    expect(real.io).toEqual([]);
  });
  it('the checker itself catches a higher-layer import, a value import into an invariant and a cross-device import', () => {
    expect(layerOffence('src/mm/gup.ts', 'src/scenario/run/run.ts', false)).toMatch(/higher layer/);
    expect(layerOffence('src/invariants/lost-write.ts', 'src/mm/kernel.ts', false)).toMatch(/import type/);
    expect(layerOffence('src/invariants/lost-write.ts', 'src/mm/kernel.ts', true)).toBeNull();
    expect(layerOffence('src/devices/odp-nic/odp-nic.ts', 'src/devices/gup-nic/gup-nic.ts', false)).toMatch(/another device/);
    expect(layerOffence('src/devices/odp-nic/odp-nic.ts', 'src/devices/device.ts', false)).toBeNull();
    expect(layerOffence('src/policy/block-truncate.ts', 'src/policy/linux-4.20.ts', false)).toBeNull();
    expect(layerOffence('src/policy/linux-6.12.ts', 'src/devices/device.ts', true)).toMatch(/never import each other/);
    expect(layerOffence('src/report/text.ts', 'src/explore/verdict.ts', false)).toMatch(/import type/);
  });
  it('the scanner reports banned imports and nondeterminism with file:line, and spares the I/O allowlist', () => {
    const bad = "import { x } from '../scenario/run/run.js';\nimport fs from 'node:fs';\nconst t = Date.now() + Math.random();\nasync function f() { await g(); }\n";
    const r = scan('src/mm/bad.ts', bad);
    expect(r.layer).toEqual([expect.stringMatching(/^src\/mm\/bad\.ts:1: .*higher layer/)]);
    expect(r.io.map((l) => l.split(':')[1])).toEqual(['2', '3', '3', '4', '4']);
    expect(scan('src/scenario/format/load.ts', bad.split('\n').slice(1).join('\n')).io).toEqual([]);
  });
});

describe('layering: each rule fails on a copy of src/ with an offence planted', () => {
  const made: string[] = [];
  afterAll(() => {
    for (const d of made) rmSync(d, { recursive: true, force: true });
  });
  /** A copy of src/ with @file (src-relative) written as @text; Return: the check's offences on it. */
  function planted(file: string, text: string): { layer: string[]; io: string[] } {
    const root = mkdtempSync(join(tmpdir(), 'pinsim-layering-'));
    made.push(root);
    cpSync(join(ROOT, 'src'), join(root, 'src'), { recursive: true });
    writeFileSync(join(root, file), text);
    return checkLayering(root, cache);
  }

  it('the model importing the package by name (pinsim, pinsim/vitest) fails', () => {
    const r = planted('src/mm/planted.ts', "import { runScenario } from 'pinsim';\nimport type { Matchers } from 'pinsim/vitest';\nexport const x = [runScenario] as unknown as Matchers;\n");
    expect(r.layer).toEqual([
      expect.stringMatching(/^src\/mm\/planted\.ts:1: imports the package itself \('pinsim'\)/),
      expect.stringMatching(/^src\/mm\/planted\.ts:2: imports the package itself \('pinsim\/vitest'\)/),
    ]);
  });

  it('promise use in the model fails: a .then chain as much as Promise, async and await', () => {
    const r = planted('src/mm/planted.ts', [
      'export function f(g: () => { then(cb: () => void): void }): void {',
      '  g().then(() => undefined);',
      '}',
      'export const p = Promise.resolve(1);',
      'export async function h(): Promise<void> { await p; }',
      '',
    ].join('\n'));
    expect(r.io).toEqual([
      expect.stringMatching(/^src\/mm\/planted\.ts:2: \.then\(\) is promise use/),
      expect.stringMatching(/^src\/mm\/planted\.ts:4: uses Promise/),
      expect.stringMatching(/^src\/mm\/planted\.ts:5: async\/await/),
      expect.stringMatching(/^src\/mm\/planted\.ts:5: uses Promise/),
      expect.stringMatching(/^src\/mm\/planted\.ts:5: async\/await/),
    ]);
    expect(r.layer).toEqual([]);
  });

  it('a proposal importing anything but its era fails: another proposal, a second era; an era importing a policy fails', () => {
    const r = planted('src/policy/planted.ts', "import { revoke } from './revoke.js';\nimport { linux_4_20 } from './linux-4.20.js';\nexport const p = [revoke, linux_4_20];\n");
    expect(r.layer).toEqual([expect.stringMatching(/^src\/policy\/planted\.ts:1: '\.\/revoke\.js': a proposal imports another proposal/)]);
    const two = planted('src/policy/planted.ts', "import { linux_4_20 } from './linux-4.20.js';\nimport { linux_6_12 } from './linux-6.12.js';\nexport const p = [linux_4_20, linux_6_12];\n");
    expect(two.layer).toEqual([expect.stringMatching(/^src\/policy\/planted\.ts:2: '\.\/linux-6\.12\.js': a proposal imports a second era/)]);
    const era = planted('src/policy/linux-9.9.ts', "import { linux_6_12 } from './linux-6.12.js';\nexport const e = linux_6_12;\n");
    expect(era.layer).toEqual([expect.stringMatching(/^src\/policy\/linux-9\.9\.ts:1: .*an era imports another policy/)]);
  });

  it('the unplanted copy is clean (the offences above come from what was planted)', () => {
    const r = planted('src/mm/planted.ts', 'export const x = 1;\n');
    expect([...r.layer, ...r.io]).toEqual([]);
  });
});
