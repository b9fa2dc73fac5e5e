/**
 * What the CLI commands share: policy resolution with did-you-mean, the not-implemented refusal for
 * contract features not built yet, and progress lines that go to stderr only when it is a TTY.
 */
import { parseTime } from '../engine/clock.js';
import { DEFAULT_LOAD_TIMEOUT_MS } from '../scenario/format/limits.js';
import { existsSync } from 'node:fs';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { collectScenarioFiles, type SkipReason } from '../scenario/format/load.js';
import { policyIssue, policyNames, type Registry } from '../scenario/registry.js';
import { UsageError, flagString, type FlagSpec, type ParsedArgs } from './args.js';
import { ScenarioError } from '../scenario/format/types.js';

/** A contract feature not built yet: stderr, exit 2 (never run as a stub). */
export class NotImplementedError extends Error {
  constructor(what: string) {
    super(`${what} is part of the contract but not built yet (not-implemented)`);
    this.name = 'NotImplementedError';
  }
}

/**
 * resolvePolicies() - the policies `--policy` names: one name, a comma list, or (when @allowAll)
 * `all` for every built policy. Throws ScenarioError (`unknown-policy` with the closest name, or
 * `not-implemented` for a contract policy not built yet), which main.ts prints with exit 2.
 */
export function resolvePolicies(value: string, registry: Registry, allowAll: boolean): string[] {
  if (allowAll && value === 'all') return [...registry.policies.keys()];
  const names = value.split(',').map((s) => s.trim());
  if (names.includes('')) {
    throw new ScenarioError([{ code: 'unknown-policy', path: '--policy', message: `an empty policy name in "${value}"`, expected: 'a policy, or policies separated by single commas' }]);
  }
  const known = policyNames(registry);
  const issues = names.flatMap((n) => policyIssue(n, known, '--policy', { all: allowAll }) ?? []);
  if (issues.length) throw new ScenarioError(issues);
  return names;
}

/**
 * One progress line on stderr, rewritten in place on a terminal; nothing at all when stderr is not
 * a terminal, unless @force (`--progress`), which prints each update as a line of its own.
 */
export class Progress {
  private readonly on: boolean;
  private readonly tty: boolean;
  private shown = false;

  constructor(force = false) {
    this.tty = process.stderr.isTTY === true;
    this.on = this.tty || force;
  }

  show(text: string): void {
    if (!this.on) return;
    if (!this.tty) {
      process.stderr.write(`${text}\n`);
      return;
    }
    process.stderr.write(`\r\x1b[K${text}`);
    this.shown = true;
  }

  /** Clear the line before anything else is printed to the terminal. */
  clear(): void {
    if (!this.shown) return;
    process.stderr.write('\r\x1b[K');
    this.shown = false;
  }
}

/** withFile() - a ScenarioError thrown without a file (by the runner) as one naming @file. */
export function withFile(e: ScenarioError, file: string): ScenarioError {
  return e.file === undefined ? new ScenarioError(e.issues, file) : e;
}

/** The flag of every command that loads scenario files (modules are evaluated under a timeout). */
export const LOAD_FLAGS: Readonly<Record<string, FlagSpec>> = {
  'load-timeout': {
    value: true, meta: 'T',
    doc: `how long a scenario module may take to produce its scenario before it is stopped (default ${DEFAULT_LOAD_TIMEOUT_MS / 1000}s)`,
  },
};

/** flagLoadTimeout() - `--load-timeout T` in ms (a time: "90s", "500ms"), if given; at least 1 ms. */
export function flagLoadTimeout(p: ParsedArgs, command: string): { timeoutMs?: number } {
  const v = flagString(p, 'load-timeout');
  if (v === undefined) return {};
  const t = parseTime(v);
  if (!t.ok || t.value < 1_000_000) throw new UsageError(`--load-timeout must be a time of at least 1ms, like "90s" or "500ms", not "${v}"`, command);
  return { timeoutMs: Math.ceil(t.value / 1_000_000) };
}

const SKIP_WHY: Record<SkipReason, string> = {
  'json-without-actors': 'JSON without a top-level "actors"',
  'not-a-scenario-module': 'modules are loaded only when named *.scenario.{ts,js,mjs}',
  'not-a-scenario-file': 'not scenario files',
};

/**
 * scenarioFiles() - collectScenarioFiles() for a command: the files of a directory that are not
 * scenarios are named on stderr, one line per directory and reason; a directory that holds no
 * scenario at all says so, and points at its README.md when it has one.
 */
export function scenarioFiles(paths: string[]): string[] {
  const skipped = new Map<string, Map<SkipReason, string[]>>();
  const files = collectScenarioFiles(paths, (f, why) => {
    const dir = dirname(f);
    const byWhy = skipped.get(dir) ?? new Map<SkipReason, string[]>();
    byWhy.set(why, [...(byWhy.get(why) ?? []), basename(f)]);
    skipped.set(dir, byWhy);
  });
  const held = files.map((f) => resolve(f));
  for (const [dir, byWhy] of skipped) {
    const shown = `${relative(process.cwd(), dir) || '.'}${sep}`;
    const abs = resolve(dir) + sep;
    const none = !held.some((f) => f.startsWith(abs));
    const readme = existsSync(join(dir, 'README.md')) ? `; see its README.md` : '';
    // A directory of other things (dist/, a package) is summed up; one that holds scenarios names each.
    const list = (names: string[]) => (none && names.length > 4 ? `${names.slice(0, 3).join(', ')} and ${names.length - 3} more` : names.join(', '));
    const lines = [...byWhy].map(([why, names]) => `${list(names)} (${SKIP_WHY[why]})`);
    if (none) process.stderr.write(`pinsim: skipped ${shown}: no scenario in it: ${lines.join('; ')}${readme}\n`);
    else for (const l of lines) process.stderr.write(`pinsim: skipped in ${shown}: ${l}\n`);
  }
  return files;
}
