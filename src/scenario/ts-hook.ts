/**
 * The `.ts` scenario loader: a `module.register` hook that load.ts registers, once,
 * the first time a `.ts` scenario is loaded. Its `load` transpiles `.ts`/`.mts` modules with the
 * optional peer `typescript` (transpileModule: ESM out, inline source map with the sources, so a
 * user's exception points at its own `file:line`); its `resolve` lets a `.ts` module import a
 * sibling `./helper.js` that exists only as `helper.ts` (the nodenext convention).
 *
 * Node runs these hooks on its loader thread. They read sources through `nextLoad` rather than
 * node:fs and chain `.then` rather than `async`, so that this file needs no node built-in: the
 * I/O lives in load.ts, which resolves `typescript` and hands its URL to initialize().
 * A syntax error is thrown as a SyntaxError whose message starts `<path>:<line>:<column>`.
 */

/** What load.ts passes to module.register's `data`. */
export interface TsHookData { typescriptUrl: string }

/** The little of the typescript API the hook uses (typed here: typescript is an optional peer). */
interface TsDiagnostic {
  file?: { getLineAndCharacterOfPosition(pos: number): { line: number; character: number } };
  start?: number;
  code: number;
  messageText: string | { messageText: string };
}
interface TsApi {
  transpileModule(input: string, opts: {
    fileName: string; reportDiagnostics: boolean; compilerOptions: Record<string, unknown>;
  }): { outputText: string; diagnostics?: TsDiagnostic[] };
  ModuleKind: { ESNext: number };
  ScriptTarget: { ES2022: number };
}

/** Node's hook shapes (node:module's types, restated to keep this file free of node imports). */
interface LoadContext { format?: string | null | undefined; [k: string]: unknown }
interface LoadResult { format: string; source?: string | ArrayBuffer | Uint8Array | null; shortCircuit?: boolean }
type NextLoad = (url: string, context?: LoadContext) => PromiseLike<LoadResult>;
interface ResolveContext { parentURL?: string | undefined; [k: string]: unknown }
interface ResolveResult { url: string; format?: string | null; shortCircuit?: boolean }
type NextResolve = (specifier: string, context?: ResolveContext) => PromiseLike<ResolveResult>;

const TS_URL = /^file:.*\.m?ts$/;
const DECLARATION = /\.d\.m?ts$/;

let typescriptUrl = '';
let tsApi: PromiseLike<TsApi> | null = null;

/** initialize() - receives the URL of the `typescript` module that load.ts resolved. */
export function initialize(data: TsHookData | undefined): void {
  typescriptUrl = data?.typescriptUrl ?? '';
}

function typescript(): PromiseLike<TsApi> {
  // typescript is CommonJS: its namespace's default is module.exports.
  tsApi ??= import(typescriptUrl).then((m: { default?: TsApi } & Partial<TsApi>) => (m.default ?? m) as TsApi);
  return tsApi;
}

/** The path of a file: URL, for messages and the source map (no node:url on this thread). */
function urlPath(url: string): string {
  return decodeURIComponent(new URL(url).pathname);
}

function decode(src: LoadResult['source']): string {
  if (typeof src === 'string') return src;
  if (src == null) return '';
  return new TextDecoder().decode(src);
}

/** transpile() - ESM JavaScript for @source, or a SyntaxError at the first syntax diagnostic. */
function transpile(ts: TsApi, source: string, path: string): string {
  const out = ts.transpileModule(source, {
    fileName: path,
    reportDiagnostics: true,
    compilerOptions: {
      module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022,
      inlineSourceMap: true, inlineSources: true, sourceMap: false, verbatimModuleSyntax: false,
    },
  });
  const d = out.diagnostics?.[0];
  if (d) {
    const lc = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start) : { line: 0, character: 0 };
    const text = typeof d.messageText === 'string' ? d.messageText : d.messageText.messageText;
    throw new SyntaxError(`${path}:${lc.line + 1}:${lc.character + 1}: TS${d.code}: ${text}`);
  }
  return out.outputText;
}

/** load() - transpile `.ts`/`.mts` files; everything else goes on down the chain. */
export function load(url: string, context: LoadContext, nextLoad: NextLoad): PromiseLike<LoadResult> {
  if (!TS_URL.test(url) || DECLARATION.test(url)) return nextLoad(url, context);
  return nextLoad(url, { ...context, format: 'module' }).then((r) => typescript().then((ts) => ({
    format: 'module',
    source: transpile(ts, decode(r.source), urlPath(url)),
    shortCircuit: true,
  })));
}

/** resolve() - from a `.ts` module, `./x.js` that does not exist falls back to `./x.ts`. */
export function resolve(specifier: string, context: ResolveContext, nextResolve: NextResolve): PromiseLike<ResolveResult> {
  const first = nextResolve(specifier, context);
  const parent = context.parentURL ?? '';
  if (!TS_URL.test(parent) || !/^\.{1,2}\/.*\.m?js$/.test(specifier)) return first;
  return first.then(undefined, (e: unknown) => {
    if ((e as { code?: string } | null)?.code !== 'ERR_MODULE_NOT_FOUND') throw e;
    return nextResolve(specifier.replace(/js$/, 'ts'), context).then(undefined, () => {
      throw e;
    });
  });
}
