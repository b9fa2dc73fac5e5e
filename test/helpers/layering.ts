/**
 * The layer table of STYLE.md §1 and house rule 4, as a check that runs on any source tree: imports
 * point to lower layers, siblings stay closed (a proposal imports only its era), invariants import
 * types only, nothing imports the package by its own name, and nothing nondeterministic, promise-based
 * or node-specific reaches the model outside the I/O allowlist. Every offence is `file:line: why`.
 * test/layering.test.ts runs it on src/ and on copies of src/ with an offence planted in each.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, posix } from 'node:path';
import ts from 'typescript';

export const LEVEL: Readonly<Record<string, number>> = {
  engine: 0, mm: 1, policy: 2, devices: 2, invariants: 2, scenario: 3, explore: 4, report: 4, cli: 5, 'index.ts': 6, 'vitest.ts': 6,
};
/** The package's own name: importing it from inside bypasses every layer. */
const PACKAGE = 'pinsim';
/** Optional peer dependencies, which only the top level (index.ts, vitest.ts) may import. */
const PEERS = new Set(['vitest', 'typescript']);
const group = (f: string) => f.split('/')[1] ?? '?';
/** Files that may do I/O: the CLI, the scenario loaders, the worker threads. */
export const IO_ALLOWED = (f: string) =>
  f.startsWith('src/cli/') || f === 'src/scenario/format/load.ts' || f === 'src/scenario/format/ts-hook.ts' || f === 'src/scenario/format/load-worker.ts' || f === 'src/explore/workers.ts';
const BANNED_IDS = new Set(['Date', 'performance', 'setTimeout', 'setInterval', 'setImmediate', 'queueMicrotask', 'Promise', 'PromiseLike']);
/** Promise methods: a `.then` chain is promise use as much as `await` is. */
const PROMISE_METHODS = new Set(['then', 'catch', 'finally']);
const ERA = /^src\/policy\/linux-\d+\.\d+\.ts$/;

/** Why @from may not import @to (both src-relative paths), or null. */
export function layerOffence(from: string, to: string, typeOnly: boolean): string | null {
  const gf = group(from), gt = group(to);
  if (!(gt in LEVEL)) return `imports ${to}, which is in no layer`;
  const lf = LEVEL[gf] as number, lt = LEVEL[gt] as number;
  if (lt > lf) return `${gf} (L${lf}) imports ${gt} (L${lt}), a higher layer`;
  const typeRule = (ok: boolean, what: string) => (ok ? null : `${gf} may only \`import type\` from ${what}`);
  if (gf === 'invariants') {
    if (gt === 'invariants') {
      return /^src\/invariants\/(checker|books)\.ts$/.test(to) ? null : 'an invariant imports another invariant (only ./checker.js and ./books.js are shared)';
    }
    if (gt === 'policy') return 'invariants never import policies';
    return typeRule(typeOnly, gt);
  }
  if ((gf === 'policy' && gt === 'devices') || (gf === 'devices' && gt === 'policy')) return 'devices and policies never import each other';
  if ((gf === 'policy' || gf === 'devices') && gt === 'invariants') return `${gf} never imports invariants`;
  if (gf === 'policy' && gt === 'policy') {
    if (ERA.test(from)) return 'an era imports another policy (eras stand alone)';
    if (!ERA.test(to)) return 'a proposal imports another proposal (a proposal imports only its era)';
  }
  if (gf === 'devices' && gt === 'devices' && to !== 'src/devices/device.ts' && dirname(from) !== dirname(to)) return 'a device folder imports another device folder';
  if (gf === 'explore' || gf === 'report') {
    if (gt === 'invariants') return typeRule(typeOnly, 'invariants');
    if (gt === 'policy' || gt === 'devices') return `${gf} reaches ${gt} only through scenario's registry`;
    if (gf === 'report' && gt === 'explore') return typeRule(typeOnly, 'explore');
    if (gf === 'explore' && gt === 'report') return 'explore never imports report';
  }
  return null;
}

/** Why @file may not import the bare specifier @s, or null. */
function bareOffence(file: string, s: string): string | null {
  if (s.startsWith('node:') || builtinModules.includes(s)) return IO_ALLOWED(file) ? null : `imports node built-in '${s}'`;
  if (s === PACKAGE || s.startsWith(`${PACKAGE}/`)) return `imports the package itself ('${s}'), which bypasses the layers: import the file relatively`;
  const pkg = s.startsWith('@') ? s.split('/').slice(0, 2).join('/') : (s.split('/')[0] ?? s);
  if (PEERS.has(pkg) && LEVEL[group(file)] === 6) return null;
  return `imports '${s}': pinsim has no runtime dependencies${PEERS.has(pkg) ? ` (the peer ${pkg} only from index.ts / vitest.ts)` : ''}`;
}

export interface Scan { layer: string[]; io: string[]; specifiers: number }

/** scan() - the offences of one source file (@file relative to the tree's root, e.g. src/mm/gup.ts). */
export function scan(file: string, text: string): Scan {
  const layer: string[] = [], io: string[] = [];
  let specifiers = 0;
  const src = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const at = (n: ts.Node) => `${file}:${src.getLineAndCharacterOfPosition(n.getStart(src)).line + 1}`;
  const model = !IO_ALLOWED(file);
  /** The eras a policy file imports: a proposal is built on one. */
  const eras = new Set<string>();
  const spec = (n: ts.Node, s: string, typeOnly: boolean) => {
    specifiers++;
    if (s.startsWith('.')) {
      const to = posix.normalize(posix.join(posix.dirname(file), s)).replace(/\.js$/, '.ts');
      if (group(file) === 'policy' && ERA.test(to)) eras.add(to);
      if (eras.size === 2 && ERA.test(to) && eras.has(to)) layer.push(`${at(n)}: '${s}': a proposal imports a second era (a proposal is built on one era)`);
      const why = layerOffence(file, to, typeOnly);
      if (why) layer.push(`${at(n)}: '${s}': ${why}`);
      if (!s.endsWith('.js')) layer.push(`${at(n)}: '${s}': relative imports end in .js (ESM)`);
      return;
    }
    const why = bareOffence(file, s);
    if (why) (s.startsWith('node:') || builtinModules.includes(s) ? io : layer).push(`${at(n)}: ${why}`);
  };
  const visit = (n: ts.Node): void => {
    if (ts.isImportDeclaration(n) && ts.isStringLiteral(n.moduleSpecifier)) spec(n, n.moduleSpecifier.text, n.importClause?.isTypeOnly ?? false);
    else if (ts.isExportDeclaration(n) && n.moduleSpecifier && ts.isStringLiteral(n.moduleSpecifier)) spec(n, n.moduleSpecifier.text, n.isTypeOnly);
    else if (ts.isImportTypeNode(n) && ts.isLiteralTypeNode(n.argument) && ts.isStringLiteral(n.argument.literal)) spec(n, n.argument.literal.text, true);
    else if (ts.isCallExpression(n) && n.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const a = n.arguments[0];
      if (a && ts.isStringLiteral(a)) spec(n, a.text, false);
      if (model) io.push(`${at(n)}: dynamic import() returns a promise (actors are generators)`);
    }
    if (model) {
      const p = n.parent;
      const isName = p && (ts.isPropertyAccessExpression(p) || ts.isPropertyAssignment(p) || ts.isPropertySignature(p) || ts.isPropertyDeclaration(p) || ts.isMethodDeclaration(p)) && p.name === n;
      if (ts.isIdentifier(n) && BANNED_IDS.has(n.text) && !isName) io.push(`${at(n)}: uses ${n.text} (STYLE rule 4)`);
      if (ts.isPropertyAccessExpression(n) && ts.isIdentifier(n.expression) && (n.getText(src) === 'Math.random' || ['process', 'console'].includes(n.expression.text)))
        io.push(`${at(n)}: uses ${n.getText(src)} (STYLE rule 4 / node built-ins)`);
      if (ts.isPropertyAccessExpression(n) && PROMISE_METHODS.has(n.name.text) && ts.isCallExpression(n.parent) && n.parent.expression === n)
        io.push(`${at(n)}: .${n.name.text}() is promise use (actors are generators)`);
      if (n.kind === ts.SyntaxKind.AsyncKeyword || ts.isAwaitExpression(n)) io.push(`${at(n)}: async/await outside the I/O allowlist (actors are generators)`);
    }
    ts.forEachChild(n, visit);
  };
  visit(src);
  if (file === 'src/index.ts' && /^\s*export\s*\*/m.test(text)) layer.push(`${file}: index.ts re-exports an explicit list, never \`export *\``);
  return { layer, io, specifiers };
}

/** The `.ts` files under @root/src, as `src/…` paths, sorted. */
export function sourceFiles(root: string): string[] {
  return (readdirSync(join(root, 'src'), { recursive: true }) as string[])
    .filter((f) => f.endsWith('.ts')).map((f) => posix.join('src', f.split('\\').join('/'))).sort();
}

/**
 * checkLayering() - every offence in the tree at @root (its src/), and how many specifiers were read.
 * @cache: scans by file and text, reused when the same file text is checked again (copies of a tree).
 */
export function checkLayering(root: string, cache?: Map<string, Scan>): { files: string[]; layer: string[]; io: string[]; specifiers: number } {
  const files = sourceFiles(root);
  const scans = files.map((f) => {
    const text = readFileSync(join(root, f), 'utf8');
    const key = `${f}\0${text}`;
    const hit = cache?.get(key);
    if (hit) return hit;
    const s = scan(f, text);
    cache?.set(key, s);
    return s;
  });
  return {
    files,
    layer: [...files.filter((f) => !(group(f) in LEVEL)).map((f) => `${f}: in no layer`), ...scans.flatMap((s) => s.layer)],
    io: scans.flatMap((s) => s.io),
    specifiers: scans.reduce((n, s) => n + s.specifiers, 0),
  };
}
