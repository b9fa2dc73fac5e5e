/**
 * The JSON report: the result format (one run, or a list of runs), pretty-printed with
 * two-space indents. Arrays of numbers (`choices`) stay on one line, so a long schedule does not
 * take a line per choice. The output parses back to exactly what JSON.stringify would give.
 */
import type { RunResult } from '../scenario/run/result.js';

/** toJson() - @r as one pretty JSON document (no trailing newline). */
export function toJson(r: RunResult | readonly RunResult[]): string {
  return prettyJson(r);
}

/** prettyJson() - JSON.stringify(value, null, 2), with arrays of numbers kept on one line. */
export function prettyJson(value: unknown, indent = ''): string {
  // Let JSON.stringify decide what is serialisable (toJSON, undefined, functions) first.
  const plain: unknown = JSON.parse(JSON.stringify(value) ?? 'null');
  return pretty(plain, indent);
}

function pretty(v: unknown, indent: string): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  const inner = indent + '  ';
  if (Array.isArray(v)) {
    if (v.length === 0) return '[]';
    if (v.every((x) => typeof x === 'number')) return `[${v.join(', ')}]`;
    return `[\n${v.map((x) => inner + pretty(x, inner)).join(',\n')}\n${indent}]`;
  }
  const entries = Object.entries(v as Record<string, unknown>);
  if (entries.length === 0) return '{}';
  return `{\n${entries.map(([k, x]) => `${inner}${JSON.stringify(k)}: ${pretty(x, inner)}`).join(',\n')}\n${indent}}`;
}
