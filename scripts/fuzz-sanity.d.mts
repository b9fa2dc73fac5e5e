/** Types of fuzz-sanity.mjs, for the vitest test that imports it. */
export interface SanityFailure { kind: string; message: string }
export interface SanityResult<R> { result: R | undefined; failures: SanityFailure[] }
export function failureSignature(f: SanityFailure): string;
/** @runScenario is called as runScenario(scenario, { ...opts, trace }). */
export function sanityRun<R>(runScenario: (s: unknown, opts: never) => R, scenario: unknown, opts?: object): SanityResult<R>;
/** One generated bad input: an object for runScenario, or JSON text for the loader's reader. */
export interface BadInput { cls: string; input?: unknown; text?: string }
export function badInputRun(runScenario: (s: unknown) => unknown, readJson: (text: string) => { ok: boolean }, bad: BadInput): SanityFailure[];
