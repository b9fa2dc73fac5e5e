/**
 * Loading scenario files: `.json` parsed, `.js`/`.mjs` imported (a default export that is
 * a scenario, or a function called with `{ policy, seed, params }`), `.ts`/`.mts` imported the same
 * way through the ts-hook.ts load hook, which transpiles with the optional peer `typescript`. This is
 * the only file of scenario/ that touches node:fs; what it returns is still untrusted input for
 * validateScenario(). Every failure is one ScenarioError naming the file; a user's exception points
 * at its `file:line` (for `.ts`, through the inline source map).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import type { Stats } from 'node:fs';
import { createRequire, register } from 'node:module';
import { dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ScenarioError } from './types.js';
import type { Issue } from './types.js';

/** What a scenario module's default-exported function is called with. */
export interface ScenarioParams { policy?: string; seed?: number; params: Record<string, string> }
export interface LoadOptions { policy?: string; seed?: number; params?: Record<string, string> }

const SCENARIO_MODULE = /\.scenario\.(ts|js|mjs)$/;

function fail(file: string, code: string, message: string, path = '', expected?: string): never {
  const issue: Issue = { code, path, message };
  if (expected !== undefined) issue.expected = expected;
  throw new ScenarioError([issue], file);
}

/** Why collectScenarioFiles() left a file of a directory out. */
export type SkipReason = 'not-a-scenario-module' | 'json-without-actors' | 'not-a-scenario-file';

/**
 * collectScenarioFiles() - the scenario files named by `paths`: a file as given; a directory
 * recursed in sorted order for `*.json` files with a top-level `actors` and for
 * `*.scenario.{ts,js,mjs}` (passing over `node_modules` and dot-files). Every other file of a
 * directory is handed to @onSkip with the reason (a JSON file that does not parse is kept when it
 * mentions `"actors"`, so that a broken scenario is reported rather than passed over).
 * Return: the files in order, each once. Throws ScenarioError `missing-file`.
 */
export function collectScenarioFiles(paths: string[], onSkip?: (file: string, why: SkipReason) => void): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  const add = (f: string): void => {
    const key = resolve(f);
    if (!seen.has(key)) { seen.add(key); out.push(f); }
  };
  for (const p of paths) {
    const st = stat(p);
    if (!st) fail(p, 'missing-file', 'no such file or directory');
    if (st.isDirectory()) walk(p, add, onSkip ?? (() => {}));
    else add(p);
  }
  return out;
}

function stat(p: string): Stats | undefined {
  try {
    return statSync(p);
  } catch {
    return undefined;
  }
}

/** Is @file a JSON scenario: an object with a top-level `actors` (package.json, tsconfig.json are not)? */
function jsonScenario(file: string): boolean {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return true; // unreadable: let the loader say why
  }
  try {
    const v = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text) as unknown;
    return typeof v === 'object' && v !== null && !Array.isArray(v) && 'actors' in v;
  } catch {
    return /"actors"\s*:/.test(text);
  }
}

function walk(dir: string, add: (f: string) => void, skip: (f: string, why: SkipReason) => void): void {
  // Sorted by code unit, not locale, so every machine lists the same order.
  const names = readdirSync(dir).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  for (const name of names) {
    const p = join(dir, name);
    const st = stat(p);
    if (!st) continue;
    if (name.startsWith('.')) continue; // dot-files and dot-directories, as ls does
    if (st.isDirectory()) {
      if (name !== 'node_modules') walk(p, add, skip);
    } else if (SCENARIO_MODULE.test(name)) {
      add(p);
    } else if (name.endsWith('.json')) {
      if (jsonScenario(p)) add(p);
      else skip(p, 'json-without-actors');
    } else {
      skip(p, /\.(m?[jt]s|cjs)$/.test(name) ? 'not-a-scenario-module' : 'not-a-scenario-file');
    }
  }
}

/**
 * loadScenarioInput() - the raw scenario data of `file`, not yet validated.
 * Throws ScenarioError: `missing-file`, `bad-json` (path = line and column), `module-threw`,
 * `no-default-export`, `missing-typescript` (.ts without the peer), `unsupported-file`.
 */
export async function loadScenarioInput(file: string, opts: LoadOptions = {}): Promise<unknown> {
  const ext = extname(file);
  if (ext === '.json') return loadJson(file);
  if (ext === '.js' || ext === '.mjs') return loadModule(file, opts);
  if (ext === '.ts' || ext === '.mts') {
    if (!stat(file)?.isFile()) fail(file, 'missing-file', 'no such file');
    registerTsHook(file);
    return loadModule(file, opts);
  }
  return fail(file, 'unsupported-file', `cannot load a "${ext}" file as a scenario`, '', '.json, .js, .mjs or .ts');
}

let tsHookRegistered = false;

/**
 * registerTsHook() - register ts-hook.ts once per process, handing it the `typescript` that
 * resolves from pinsim (a peer installed beside it), else from the scenario's directory or the
 * working directory. Throws ScenarioError `missing-typescript` when none does.
 */
function registerTsHook(file: string): void {
  if (tsHookRegistered) return;
  const bases = [import.meta.url, pathToFileURL(join(resolve(dirname(file)), 'noop.js')).href, pathToFileURL(join(process.cwd(), 'noop.js')).href];
  let found: string | undefined;
  for (const base of bases) {
    try {
      found = createRequire(base).resolve('typescript');
      break;
    } catch {
      // not installed where this base looks; try the next
    }
  }
  if (found === undefined) {
    fail(file, 'missing-typescript',
      'loading a .ts scenario needs the optional peer dependency `typescript`, which is not installed',
      '', 'the `typescript` package beside pinsim (npm install --save-dev typescript@~6.0), or a .json, .js or .mjs scenario');
  }
  const hook = new URL('./ts-hook.js', import.meta.url);
  // Run from its sources (vitest, tsx) this file is load.ts, and that runner already loads .ts itself.
  if (existsSync(fileURLToPath(hook))) {
    // Stack traces of the user's module then point at its .ts lines, not the transpiled ones.
    process.setSourceMapsEnabled(true);
    register(hook, { data: { typescriptUrl: pathToFileURL(found).href } });
  }
  tsHookRegistered = true;
}

function loadJson(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    return fail(file, 'missing-file', `cannot read: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    const { line, column } = jsonErrorPosition(msg, text);
    return fail(file, 'bad-json', `invalid JSON: ${msg}`, `line ${line} column ${column}`);
  }
}

/** jsonErrorPosition() - 1-based line and column of a JSON.parse error (V8 gives a character offset). */
export function jsonErrorPosition(message: string, text: string): { line: number; column: number } {
  const lc = /line (\d+) column (\d+)/.exec(message);
  if (lc) return { line: Number(lc[1]), column: Number(lc[2]) };
  const pos = /position (\d+)/.exec(message);
  const offset = pos ? Math.min(Number(pos[1]), text.length) : text.length; // "Unexpected end": at the end
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return { line, column: offset - before.lastIndexOf('\n') };
}

async function loadModule(file: string, opts: LoadOptions): Promise<unknown> {
  if (!stat(file)?.isFile()) fail(file, 'missing-file', 'no such file');
  const url = pathToFileURL(resolve(file)).href;
  let mod: Record<string, unknown>;
  try {
    mod = (await import(url)) as Record<string, unknown>;
  } catch (e) {
    return threw(file, url, e);
  }
  if (!('default' in mod) || mod['default'] === undefined) {
    return fail(file, 'no-default-export', 'the module has no default export', '', 'export default a scenario, or a function returning one');
  }
  const exported = mod['default'];
  if (typeof exported !== 'function') return exported;
  const arg: ScenarioParams = { params: { ...opts.params } };
  if (opts.policy !== undefined) arg.policy = opts.policy;
  if (opts.seed !== undefined) arg.seed = opts.seed;
  try {
    return (await (exported as (p: ScenarioParams) => unknown)(arg)) as unknown;
  } catch (e) {
    return threw(file, url, e);
  }
}

/** A user's exception: its message, and the first stack frame in the user's file as `file:line`. */
function threw(file: string, url: string, e: unknown): never {
  const msg = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  const stack = e instanceof Error ? e.stack ?? '' : '';
  const abs = fileURLToPath(url);
  let where: { line: string; column: string } | undefined;
  for (const l of stack.split('\n')) {
    const i = Math.max(l.indexOf(url), l.indexOf(abs));
    if (i < 0) continue;
    const m = /:(\d+):(\d+)\)?\s*$/.exec(l);
    if (m) { where = { line: m[1] ?? '', column: m[2] ?? '' }; break; }
  }
  // Node's ESM SyntaxError carries no location of the user's file; `node --check` prints it as
  // `file:line` on its first line. Run only for a syntax error, so the cost is paid once, on failure.
  if (!where && e instanceof SyntaxError && !/\.m?ts$/.test(abs)) {
    const r = spawnSync(process.execPath, ['--check', abs], { encoding: 'utf8', timeout: 10_000 });
    const first = (r.stderr ?? '').split('\n')[0] ?? '';
    const m = first.includes(abs) ? /:(\d+)\s*$/.exec(first) : null;
    if (m) where = { line: m[1] ?? '', column: '' };
  }
  // The ts hook's syntax errors (and any error naming the file) say `<path>:<line>:<column>`.
  let text = msg;
  if (!where) {
    const i = msg.indexOf(`${abs}:`);
    const m = i >= 0 ? /^:(\d+):(\d+):? ?/.exec(msg.slice(i + abs.length)) : null;
    if (m) {
      where = { line: m[1] ?? '', column: m[2] ?? '' };
      text = msg.slice(0, i) + msg.slice(i + abs.length + m[0].length);
    }
  }
  const path = where ? `line ${where.line}${where.column ? ` column ${where.column}` : ''}` : '';
  const at = where ? ` (at ${file}:${where.line})` : '';
  return fail(file, 'module-threw', `the scenario module threw ${text}${at}`, path);
}
