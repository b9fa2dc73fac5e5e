/**
 * Loading scenario files: `.json` read strictly (json.ts: UTF-8 text only, no duplicate key, no
 * number beyond a double, bounded nesting), `.js`/`.mjs` evaluated (a default export that is a
 * scenario, or a function called with `{ policy, seed, params }`), `.ts`/`.mts` evaluated the same
 * way through the ts-hook.ts load hook, which transpiles with the optional peer `typescript`.
 * A module runs in a worker thread (load-worker.ts) under a timeout and a heap limit, so that a
 * module that loops, never settles, exits or runs out of memory is the user's error, not pinsim's
 * hang or crash. This is the only file of scenario/ that touches node:fs; what it returns is still
 * untrusted input for validateScenario(). Every failure is one ScenarioError naming the file; a
 * user's exception points at its `file:line` (for `.ts`, through the inline source map).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import type { Stats } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { notText, parseJson } from './json.js';
import { DEFAULT_LOAD_TIMEOUT_MS, MAX_DEPTH, MAX_FILE_BYTES, MODULE_HEAP_MB } from './limits.js';
import type { LoadJob, LoadReply, ThrownInfo } from './load-worker.js';
import { ScenarioError } from './types.js';
export { jsonErrorPosition } from './json.js';
import type { Issue } from './types.js';

/** What a scenario module's default-exported function is called with. */
export interface ScenarioParams { policy?: string; seed?: number; params: Record<string, string> }
export interface LoadOptions {
  policy?: string;
  seed?: number;
  params?: Record<string, string>;
  /** How long a module may take to produce its scenario (ms; default DEFAULT_LOAD_TIMEOUT_MS). */
  timeoutMs?: number;
}

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

/**
 * Is @file a JSON scenario: an object with a top-level `actors` (package.json, tsconfig.json are
 * not)? A file that is not JSON text at all (too large, UTF-16, binary) is kept, so that the
 * loader reports it rather than a directory walk passing over it.
 */
function jsonScenario(file: string): boolean {
  if ((stat(file)?.size ?? 0) > MAX_FILE_BYTES) return true;
  let text: string;
  try {
    text = UTF8.decode(readFileSync(file));
  } catch {
    return true; // unreadable or not UTF-8: let the loader say why
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (notText(text) !== null) return true;
  try {
    const v = JSON.parse(text) as unknown;
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
 * loadScenarioInput() - the raw scenario data of `file`, not yet validated. A module is evaluated
 * in a worker thread (load-worker.ts), bounded by @opts.timeoutMs and a heap limit.
 * Throws ScenarioError: `missing-file`, `bad-json` (path = line and column), `duplicate-key`,
 * `bad-number`, `too-deep`, `too-large`, `module-threw`, `module-value`, `module-timeout`,
 * `module-exited`, `no-default-export`, `missing-typescript` (.ts without the peer), `unsupported-file`.
 */
export async function loadScenarioInput(file: string, opts: LoadOptions = {}): Promise<unknown> {
  const ext = extname(file);
  if (ext === '.json') return loadJson(file);
  if (ext === '.js' || ext === '.mjs' || ext === '.ts' || ext === '.mts') return loadModule(file, opts);
  return fail(file, 'unsupported-file', `cannot load a "${ext}" file as a scenario`, '', '.json, .js, .mjs or .ts');
}

/**
 * typescriptFor() - the URL of the `typescript` that resolves from pinsim (a peer installed beside
 * it), else from the scenario's directory or the working directory. Throws ScenarioError
 * `missing-typescript` when none does.
 */
function typescriptFor(file: string): string {
  const bases = [import.meta.url, pathToFileURL(join(resolve(dirname(file)), 'noop.js')).href, pathToFileURL(join(process.cwd(), 'noop.js')).href];
  for (const base of bases) {
    try {
      return pathToFileURL(createRequire(base).resolve('typescript')).href;
    } catch {
      // not installed where this base looks; try the next
    }
  }
  return fail(file, 'missing-typescript',
    'loading a .ts scenario needs the optional peer dependency `typescript`, which is not installed',
    '', 'the `typescript` package beside pinsim (npm install --save-dev typescript@~6.0), or a .json, .js or .mjs scenario');
}

/**
 * builtUrl() - the URL of this directory's @name as JavaScript: the built `.js` file, or, run from
 * pinsim's sources (vitest), its `.ts` transpiled into a data: URL (the file imports only node
 * built-ins, so it needs no neighbour). A worker thread and a load hook need JavaScript, whatever
 * runs this file.
 */
function builtUrl(name: string): URL {
  const js = new URL(`./${name}.js`, import.meta.url);
  if (existsSync(fileURLToPath(js))) return js;
  const source = readFileSync(new URL(`./${name}.ts`, import.meta.url), 'utf8');
  const ts = createRequire(import.meta.url)('typescript') as {
    transpileModule(s: string, o: { compilerOptions: Record<string, unknown> }): { outputText: string };
    ModuleKind: { ESNext: number }; ScriptTarget: { ES2022: number };
  };
  const out = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;
  return new URL(`data:text/javascript;base64,${Buffer.from(out).toString('base64')}`);
}

function loadJson(file: string): unknown {
  const bytes = readBytes(file);
  const text = decodeUtf8(file, bytes);
  const r = parseJson(text);
  if (!r.ok) throw new ScenarioError([r.issue], file);
  return r.value;
}

/** The bytes of @file, refusing one larger than MAX_FILE_BYTES before reading it. */
function readBytes(file: string): Buffer {
  const size = stat(file)?.size;
  if (size !== undefined && size > MAX_FILE_BYTES) {
    fail(file, 'too-large', `the file is ${size} bytes, more than pinsim reads as a scenario (${MAX_FILE_BYTES} bytes)`, '', `at most ${MAX_FILE_BYTES / 1024 / 1024} MiB (pinsim's limit)`);
  }
  try {
    return readFileSync(file);
  } catch (e) {
    return fail(file, 'missing-file', `cannot read: ${e instanceof Error ? e.message : String(e)}`);
  }
}

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * decodeUtf8() - @bytes as text, one leading UTF-8 byte-order mark dropped. Text that is not UTF-8
 * (UTF-16 with its byte-order mark, invalid bytes, NUL characters, a second byte-order mark) is
 * refused at line 1 column 1, where the reader should look, rather than wherever JSON.parse gives up.
 */
function decodeUtf8(file: string, bytes: Buffer): string {
  const notUtf8 = (why: string): never => fail(file, 'bad-json', `not UTF-8 JSON text: ${why}`, 'line 1 column 1', 'a UTF-8 text file');
  if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff)) {
    notUtf8(`a UTF-16 byte-order mark (${bytes[0] === 0xff ? 'FF FE, little-endian' : 'FE FF, big-endian'}); save the file as UTF-8`);
  }
  let text: string;
  try {
    text = UTF8.decode(bytes);
  } catch {
    return notUtf8('it holds bytes that are not UTF-8 (binary data?)');
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const why = notText(text);
  if (why) notUtf8(why);
  return text;
}

async function loadModule(file: string, opts: LoadOptions): Promise<unknown> {
  const st = stat(file);
  if (!st?.isFile()) fail(file, 'missing-file', 'no such file');
  if (st.size > MAX_FILE_BYTES) readBytes(file); // refuses it, naming the limit
  const url = pathToFileURL(resolve(file)).href;
  const arg: ScenarioParams = { params: { ...opts.params } };
  if (opts.policy !== undefined) arg.policy = opts.policy;
  if (opts.seed !== undefined) arg.seed = opts.seed;
  const hook = /\.m?ts$/.test(file) ? { url: builtUrl('ts-hook').href, typescriptUrl: typescriptFor(file) } : undefined;
  const job: LoadJob = { url, arg, maxDepth: MAX_DEPTH, ...(hook ? { hook } : {}) };
  const timeout = opts.timeoutMs ?? DEFAULT_LOAD_TIMEOUT_MS;
  const r = await inWorker(job, timeout);
  switch (r.kind) {
    case 'value': return r.value;
    case 'threw': return threw(file, url, r.error);
    case 'no-default':
      return fail(file, 'no-default-export', 'the module has no default export', '', 'export default a scenario, or a function returning one');
    case 'bad-value': {
      const where = r.path || '(the default export)';
      if (r.error) return threw(file, url, r.error, `reading ${where} of the scenario module's value threw`);
      return fail(file, 'module-value', `the scenario module's value ${r.problem}`, where);
    }
    case 'timeout':
      return fail(file, 'module-timeout',
        `the scenario module did not produce its scenario within ${timeout} ms (it was stopped: a loop that never ends, or a promise that never settles while something keeps it waiting)`,
        '', `a module that settles in time, or a longer --load-timeout (pinsim's default is ${DEFAULT_LOAD_TIMEOUT_MS / 1000} s)`);
    case 'exited':
      return fail(file, 'module-exited', `the scenario module ${r.why}`, '', 'a default export, or a promise that settles with the scenario');
  }
}

type WorkerOutcome = LoadReply | { readonly kind: 'timeout' } | { readonly kind: 'exited'; readonly why: string };

/**
 * inWorker() - evaluate @job in a worker thread; Return: its reply, or why there is none (the
 * timeout, or the worker's end without a reply: out of heap, process.exit(), an event loop left
 * with nothing to wait for while the default export's promise is still pending).
 */
function inWorker(job: LoadJob, timeoutMs: number): Promise<WorkerOutcome> {
  return new Promise((settle) => {
    const w = new Worker(builtUrl('load-worker'), {
      workerData: job, stdout: false, stderr: false,
      resourceLimits: { maxOldGenerationSizeMb: MODULE_HEAP_MB },
    });
    let done = false;
    const finish = (o: WorkerOutcome): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      void w.terminate();
      settle(o);
    };
    const timer = setTimeout(() => finish({ kind: 'timeout' }), timeoutMs);
    w.on('message', (m: LoadReply) => finish(m));
    w.on('error', (e: Error & { code?: string }) => finish(e.code === 'ERR_WORKER_OUT_OF_MEMORY'
      ? { kind: 'exited', why: `ran out of memory (its heap is limited to ${MODULE_HEAP_MB} MiB)` }
      : { kind: 'threw', error: { name: e.name, message: e.message, stack: e.stack ?? '', syntax: e instanceof SyntaxError } }));
    w.on('exit', (code) => finish({
      kind: 'exited',
      why: code === 0
        ? 'ended without producing a scenario: its default export (or its top-level await) is a promise that never settles, and nothing is left for it to wait for'
        : `called process.exit(${code}) before producing a scenario`,
    }));
  });
}

/** A user's exception: its message, and the first stack frame in the user's file as `file:line`. */
function threw(file: string, url: string, e: ThrownInfo, what = 'the scenario module threw'): never {
  const msg = `${e.name}: ${e.message}`;
  const stack = e.stack;
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
  if (!where && e.syntax && !/\.m?ts$/.test(abs)) {
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
  return fail(file, 'module-threw', `${what} ${text}${at}`, path);
}
