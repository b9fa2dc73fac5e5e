/** The issue collector and path helpers of validation. */
import { parseSize, parseTime } from '../../engine/clock.js';
import type { Parsed } from '../../engine/clock.js';
import type { WordSpec } from '../ops/op.js';
import { closest } from './closest.js';
import type { ParamSpec, ValidationContext } from './context.js';
import type { Issue } from './types.js';
// ---------------------------------------------------------------------------------------------
// Paths and the issue collector

export const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** pathKey() - `base.key`, or `base["key"]` when the key is not an identifier. */
export function pathKey(base: string, key: string): string {
  if (!IDENT.test(key)) return `${base}[${JSON.stringify(key)}]`;
  return base ? `${base}.${key}` : key;
}

/** pathIndex() - `base[i]`. */
export function pathIndex(base: string, i: number): string {
  return `${base}[${i}]`;
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function keysOf(v: unknown): readonly string[] {
  return isObject(v) ? Object.keys(v) : [];
}

/**
 * typeName() - what @v is, for a message: `string "x"`, `number 3`, `an array`. Any value a module
 * can export is named without throwing: a BigInt, a function, a symbol, a number JSON cannot write.
 */
export function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  switch (typeof v) {
    case 'object': return 'an object';
    case 'bigint': return `a BigInt ${v}n`;
    case 'function': return 'a function';
    case 'symbol': return 'a symbol';
    case 'undefined': return 'undefined';
    case 'number': return `number ${showNumber(v)}`;
    default: return `${typeof v} ${JSON.stringify(v)}`;
  }
}

/** showNumber() - @n as written: `Infinity` (what `1e400` parses to) rather than JSON's `null`. */
export function showNumber(n: number): string {
  return Number.isFinite(n) ? JSON.stringify(n) : String(n);
}

/** show() - @v quoted for a message: JSON where JSON can write it, else its typeName(). */
export function show(v: unknown): string {
  if (typeof v === 'number') return showNumber(v);
  return typeof v === 'string' ? JSON.stringify(v) : typeName(v);
}

/** The issues found so far, and readers that record an issue and return undefined on bad input. */
export class Check {
  readonly issues: Issue[] = [];
  readonly ctx: ValidationContext;
  constructor(ctx: ValidationContext) {
    this.ctx = ctx;
  }

  add(code: string, path: string, message: string, more: { expected?: string; didYouMean?: string | undefined } = {}): void {
    const issue: Issue = { code, path, message };
    if (more.expected !== undefined) issue.expected = more.expected;
    if (more.didYouMean !== undefined) issue.didYouMean = more.didYouMean;
    this.issues.push(issue);
  }

  wrongType(v: unknown, path: string, expected: string): undefined {
    this.add('wrong-type', path, `expected ${expected}, got ${typeName(v)}`, { expected });
    return undefined;
  }

  object(v: unknown, path: string, expected: string): Record<string, unknown> | undefined {
    return isObject(v) ? v : this.wrongType(v, path, expected);
  }

  /** Unknown keys of `o` → 'unknown-field' with the closest allowed one. */
  keys(o: Record<string, unknown>, allowed: readonly string[], path: string, what: string): void {
    for (const k of Object.keys(o)) {
      if (allowed.includes(k)) continue;
      this.add('unknown-field', pathKey(path, k), `unknown field "${k}" in ${what}`,
        { expected: `one of ${allowed.join(', ')}`, didYouMean: closest(k, allowed) });
    }
  }

  /** `o[k]`, recording 'missing-field' when it is absent. */
  required(o: Record<string, unknown>, k: string, path: string): unknown {
    if (o[k] === undefined) this.add('missing-field', pathKey(path, k), `missing required field "${k}"`);
    return o[k];
  }

  string(v: unknown, path: string): string | undefined {
    if (v === undefined) return undefined;
    return typeof v === 'string' ? v : this.wrongType(v, path, 'a string');
  }

  bool(v: unknown, path: string): boolean | undefined {
    if (v === undefined) return undefined;
    return typeof v === 'boolean' ? v : this.wrongType(v, path, 'true or false');
  }

  int(v: unknown, path: string): number | undefined {
    if (v === undefined) return undefined;
    return Number.isSafeInteger(v) && (v as number) >= 0 ? (v as number) : this.wrongType(v, path, 'a non-negative integer');
  }

  size(v: unknown, path: string): number | undefined {
    return this.unit(v, path, parseSize(v), 'bad-size', 'size');
  }

  time(v: unknown, path: string): number | undefined {
    return this.unit(v, path, parseTime(v), 'bad-time', 'time');
  }

  private unit(v: unknown, path: string, r: Parsed, code: string, what: string): number | undefined {
    if (v === undefined) return undefined;
    if (r.ok) return r.value;
    if (typeof v !== 'number' && typeof v !== 'string') return this.wrongType(v, path, r.expected);
    this.add(code, path, `bad ${what} ${show(v)}${typeof v === 'number' && !Number.isSafeInteger(v) && Math.abs(v) > Number.MAX_SAFE_INTEGER ? ' (beyond 2^53-1)' : ''}`, { expected: r.expected });
    return undefined;
  }

  /** One word of `values`; an unknown word → `code` with the closest one. */
  word(v: unknown, values: readonly string[], path: string, code: string): string | undefined {
    const s = this.string(v, path);
    if (s === undefined || values.includes(s)) return s;
    this.add(code, path, `unknown value "${s}"`, { expected: `one of ${values.join(', ')}`, didYouMean: closest(s, values) });
    return undefined;
  }

  /**
   * One word of @words: an unknown one → @code with the closest word; a word of the format pinsim
   * has not built → not-implemented (@what names the field in the message: `madvise advice`).
   */
  builtWord(v: unknown, words: readonly WordSpec[], path: string, code: string, what: string): string | undefined {
    const s = this.word(v, words.map((w) => w.word), path, code);
    if (s === undefined || words.find((w) => w.word === s)?.built !== false) return s;
    this.notBuilt(path, `${what} "${s}"`, words.filter((w) => w.built).map((w) => w.word).join(', '));
    return undefined;
  }

  /** A list of words of @words, each checked as builtWord() does. */
  flags(v: unknown, words: readonly WordSpec[], path: string, what: string): string[] | undefined {
    if (!Array.isArray(v)) return this.wrongType(v, path, `an array of ${words.map((w) => w.word).join(', ')}`);
    const out = v.map((x, i) => this.builtWord(x, words, pathIndex(path, i), 'unknown-flag', what));
    return out.every((x) => x !== undefined) ? out : undefined;
  }

  /** @what is part of the format but pinsim has not built it yet: never run as a stub. */
  notBuilt(path: string, what: string, expected?: string): void {
    this.add('not-implemented', path, `${what} is part of the contract but not built yet`, expected === undefined ? {} : { expected });
  }

  param(v: unknown, spec: ParamSpec, path: string): number | string | boolean | undefined {
    switch (spec.kind) {
      case 'time': return this.time(v, path);
      case 'size': return this.size(v, path);
      case 'bool': return this.bool(v, path);
      case 'int': return Number.isSafeInteger(v) ? (v as number) : this.wrongType(v, path, 'an integer');
      case 'enum': return this.word(v, spec.values ?? [], path, 'unknown-value');
    }
  }
}

