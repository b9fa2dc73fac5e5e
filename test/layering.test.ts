/**
 * STYLE.md §1's layer table and house rule 4, checked on every src/**.ts: imports point to lower
 * layers, siblings stay closed, invariants import types only, and nothing nondeterministic or
 * node-specific reaches the model outside the I/O allowlist. Every offence is printed as file:line.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, posix } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..');
const files = (readdirSync(join(ROOT, 'src'), { recursive: true }) as string[])
  .filter((f) => f.endsWith('.ts')).map((f) => posix.join('src', f.split('\\').join('/'))).sort();
const LEVEL: Record<string, number> = { engine: 0, mm: 1, policy: 2, devices: 2, invariants: 2, scenario: 3, explore: 4, report: 4, cli: 5, 'index.ts': 6, 'vitest.ts': 6 };
const group = (f: string) => f.split('/')[1] ?? '?';
const IO_ALLOWED = (f: string) => f.startsWith('src/cli/') || f === 'src/scenario/load.ts' || f === 'src/explore/workers.ts';
const BANNED_IDS = new Set(['Date', 'performance', 'setTimeout', 'setInterval', 'setImmediate', 'queueMicrotask', 'Promise']);

/** Why @from may not import @to (both src-relative paths), or null. */
function layerOffence(from: string, to: string, typeOnly: boolean): string | null {
  const gf = group(from), gt = group(to);
  if (!(gt in LEVEL)) return `imports ${to}, which is in no layer`;
  const lf = LEVEL[gf] as number, lt = LEVEL[gt] as number;
  if (lt > lf) return `${gf} (L${lf}) imports ${gt} (L${lt}), a higher layer`;
  const typeRule = (ok: boolean, what: string) => (ok ? null : `${gf} may only \`import type\` from ${what}`);
  if (gf === 'invariants') {
    if (gt === 'invariants') return /^src\/invariants\/checker\.ts$/.test(to) ? null : 'an invariant imports another invariant (only ./checker.js is shared)';
    if (gt === 'policy') return 'invariants never import policies';
    return typeRule(typeOnly, gt);
  }
  if ((gf === 'policy' && gt === 'devices') || (gf === 'devices' && gt === 'policy')) return 'devices and policies never import each other';
  if ((gf === 'policy' || gf === 'devices') && gt === 'invariants') return `${gf} never imports invariants`;
  if (gf === 'devices' && gt === 'devices' && to !== 'src/devices/device.ts' && dirname(from) !== dirname(to)) return 'a device folder imports another device folder';
  if (gf === 'explore' || gf === 'report') {
    if (gt === 'invariants') return typeRule(typeOnly, 'invariants');
    if (gt === 'policy' || gt === 'devices') return `${gf} reaches ${gt} only through scenario's registry`;
    if (gf === 'report' && gt === 'explore') return typeRule(typeOnly, 'explore');
    if (gf === 'explore' && gt === 'report') return 'explore never imports report';
  }
  return null;
}

/** scan() - the layer and rule-4 offences of one source file, each as `file:line: why`. */
function scan(file: string, text: string): { layer: string[]; io: string[]; specifiers: number } {
  const layer: string[] = [], io: string[] = [];
  let specifiers = 0;
  const src = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const at = (n: ts.Node) => `${file}:${src.getLineAndCharacterOfPosition(n.getStart(src)).line + 1}`;
  const spec = (n: ts.Node, s: string, typeOnly: boolean) => {
    specifiers++;
    if (s.startsWith('.')) {
      const why = layerOffence(file, posix.normalize(posix.join(posix.dirname(file), s)).replace(/\.js$/, '.ts'), typeOnly);
      if (why) layer.push(`${at(n)}: '${s}': ${why}`);
      if (!s.endsWith('.js')) layer.push(`${at(n)}: '${s}': relative imports end in .js (ESM)`);
    } else if ((s.startsWith('node:') || builtinModules.includes(s)) && !IO_ALLOWED(file)) io.push(`${at(n)}: imports node built-in '${s}'`);
  };
  const visit = (n: ts.Node): void => {
    if (ts.isImportDeclaration(n) && ts.isStringLiteral(n.moduleSpecifier)) spec(n, n.moduleSpecifier.text, n.importClause?.isTypeOnly ?? false);
    else if (ts.isExportDeclaration(n) && n.moduleSpecifier && ts.isStringLiteral(n.moduleSpecifier)) spec(n, n.moduleSpecifier.text, n.isTypeOnly);
    else if (ts.isCallExpression(n) && n.expression.kind === ts.SyntaxKind.ImportKeyword && n.arguments[0] && ts.isStringLiteral(n.arguments[0])) spec(n, n.arguments[0].text, false);
    if (!IO_ALLOWED(file)) {
      const p = n.parent;
      const isName = p && (ts.isPropertyAccessExpression(p) || ts.isPropertyAssignment(p) || ts.isPropertySignature(p) || ts.isPropertyDeclaration(p) || ts.isMethodDeclaration(p)) && p.name === n;
      if (ts.isIdentifier(n) && BANNED_IDS.has(n.text) && !isName) io.push(`${at(n)}: uses ${n.text} (STYLE rule 4)`);
      if (ts.isPropertyAccessExpression(n) && ts.isIdentifier(n.expression) && (n.getText(src) === 'Math.random' || ['process', 'console'].includes(n.expression.text)))
        io.push(`${at(n)}: uses ${n.getText(src)} (STYLE rule 4 / node built-ins)`);
      if (n.kind === ts.SyntaxKind.AsyncKeyword || ts.isAwaitExpression(n)) io.push(`${at(n)}: async/await outside the I/O allowlist (actors are generators)`);
    }
    ts.forEachChild(n, visit);
  };
  visit(src);
  if (file === 'src/index.ts' && /^\s*export\s*\*/m.test(text)) layer.push(`${file}: index.ts re-exports an explicit list, never \`export *\``);
  return { layer, io, specifiers };
}

const scans = files.map((f) => scan(f, readFileSync(join(ROOT, f), 'utf8')));

describe('layering (STYLE.md §1)', () => {
  it('finds the source tree, and every file sits in a known layer', () => {
    expect(files.length).toBeGreaterThan(20);
    expect(files.filter((f) => !(group(f) in LEVEL))).toEqual([]);
    expect(scans.reduce((n, s) => n + s.specifiers, 0)).toBeGreaterThan(100);
  });
  it('every import points to its own layer or a lower one, with siblings closed and invariants type-only', () => {
    expect(scans.flatMap((s) => s.layer)).toEqual([]);
  });
  it('node built-ins, clocks, timers, Math.random and async stay in cli/, scenario/load.ts and explore/workers.ts', () => {
    expect(scans.flatMap((s) => s.io)).toEqual([]);
  });
  it('the checker itself catches a higher-layer import, a value import into an invariant and a cross-device import', () => {
    expect(layerOffence('src/mm/gup.ts', 'src/scenario/run.ts', false)).toMatch(/higher layer/);
    expect(layerOffence('src/invariants/lost-write.ts', 'src/mm/kernel.ts', false)).toMatch(/import type/);
    expect(layerOffence('src/invariants/lost-write.ts', 'src/mm/kernel.ts', true)).toBeNull();
    expect(layerOffence('src/devices/odp-nic/odp-nic.ts', 'src/devices/gup-nic/gup-nic.ts', false)).toMatch(/another device/);
    expect(layerOffence('src/devices/odp-nic/odp-nic.ts', 'src/devices/device.ts', false)).toBeNull();
    expect(layerOffence('src/policy/block-truncate.ts', 'src/policy/linux-4.20.ts', false)).toBeNull();
    expect(layerOffence('src/policy/linux-6.12.ts', 'src/devices/device.ts', true)).toMatch(/never import each other/);
    expect(layerOffence('src/report/text.ts', 'src/explore/verdict.ts', false)).toMatch(/import type/);
  });
  it('the scanner reports banned imports and nondeterminism with file:line, and spares the I/O allowlist', () => {
    const bad = "import { x } from '../scenario/run.js';\nimport fs from 'node:fs';\nconst t = Date.now() + Math.random();\nasync function f() { await g(); }\n";
    const r = scan('src/mm/bad.ts', bad);
    expect(r.layer).toEqual([expect.stringMatching(/^src\/mm\/bad\.ts:1: .*higher layer/)]);
    expect(r.io.map((l) => l.split(':')[1])).toEqual(['2', '3', '3', '4', '4']);
    expect(scan('src/scenario/load.ts', bad.split('\n').slice(1).join('\n')).io).toEqual([]);
  });
});
