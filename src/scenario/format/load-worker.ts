/**
 * (pinsim-only) The worker thread that evaluates one scenario module for load.ts, so that nothing
 * the module does can hang or crash pinsim: load.ts bounds it with a timeout and a heap limit, and
 * terminates it if it loops forever. The worker imports the module (through the `.ts` load hook when
 * given one), calls a default-exported function with `{ policy, seed, params }`, awaits it, and posts
 * back plain data, or what went wrong in the user's code: an exception (with its stack, for the
 * user's `file:line`), no default export, or a value that is not plain data (a getter that throws,
 * a function, a cycle, nesting beyond the limit), with the path where it is.
 *
 * Self-contained (node built-ins only): run from pinsim's sources, load.ts hands it to the worker
 * as a data: URL, which cannot import relative files.
 */
import { register } from 'node:module';
import { parentPort, workerData } from 'node:worker_threads';

/** What load.ts hands the worker. */
export interface LoadJob {
  readonly url: string;
  readonly arg: unknown;
  /** the `.ts` load hook to register first, and the `typescript` module it transpiles with */
  readonly hook?: { readonly url: string; readonly typescriptUrl: string };
  readonly maxDepth: number;
}

/** An exception, as far as it survives the thread boundary. */
export interface ThrownInfo { readonly name: string; readonly message: string; readonly stack: string; readonly syntax: boolean }

/** What the worker posts back. */
export type LoadReply =
  | { readonly kind: 'value'; readonly value: unknown }
  | { readonly kind: 'threw'; readonly error: ThrownInfo }
  | { readonly kind: 'no-default' }
  | { readonly kind: 'bad-value'; readonly path: string; readonly problem: string; readonly error?: ThrownInfo };

class BadValue {
  readonly path: string;
  readonly problem: string;
  readonly error: ThrownInfo | undefined;
  constructor(path: string, problem: string, error?: ThrownInfo) {
    this.path = path;
    this.problem = problem;
    this.error = error;
  }
}

function info(e: unknown): ThrownInfo {
  if (e instanceof Error) return { name: e.name, message: e.message, stack: e.stack ?? '', syntax: e instanceof SyntaxError };
  let text: string;
  try {
    text = String(e);
  } catch {
    text = typeof e;
  }
  return { name: 'a non-Error value', message: text, stack: '', syntax: false };
}

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const keyPath = (base: string, k: string): string => (IDENT.test(k) ? (base ? `${base}.${k}` : k) : `${base}[${JSON.stringify(k)}]`);

/**
 * plain() - @v as plain data that crosses the thread boundary intact: objects (own enumerable
 * string keys) and arrays copied, primitives kept (a BigInt too: validation names it). Throws
 * BadValue for what a scenario cannot hold, with its path.
 */
function plain(v: unknown, path: string, depth: number, maxDepth: number, open: Set<object>): unknown {
  if (typeof v === 'function') throw new BadValue(path, 'is a function (a scenario is plain data)');
  if (typeof v === 'symbol') throw new BadValue(path, 'is a symbol (a scenario is plain data)');
  if (v === null || typeof v !== 'object') return v;
  if (depth >= maxDepth) throw new BadValue(path, `nests objects and arrays more than ${maxDepth} deep (pinsim's limit)`);
  if (open.has(v)) throw new BadValue(path, 'contains itself (a cycle; a scenario is plain data)');
  open.add(v);
  const read = (k: string | number, p: string): unknown => {
    let x: unknown;
    try {
      x = (v as Record<string | number, unknown>)[k];
    } catch (e) {
      throw new BadValue(p, 'threw when read', info(e));
    }
    return plain(x, p, depth + 1, maxDepth, open);
  };
  let out: unknown;
  if (Array.isArray(v)) {
    const a: unknown[] = [];
    for (let i = 0; i < v.length; i++) a.push(read(i, `${path}[${i}]`));
    out = a;
  } else {
    let keys: string[];
    try {
      keys = Object.keys(v);
    } catch (e) {
      throw new BadValue(path, 'threw when its keys were listed', info(e));
    }
    const o = Object.create(null) as Record<string, unknown>;
    for (const k of keys) o[k] = read(k, keyPath(path, k));
    out = o;
  }
  open.delete(v);
  return out;
}

async function evaluate(job: LoadJob): Promise<LoadReply> {
  if (job.hook) {
    process.setSourceMapsEnabled(true);
    register(job.hook.url, { data: { typescriptUrl: job.hook.typescriptUrl } });
  }
  let exported: unknown;
  try {
    const mod = (await import(job.url)) as Record<string, unknown>;
    if (!('default' in mod) || mod['default'] === undefined) return { kind: 'no-default' };
    exported = mod['default'];
    if (typeof exported === 'function') exported = await (exported as (a: unknown) => unknown)(job.arg);
    else exported = await exported; // a promise of a scenario is awaited like a function's
  } catch (e) {
    return { kind: 'threw', error: info(e) };
  }
  try {
    return { kind: 'value', value: plain(exported, '', 0, job.maxDepth, new Set()) };
  } catch (e) {
    if (!(e instanceof BadValue)) throw e;
    return { kind: 'bad-value', path: e.path, problem: e.problem, ...(e.error ? { error: e.error } : {}) };
  }
}

if (parentPort) {
  const port = parentPort;
  // A reply that cannot be posted (a value structured clone refuses) is told as the user's error too.
  const post = (r: LoadReply): void => {
    try {
      port.postMessage(r);
    } catch (e) {
      port.postMessage({ kind: 'threw', error: info(e) } satisfies LoadReply);
    }
  };
  void evaluate(workerData as LoadJob).then(post, (e: unknown) => post({ kind: 'threw', error: info(e) }));
}
