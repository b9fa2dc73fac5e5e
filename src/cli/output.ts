/**
 * The outputs of one run, shared by `pinsim run` and `pinsim replay`: the text report (or, with
 * `--json`, the result as one JSON document) and the trace (`--trace text|json|chrome`), which goes
 * to `--out FILE` or else to stdout; when the trace takes stdout, the report goes to stderr, so
 * that stdout holds one thing only.
 */
import { writeFileSync } from 'node:fs';
import { formatChromeTrace, toChromeTrace } from '../report/chrome.js';
import { prettyJson, toJson } from '../report/json.js';
import { formatRunText, formatTraceLine, opNamesOf } from '../report/text.js';
import type { MmTraceEvent } from '../mm/trace_events.js';
import type { RunResult } from '../scenario/run/result.js';
import type { Scenario } from '../scenario/format/types.js';
import { UsageError, flagString, type FlagSpec, type ParsedArgs } from './args.js';

/** The flags of the run outputs, for a command's spec. */
export const OUTPUT_FLAGS: Readonly<Record<string, FlagSpec>> = {
  trace: {
    value: true, meta: 'text|json|chrome', choices: ['text', 'json', 'chrome'],
    doc: 'also write the trace: ftrace-style lines, a JSON array, or a Chrome/Perfetto trace (ui.perfetto.dev, chrome://tracing)',
  },
  out: { value: true, meta: 'FILE', doc: 'where --trace writes (default stdout, and the report then goes to stderr)' },
  json: { value: false, doc: 'print the result as one JSON document' },
  'raw-chains': { value: false, doc: "also print each violation's causal chain as raw trace steps, under its story" },
};

export interface RunOutput {
  json: boolean;
  trace: 'text' | 'json' | 'chrome' | undefined;
  outFile: string | undefined;
  rawChains: boolean;
  /** The trace listener to hand to the run (undefined without --trace). */
  listener: ((ev: MmTraceEvent) => void) | undefined;
  /** Where the report goes: stderr when the trace takes stdout. */
  report: NodeJS.WriteStream;
}

/**
 * runOutput() - the outputs @p asks for, checked. Throws UsageError for `--json --trace` without
 * `--out` (stdout holds the JSON result) and for `--out` without `--trace`.
 */
export function runOutput(p: ParsedArgs, command: string): RunOutput & { lines: string[]; events: MmTraceEvent[] } {
  const json = p.flags['json'] === true;
  const trace = flagString(p, 'trace') as RunOutput['trace'];
  const outFile = flagString(p, 'out');
  if (json && trace && outFile === undefined) {
    throw new UsageError('with --json, --trace needs --out FILE (stdout holds the JSON result)', command);
  }
  if (outFile !== undefined && !trace) throw new UsageError('--out names the file --trace writes; add --trace text|json|chrome', command);
  const lines: string[] = [];
  const events: MmTraceEvent[] = [];
  const listener = trace === 'text' ? (ev: MmTraceEvent) => void lines.push(formatTraceLine(ev))
    : trace ? (ev: MmTraceEvent) => void events.push({ ...ev }) : undefined;
  const report = trace && outFile === undefined ? process.stderr : process.stdout;
  return { json, trace, outFile, rawChains: p.flags['raw-chains'] === true, listener, report, lines, events };
}

/** writeRun() - the report (or JSON result) of @r, then its trace, where @o says. */
export function writeRun(r: RunResult, s: Scenario, o: ReturnType<typeof runOutput>, command: string): void {
  o.report.write(o.json ? toJson(r) + '\n' : formatRunText(r, { rawChains: o.rawChains, names: opNamesOf(s) }));
  writeTrace(r, o, command);
}

/** writeTrace() - the trace @o collected, to --out or stdout. */
export function writeTrace(r: RunResult, o: ReturnType<typeof runOutput>, command: string): void {
  if (!o.trace) return;
  const text = o.trace === 'text' ? o.lines.map((l) => l + '\n').join('')
    : o.trace === 'json' ? prettyJson(o.events) + '\n'
    : formatChromeTrace(toChromeTrace(o.events, r));
  if (o.outFile === undefined) {
    process.stdout.write(text);
    return;
  }
  try {
    writeFileSync(o.outFile, text);
  } catch (e) {
    throw new UsageError(`cannot write --out ${o.outFile}: ${e instanceof Error ? e.message : String(e)}`, command);
  }
}
