import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { collectScenarioFiles, jsonErrorPosition, loadScenarioInput } from '../../../src/scenario/format/load.js';
import { ScenarioError } from '../../../src/scenario/format/types.js';

let dir = '';

function put(rel: string, text: string): string {
  const p = join(dir, rel);
  mkdirSync(join(p, '..'), { recursive: true });
  writeFileSync(p, text);
  return p;
}

/** The ScenarioError thrown by `f` (sync or async); fails the test when nothing or something else is thrown. */
async function scenarioError(f: () => unknown): Promise<ScenarioError> {
  try {
    await f();
  } catch (e) {
    expect(e).toBeInstanceOf(ScenarioError);
    return e as ScenarioError;
  }
  throw new Error('expected a ScenarioError');
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'pinsim-load-'));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('collectScenarioFiles', () => {
  it('recurses a directory in sorted order, picking *.json with a top-level actors and *.scenario.{ts,js,mjs} only', () => {
    const root = join(dir, 'tree');
    for (const f of ['b.json', 'a.json', 'notes.txt', 'helper.mjs', 'sub/c.scenario.mjs', 'sub/d.scenario.ts', 'sub/e.scenario.js',
      'node_modules/x.json', '.git/y.json']) put(join('tree', f), '{ "actors": {} }');
    put('tree/package.json', '{ "name": "p" }');
    put('tree/tsconfig.json', '{ // comments\n }');
    put('tree/broken.json', '{ "actors": { ');
    const skipped: string[] = [];
    expect(collectScenarioFiles([root], (f, why) => skipped.push(`${f.slice(root.length + 1)}: ${why}`))).toEqual(
      ['a.json', 'b.json', 'broken.json', 'sub/c.scenario.mjs', 'sub/d.scenario.ts', 'sub/e.scenario.js'].map((f) => join(root, f)));
    expect(skipped).toEqual([
      'helper.mjs: not-a-scenario-module', 'notes.txt: not-a-scenario-file', 'package.json: json-without-actors', 'tsconfig.json: json-without-actors',
    ]);
  });

  it('takes a named file as is, and lists a file once', () => {
    const txt = put('named/notes.txt', 'x');
    const json = put('named/s.json', '{}');
    expect(collectScenarioFiles([txt, json, join(dir, 'named')])).toEqual([txt, json]);
  });

  it('throws missing-file naming the path that does not exist', async () => {
    const missing = join(dir, 'nope.json');
    const e = await scenarioError(() => collectScenarioFiles([missing]));
    expect(e.issues[0]?.code).toBe('missing-file');
    expect(e.file).toBe(missing);
    expect(e.message).toContain(missing);
  });
});

describe('loadScenarioInput: JSON', () => {
  it('parses a .json scenario without validating it', async () => {
    const f = put('ok.json', '{ "name": "x", "actors": { "a": [] }, "extra": 1 }');
    expect(await loadScenarioInput(f, {})).toEqual({ name: 'x', actors: { a: [] }, extra: 1 });
  });

  it('reports a syntax error as bad-json with its line and column', async () => {
    const f = put('bad.json', '{\n  "name": "x",\n}\n');
    const e = await scenarioError(() => loadScenarioInput(f, {}));
    expect(e.issues).toHaveLength(1);
    expect(e.issues[0]).toMatchObject({ code: 'bad-json', path: 'line 3 column 1' });
    expect(e.file).toBe(f);
    expect(e.message.startsWith(`${f}: line 3 column 1: `)).toBe(true);
  });

  it('puts an unexpected end of input at the end of the text', () => {
    expect(jsonErrorPosition('Unexpected end of JSON input', '{\n "a": [1,')).toEqual({ line: 2, column: 10 });
    expect(jsonErrorPosition('Expected x in JSON at position 9 (line 2 column 4)', 'ignored')).toEqual({ line: 2, column: 4 });
  });

  it('reports a missing .json file as missing-file', async () => {
    const e = await scenarioError(() => loadScenarioInput(join(dir, 'gone.json'), {}));
    expect(e.issues[0]?.code).toBe('missing-file');
    expect(e.file).toBe(join(dir, 'gone.json'));
  });
});

describe('loadScenarioInput: modules', () => {
  it('uses the default export of a .mjs module', async () => {
    const f = put('obj.scenario.mjs', 'export default { name: "m", actors: {} };\n');
    expect(await loadScenarioInput(f, {})).toEqual({ name: 'm', actors: {} });
  });

  it('calls a default-exported function with { policy, seed, params }, awaiting it', async () => {
    const f = put('fn.scenario.js', 'export default async (p) => ({ name: "f", got: p });\n');
    expect(await loadScenarioInput(f, { policy: 'linux-4.20', seed: 3, params: { n: '4' } }))
      .toEqual({ name: 'f', got: { policy: 'linux-4.20', seed: 3, params: { n: '4' } } });
    const g = put('fn2.scenario.mjs', 'export default (p) => ({ name: "g", got: p });\n');
    expect(await loadScenarioInput(g, {})).toEqual({ name: 'g', got: { params: {} } });
  });

  it('reports an exception thrown at import as module-threw with the user file:line', async () => {
    const f = put('top.scenario.mjs', 'const x = 1;\nthrow new Error("boom at import");\nexport default {};\n');
    const e = await scenarioError(() => loadScenarioInput(f, {}));
    expect(e.issues[0]).toMatchObject({ code: 'module-threw', path: 'line 2 column 7' });
    expect(e.issues[0]?.message).toContain('boom at import');
    expect(e.issues[0]?.message).toContain(`${f}:2`);
    expect(e.file).toBe(f);
    expect(e.message).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('reports an exception thrown by the default-exported function with its line', async () => {
    const f = put('throws.scenario.mjs', 'export default function () {\n  if (true) {\n    throw new RangeError("bad param n");\n  }\n}\n');
    const e = await scenarioError(() => loadScenarioInput(f, { params: { n: 'x' } }));
    expect(e.issues[0]).toMatchObject({ code: 'module-threw', path: 'line 3 column 11' });
    expect(e.issues[0]?.message).toContain('RangeError: bad param n');
  });

  it('reports a syntax error in a module as module-threw', async () => {
    const f = put('syntax.scenario.mjs', 'export default {\n  name: "x",,\n};\n');
    const e = await scenarioError(() => loadScenarioInput(f, {}));
    expect(e.issues[0]?.code).toBe('module-threw');
    // Plain node reports a SyntaxError (located by `node --check`); under vitest, vite's parser reports it.
    expect(e.issues[0]?.path).toMatch(/^line 2\b/);
    expect(e.issues[0]?.message).toContain(`${f}:2`);
  });

  it('reports a module without a default export', async () => {
    const f = put('named.scenario.mjs', 'export const s = { name: "x" };\n');
    const e = await scenarioError(() => loadScenarioInput(f, {}));
    expect(e.issues[0]?.code).toBe('no-default-export');
    expect(e.file).toBe(f);
  });

  it('loads .ts through the ts-hook load hook and the typescript peer (issue 9)', async () => {
    const f = put('t.scenario.ts', 'const name: string = "x";\nexport default { name };\n');
    expect(await loadScenarioInput(f, {})).toEqual({ name: 'x' });
  });

  it('refuses other extensions', async () => {
    const e = await scenarioError(() => loadScenarioInput(put('s.yaml', 'name: x'), {}));
    expect(e.issues[0]?.code).toBe('unsupported-file');
  });
});
