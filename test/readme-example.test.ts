/**
 * The README stays true: every ```ts block of its "Library use" section (test files written against
 * `pinsim` and `pinsim/vitest`) is type-checked under the project's tsconfig and then run here, its
 * `test()`s registered in this file, with `pinsim` standing for src/index.ts and `pinsim/vitest` for
 * src/vitest.ts; and the failure message the section quotes is the one the matcher gives.
 */
import { join } from 'node:path';
import ts from 'typescript';
import * as vitest from 'vitest';
import { describe, expect, it } from 'vitest';
import * as pinsim from '../src/index.js';
import * as pinsimVitest from '../src/vitest.js';
import { README, blocks, evalBlock, section } from './helpers/readme.js';

const ROOT = join(import.meta.dirname, '..');

const LIBRARY_USE = section(README, 'Library use');
const TS_BLOCKS = blocks(LIBRARY_USE, 'ts');

const PARSED = new Map<string, ts.SourceFile>();

/**
 * Type-check @codes as test files test/readme-block-<i>.ts of one program under the project's
 * tsconfig, with `pinsim` mapped to src. Return: the diagnostics, each as `README block <i>:<line>: …`.
 */
function typeErrors(codes: readonly string[]): string[] {
  const cfg = ts.getParsedCommandLineOfConfigFile(join(ROOT, 'tsconfig.json'), {}, {
    ...ts.sys, onUnRecoverableConfigFileDiagnostic: (d) => { throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n')); },
  });
  if (!cfg) throw new Error('tsconfig.json did not parse');
  const options: ts.CompilerOptions = {
    ...cfg.options, noEmit: true, pathsBasePath: ROOT,
    paths: { pinsim: [join(ROOT, 'src', 'index.ts')], 'pinsim/vitest': [join(ROOT, 'src', 'vitest.ts')] },
  };
  const files = new Map(codes.map((code, i) => [join(ROOT, 'test', `readme-block-${i}.ts`), { code, i }]));
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, lang, ...rest) => {
    const f = files.get(name);
    if (f) return ts.createSourceFile(name, f.code, lang, true);
    // Parsed once for every program this file builds (lib.d.ts, vitest's types, src/).
    const cached = PARSED.get(name) ?? getSourceFile(name, lang, ...rest);
    if (cached) PARSED.set(name, cached);
    return cached;
  };
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => files.has(name) || fileExists(name);
  const readFile = host.readFile.bind(host);
  host.readFile = (name) => files.get(name)?.code ?? readFile(name);
  const program = ts.createProgram({ rootNames: [...files.keys()], options, host });
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const f = d.file ? files.get(d.file.fileName) : undefined;
    const where = d.file && d.start !== undefined ? `${f ? `README block ${f.i}` : d.file.fileName}:${d.file.getLineAndCharacterOfPosition(d.start).line + 1}: ` : '';
    return where + ts.flattenDiagnosticMessageText(d.messageText, '\n');
  });
}

/** The head of a block that misuses the matchers. */
const RUN = "import { expect } from 'vitest';\nimport { runScenario } from 'pinsim';\nconst r = runScenario({});\n";

const MODULES = { vitest, pinsim, 'pinsim/vitest': pinsimVitest };

describe('README "Library use"', () => {
  it('has TypeScript examples that import pinsim and use the matchers', () => {
    expect(TS_BLOCKS.length).toBeGreaterThanOrEqual(2);
    expect(TS_BLOCKS[0]).toContain("from 'pinsim'");
    expect(TS_BLOCKS[0]).toContain("import 'pinsim/vitest'");
    expect(TS_BLOCKS.join('\n')).toMatch(/toHaveViolation\(/);
    expect(TS_BLOCKS.join('\n')).toMatch(/createRegistry\(/);
  });

  it('type-check under the project tsconfig, where a wrong matcher argument would not', () => {
    // One program: the README's blocks, and a block that misuses the matchers (its errors only).
    const bad = TS_BLOCKS.length;
    const errors = typeErrors([...TS_BLOCKS, `${RUN}import 'pinsim/vitest';\nexpect(r).toHaveViolation(42);\nexpect(r).toHaveNoViolations('x');\n`]);
    expect(errors.filter((e) => !e.startsWith(`README block ${bad}:`))).toEqual([]);
    expect(errors).toHaveLength(2);
    expect(errors[0]).toMatch(new RegExp(`^README block ${bad}:5: Argument of type 'number'`));
  }, 120_000);

  it('would not type-check a matcher used without importing pinsim/vitest', () => {
    expect(typeErrors([`${RUN}expect(r).toHaveViolation('lost-write');\n`]).join('\n')).toMatch(/README block 0:4: Property 'toHaveViolation' does not exist/);
  }, 120_000);

  it('quotes the failure message toHaveNoViolations() gives under linux-4.20', () => {
    const quoted = blocks(LIBRARY_USE, 'text')[0];
    expect(quoted).toBeDefined();
    // The first example's scenario `s`, run as the sentence before the quote says (its tests not registered).
    const { s } = evalBlock(TS_BLOCKS[0] as string, { ...MODULES, vitest: { ...vitest, test: () => {} } }, 'module.exports.s = s;');
    const r = pinsim.runScenario(s, { policy: 'linux-4.20' });
    let message = '';
    try {
      expect(r).toHaveNoViolations();
    } catch (e) {
      message = (e as Error).message;
    }
    expect(`${message}\n`).toBe(quoted);
  });
});

TS_BLOCKS.forEach((code, i) => {
  describe(`README example ${i}`, () => {
    evalBlock(code, MODULES);
  });
});
