/**
 * A tiny argv parser (no dependency): each command declares the flags it accepts; anything else is
 * a usage error with the closest valid flag, thrown as UsageError and printed by main.ts (exit 2).
 * Accepted forms: `--flag value`, `--flag=value`, bare `--flag` for switches, `--` ends the flags.
 */
import { dict, own } from '../engine/dict.js';
import { closest } from '../scenario/format/closest.js';

export interface FlagSpec {
  /** Takes a value (`--seed 3`); otherwise a switch (`--json`). */
  value: boolean;
  /** The value's placeholder in usage lines (`N`, `FILE`). */
  meta?: string;
  /** The values allowed, when the set is closed. */
  choices?: readonly string[];
  /** May be given more than once (`--param a=1 --param b=2`); the values are kept in order. */
  repeat?: boolean;
  doc: string;
}

export interface CommandSpec {
  name: string;
  /** The positional arguments, as printed in usage (`<scenario>`, `<scenario|dir>...`). */
  operands: string;
  minOperands: number;
  maxOperands: number;
  flags: Readonly<Record<string, FlagSpec>>;
  summary: string;
}

export interface ParsedArgs {
  operands: string[];
  /** Last value of each value flag; `true` for a switch. */
  flags: Record<string, string | true>;
  /** Every value of each repeatable flag. */
  lists: Record<string, string[]>;
}

/** Bad usage: printed with the command's usage on stderr, exit 2. */
export class UsageError extends Error {
  readonly command: string | undefined;
  constructor(message: string, command?: string) {
    super(message);
    this.name = 'UsageError';
    this.command = command;
  }
}

/**
 * parseArgs() - split @argv (after the command word) by @spec.
 * Return: the operands and flags. Throws UsageError for an unknown flag (with did-you-mean), a
 * missing or out-of-set value, or a wrong operand count.
 */
export function parseArgs(argv: readonly string[], spec: CommandSpec): ParsedArgs {
  const out: ParsedArgs = { operands: [], flags: dict(), lists: dict() };
  const names = Object.keys(spec.flags);
  let flagsDone = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (flagsDone || !a.startsWith('-') || a === '-') {
      out.operands.push(a);
      continue;
    }
    if (a === '--') {
      flagsDone = true;
      continue;
    }
    const eq = a.indexOf('=');
    const name = (eq >= 0 ? a.slice(0, eq) : a).replace(/^-+/, '');
    const f = own(spec.flags, name);
    if (!f) {
      const guess = closest(name, names);
      const hint = guess ? ` (did you mean --${guess}?)` : names.length ? ` (its flags: ${names.map((n) => `--${n}`).join(', ')})` : ' (it takes no flags)';
      throw new UsageError(`unknown flag ${a.slice(0, eq >= 0 ? eq : a.length)} for pinsim ${spec.name}${hint}`, spec.name);
    }
    if (!f.value) {
      if (eq >= 0) throw new UsageError(`--${name} takes no value`, spec.name);
      out.flags[name] = true;
      continue;
    }
    let v: string | undefined;
    if (eq >= 0) v = a.slice(eq + 1);
    else {
      const next = argv[i + 1];
      // `--policy --json` is a missing value, not a policy named "--json".
      if (next !== undefined && !(next.startsWith('--') && next.length > 2)) {
        v = next;
        i++;
      }
    }
    if (v === undefined || v === '') throw new UsageError(`--${name} needs a value${f.meta ? ` (${f.meta})` : ''}`, spec.name);
    if (f.choices && !f.choices.includes(v)) {
      const guess = closest(v, f.choices);
      throw new UsageError(`--${name} must be one of ${f.choices.join(', ')}, not "${v}"${guess ? ` (did you mean ${guess}?)` : ''}`, spec.name);
    }
    out.flags[name] = v;
    if (f.repeat) (out.lists[name] ??= []).push(v);
  }
  if (out.operands.length < spec.minOperands) throw new UsageError(`pinsim ${spec.name} needs ${spec.operands}`, spec.name);
  if (out.operands.length > spec.maxOperands) {
    throw new UsageError(`pinsim ${spec.name} takes ${spec.operands}, got extra "${out.operands[spec.maxOperands]}"`, spec.name);
  }
  return out;
}

/** flagString() - the value of a value flag, if given. */
export function flagString(p: ParsedArgs, name: string): string | undefined {
  const v = p.flags[name];
  return typeof v === 'string' ? v : undefined;
}

/** flagSeed() - `--seed N`: a non-negative safe integer. */
export function flagSeed(p: ParsedArgs, command: string): number | undefined {
  const v = flagString(p, 'seed');
  if (v === undefined) return undefined;
  const n = /^\d+$/.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n)) throw new UsageError(`--seed must be a non-negative integer, not "${v}"`, command);
  return n;
}

/** flagParams() - `--param k=v`, repeatable, for scenario modules that export a function. */
export function flagParams(p: ParsedArgs, command: string): Record<string, string> {
  const params = dict<string>();
  for (const kv of p.lists['param'] ?? []) {
    const eq = kv.indexOf('=');
    if (eq <= 0) throw new UsageError(`--param takes key=value, not "${kv}"`, command);
    params[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  return params;
}

/** The width help and lists are written for: a terminal of 100 columns. */
export const COLUMNS = 100;

/**
 * wrapText() - @text broken at spaces into lines of at most @width code points (a word longer than
 * that stands alone), the first line starting with @first and the others with @rest.
 */
export function wrapText(text: string, width: number, first: string, rest = ' '.repeat([...first].length)): string[] {
  const lines: string[] = [];
  let line = first;
  let empty = true;
  for (const word of text.split(/\s+/).filter((w) => w !== '')) {
    if (!empty && [...line].length + 1 + [...word].length > width) {
      lines.push(line);
      line = rest;
      empty = true;
    }
    line += (empty ? '' : ' ') + word;
    empty = false;
  }
  lines.push(line);
  return lines.map((l) => l.trimEnd());
}

/** usage() - the usage text of one command: its synopsis and its flags, wrapped to COLUMNS. */
export function usage(spec: CommandSpec): string {
  const flags = Object.entries(spec.flags).flatMap(([n, f]) => {
    const head = `--${n}${f.value ? ` ${f.meta ?? 'VALUE'}` : ''}`;
    return wrapText(f.doc, COLUMNS, `  ${head.padEnd(26)} `, ' '.repeat(29));
  });
  const synopsis = ['pinsim', spec.name, spec.operands, flags.length ? '[flags]' : ''].filter((s) => s !== '').join(' ');
  return [`usage: ${synopsis}`, ...wrapText(spec.summary, COLUMNS, '  '), '', ...flags].join('\n');
}
