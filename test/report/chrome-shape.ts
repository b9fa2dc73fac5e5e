/**
 * chromeShapeProblems() - what would keep a Chrome / Perfetto JSON trace from loading as intended in
 * ui.perfetto.dev and chrome://tracing: every event has ph, pid, tid, name and (but metadata) ts;
 * X slices have dur ≥ 0 and nest on each track; each flow has one start and one end (same id, name
 * and cat, the end with bp "e"), each lying inside a slice of its track; every track is named.
 * Shared by test/report/chrome.test.ts and test/cli/chrome.test.ts.
 */

export interface RawEvent {
  name?: unknown;
  ph?: unknown;
  pid?: unknown;
  tid?: unknown;
  ts?: unknown;
  dur?: unknown;
  id?: unknown;
  cat?: unknown;
  bp?: unknown;
  s?: unknown;
  args?: Record<string, unknown>;
}

/** Float slack for µs values that came from integer ns. */
const EPS = 1e-6;

export function chromeShapeProblems(doc: unknown): string[] {
  const problems: string[] = [];
  const d = doc as { traceEvents?: unknown; displayTimeUnit?: unknown; metadata?: Record<string, unknown> };
  if (!Array.isArray(d.traceEvents)) return ['no traceEvents array'];
  if (d.displayTimeUnit !== 'ns') problems.push(`displayTimeUnit is ${String(d.displayTimeUnit)}`);
  for (const k of ['scenario', 'policy', 'seed', 'traceHash']) if (d.metadata?.[k] === undefined) problems.push(`metadata.${k} missing`);
  const evs = d.traceEvents as RawEvent[];
  const named = new Set<number>();
  evs.forEach((e, i) => {
    const at = `traceEvents[${i}] (${String(e.ph)} ${String(e.name)})`;
    if (typeof e.ph !== 'string') problems.push(`${at}: no ph`);
    if (typeof e.name !== 'string' || e.name === '') problems.push(`${at}: no name`);
    if (typeof e.pid !== 'number') problems.push(`${at}: no pid`);
    if (typeof e.tid !== 'number') problems.push(`${at}: no tid`);
    if (e.ph !== 'M' && (typeof e.ts !== 'number' || !Number.isFinite(e.ts) || e.ts < 0)) problems.push(`${at}: bad ts ${String(e.ts)}`);
    if (e.ph === 'X' && (typeof e.dur !== 'number' || !Number.isFinite(e.dur) || e.dur < 0)) problems.push(`${at}: bad dur ${String(e.dur)}`);
    if (e.ph === 'M' && e.name === 'thread_name') {
      if (typeof e.args?.['name'] !== 'string') problems.push(`${at}: thread_name without args.name`);
      named.add(e.tid as number);
    }
    if (e.ph === 'C' && !Object.values(e.args ?? {}).every((v) => typeof v === 'number')) problems.push(`${at}: counter args must be numbers`);
    if (e.ph === 'i' && !['g', 'p', 't'].includes(String(e.s))) problems.push(`${at}: instant without scope`);
    if (!['X', 'M', 's', 'f', 'C', 'i'].includes(String(e.ph))) problems.push(`${at}: unexpected ph`);
  });
  for (const e of evs) {
    if (e.ph !== 'M' && !named.has(e.tid as number)) problems.push(`tid ${String(e.tid)} (${String(e.name)}) has no thread_name`);
  }

  // Slices nest on each track.
  const slices = new Map<number, { ts: number; end: number; name: string }[]>();
  for (const e of evs) {
    if (e.ph !== 'X') continue;
    const l = slices.get(e.tid as number) ?? [];
    l.push({ ts: e.ts as number, end: (e.ts as number) + (e.dur as number), name: e.name as string });
    slices.set(e.tid as number, l);
  }
  for (const [tid, list] of slices) {
    const sorted = [...list].sort((a, b) => a.ts - b.ts || b.end - a.end);
    const stack: { ts: number; end: number; name: string }[] = [];
    for (const s of sorted) {
      while (stack.length && (stack[stack.length - 1] as { end: number }).end <= s.ts + EPS) stack.pop();
      const top = stack[stack.length - 1];
      if (top && s.end > top.end + EPS) problems.push(`tid ${tid}: ${s.name} [${s.ts}, ${s.end}] overlaps ${top.name} [${top.ts}, ${top.end}] without nesting`);
      stack.push(s);
    }
  }

  // Flows pair up and bind to slices.
  const flows = new Map<unknown, RawEvent[]>();
  for (const e of evs) if (e.ph === 's' || e.ph === 'f') flows.set(e.id, [...(flows.get(e.id) ?? []), e]);
  for (const [id, list] of flows) {
    const s = list.filter((e) => e.ph === 's'), f = list.filter((e) => e.ph === 'f');
    if (s.length !== 1 || f.length !== 1) {
      problems.push(`flow ${String(id)}: ${s.length} start(s), ${f.length} end(s)`);
      continue;
    }
    const [a, b] = [s[0] as RawEvent, f[0] as RawEvent];
    if (a.name !== b.name || a.cat !== b.cat) problems.push(`flow ${String(id)}: start and end differ in name or cat`);
    if (b.bp !== 'e') problems.push(`flow ${String(id)}: end without bp "e"`);
    if ((a.ts as number) > (b.ts as number) + EPS) problems.push(`flow ${String(id)}: ends before it starts`);
    for (const e of [a, b]) {
      const inside = (slices.get(e.tid as number) ?? []).some((x) => x.ts <= (e.ts as number) + EPS && (e.ts as number) <= x.end + EPS);
      if (!inside) problems.push(`flow ${String(id)}: its ${String(e.ph)} at ${String(e.ts)} on tid ${String(e.tid)} is in no slice`);
    }
  }
  return problems;
}

/** The thread names of a trace, by tid. */
export function threadNames(doc: { traceEvents: RawEvent[] }): Map<number, string> {
  const m = new Map<number, string>();
  for (const e of doc.traceEvents) if (e.ph === 'M' && e.name === 'thread_name') m.set(e.tid as number, String(e.args?.['name']));
  return m;
}
