/**
 * Model-sanity checks for the fuzzer (issue 9), on every run, from the trace events a run emits
 * (runScenario's `trace` listener) and its RunResult. Unlike the invariants (docs/invariants.md), which are
 * findings about the modelled kernel, a failure here means pinsim itself is wrong:
 *
 * - `internal-error`      the run's outcome is `error` ([pinsim internal bug]), or runScenario threw
 * - `invalid-input`       runScenario refused the generated input (the generator, or validation, is wrong)
 * - `refcount-negative`   an event shows a refcount, pincount or mapcount below 0
 * - `refcount-underflow`  the model's own refcount-underflow BUG (folio_put_testzero) fired
 * - `frame-double-alloc`  / `frame-double-free`: a frame allocated while in use, or freed while free
 * - `frames-not-conserved` at the end, the frames in use (frame_final) ≠ allocated − freed
 * - `pins-unbalanced`     nr_foll_pin_acquired − nr_foll_pin_released ≠ live FOLL_PIN pins ≠ Σ pincount
 * - `pte-to-free-frame`   a PTE maps a frame that is free (set on one, or one freed under it)
 * - `notifier-unpaired`   an invalidate_range_end/abort without its start, a start twice, or a start
 *                         still open at a run that ended with nothing blocked
 * - `result-missing`      an op of the scenario (`actor.index`, or its `as`) has no result: an actor
 *                         or a name was dropped (a name like `__proto__` in a plain object)
 * - `bad-input-accepted`  input that must be refused ran (badInputRun())
 *
 * Plain JS: the caller passes runScenario (src's in vitest, dist's in soak.mjs).
 */

const ZERO_PFN = 0;

/** The books one run's trace events are checked against. */
/** The per-page field a range event's array holds. */
const PER_PAGE = new Map([['nrs', 'nr'], ['refcounts', 'refcount'], ['pincounts', 'pincount'], ['mapcounts', 'mapcount'], ['gens', 'gen'], ['indices', 'index'], ['dirty', 'dirty'], ['write', 'write']]);

class Books {
  constructor() {
    this.live = new Set();
    /** Each tail page of a live large folio → its head (a folio is live by its head). */
    this.headOf = new Map();
    /** `mm|va` → pfn of every present PTE, and pfn → how many PTEs map it. */
    this.ptes = new Map();
    this.mapped = new Map();
    this.livePins = 0;
    this.open = new Map();
    this.finals = new Map();
    this.sumPins = 0;
    this.vmstat = null;
    this.ended = false;
    this.bugSite = '';
    this.failures = [];
  }

  fail(kind, message) {
    if (this.failures.length < 20) this.failures.push({ kind, message });
  }

  unmapPte(key) {
    const old = this.ptes.get(key);
    if (old === undefined) return;
    this.ptes.delete(key);
    const n = (this.mapped.get(old) ?? 0) - 1;
    if (n > 0) this.mapped.set(old, n);
    else this.mapped.delete(old);
  }

  /** A range event is checked page by page, each page as the event it was before ranges existed. */
  on(ev) {
    if (!(ev.pfns instanceof Int32Array)) return this.onPage(ev);
    const step = ev.start !== undefined ? (ev.end - ev.start) / ev.pfns.length : 0;
    ev.pfns.forEach((pfn, i) => {
      if (pfn < 0) return;
      const page = { type: ev.type, time: ev.time, actor: ev.actor, pfn };
      if (ev.start !== undefined) page.va = ev.start + i * step;
      for (const [k, v] of Object.entries(ev)) {
        const one = PER_PAGE.get(k);
        if (one && ArrayBuffer.isView(v)) page[one] = v[i];
        else if (!(k in page) && !ArrayBuffer.isView(v) && k !== 'start' && k !== 'end') page[k] = v;
      }
      this.onPage(page);
    });
  }

  onPage(ev) {
    for (const f of ['refcount', 'pincount', 'mapcount']) {
      if (typeof ev[f] === 'number' && ev[f] < 0) this.fail('refcount-negative', `${ev.type} at ${ev.time}ns: pfn ${ev.pfn} ${f} ${ev[f]}`);
    }
    switch (ev.type) {
      case 'folio_alloc':
        if (this.live.has(ev.pfn)) this.fail('frame-double-alloc', `folio_alloc at ${ev.time}ns of pfn ${ev.pfn}, which is in use`);
        this.live.add(ev.pfn);
        for (let p = ev.pfn + 1; p < ev.pfn + (ev.nr ?? 1); p++) this.headOf.set(p, ev.pfn);
        break;
      // A page split off a large folio is a folio of its own from now on.
      case 'folio_split':
        this.headOf.delete(ev.pfn);
        this.live.add(ev.pfn);
        break;
      case 'folio_free': {
        if (!this.live.has(ev.pfn)) this.fail('frame-double-free', `folio_free at ${ev.time}ns of pfn ${ev.pfn}, which is free`);
        this.live.delete(ev.pfn);
        const pages = [ev.pfn];
        for (let p = ev.pfn + 1; p < ev.pfn + (ev.nr ?? 1); p++) {
          if (this.headOf.get(p) !== ev.pfn) continue;
          this.headOf.delete(p);
          pages.push(p);
        }
        for (const pfn of pages) {
          if (!this.mapped.get(pfn)) continue;
          const keys = [...this.ptes].filter(([, p]) => p === pfn).map(([k]) => k);
          this.fail('pte-to-free-frame', `folio_free at ${ev.time}ns of pfn ${pfn} while PTEs map it: ${keys.join(', ')}`);
        }
        break;
      }
      case 'pte_set': {
        const key = `${ev.mm}|${ev.va}`;
        this.unmapPte(key);
        if (ev.pfn === ZERO_PFN) break;
        if (!this.live.has(this.headOf.get(ev.pfn) ?? ev.pfn)) this.fail('pte-to-free-frame', `pte_set at ${ev.time}ns: ${ev.mm} va 0x${ev.va.toString(16)} → pfn ${ev.pfn}, which is free`);
        this.ptes.set(key, ev.pfn);
        this.mapped.set(ev.pfn, (this.mapped.get(ev.pfn) ?? 0) + 1);
        break;
      }
      case 'pte_clear': this.unmapPte(`${ev.mm}|${ev.va}`); break;
      // A large folio's pages come in one event of `nr` pages, a pin each.
      case 'dma_ref_get': if (ev.pin) this.livePins += ev.nr ?? 1; break;
      case 'dma_ref_put':
        if (ev.pin && (this.livePins -= ev.nr ?? 1) < 0) this.fail('pins-unbalanced', `dma_ref_put at ${ev.time}ns: more pins released than taken`);
        break;
      case 'notifier_start':
        if (this.open.has(ev.id)) this.fail('notifier-unpaired', `invalidate_range_start id ${ev.id} at ${ev.time}ns started twice`);
        this.open.set(ev.id, ev);
        break;
      case 'notifier_end':
      case 'notifier_abort':
        if (!this.open.delete(ev.id)) this.fail('notifier-unpaired', `${ev.type} id ${ev.id} at ${ev.time}ns without an open invalidate_range_start`);
        break;
      case 'kernel_bug': this.bugSite = ev.site; break;
      case 'frame_final':
        this.finals.set(ev.pfn, ev);
        this.sumPins += ev.pincount;
        break;
      case 'vmstat_final': this.vmstat = ev; break;
      case 'run_end': this.ended = true; break;
      default: break;
    }
  }

  /** Every top-level op of @scenario has a result under `actor.index` and under its `as`, as own keys. */
  results(r, scenario) {
    if (!scenario || typeof scenario !== 'object' || r.outcome === 'skip') return;
    for (const [actor, spec] of Object.entries(scenario.actors ?? {})) {
      const ops = Array.isArray(spec) ? spec : spec?.ops ?? [];
      ops.forEach((op, i) => {
        if (!Object.hasOwn(r.results, `${actor}.${i}`)) this.fail('result-missing', `no result for ${actor}.${i} (${op?.op})`);
        else if (typeof op?.as === 'string' && !Object.hasOwn(r.results, op.as)) this.fail('result-missing', `no result for "${op.as}" (${actor}.${i})`);
      });
    }
  }

  /** The end-of-run checks; @r the RunResult. */
  finish(r, scenario) {
    if (r.outcome === 'error') this.fail('internal-error', firstLines(r.error ?? 'outcome error'));
    this.results(r, scenario);
    if (this.bugSite.includes('folio_put_testzero')) this.fail('refcount-underflow', `kernel BUG at ${this.bugSite}: the model put a reference it did not hold`);
    const crashed = r.violations.some((v) => v.kind === 'kernel-bug');
    if (r.outcome === 'error' || r.outcome === 'skip' || crashed) return;
    if (!this.ended) {
      this.fail('frames-not-conserved', 'the run ended without its end-of-run events');
      return;
    }
    const missing = [...this.live].filter((p) => p !== ZERO_PFN && !this.finals.has(p));
    const extra = [...this.finals.keys()].filter((p) => !this.live.has(p));
    if (missing.length || extra.length) {
      this.fail('frames-not-conserved',
        `frames in use at the end: ${this.finals.size} by the frame table, ${this.live.size} by folio_alloc − folio_free` +
        `${missing.length ? `; allocated, never freed, not in use: pfn ${missing.slice(0, 8).join(',')}` : ''}` +
        `${extra.length ? `; in use, never allocated or already freed: pfn ${extra.slice(0, 8).join(',')}` : ''}`);
    }
    // A run cut short (an op blocked, or kernel.until) may end between alloc_page() and the frame's first holder.
    // With kernel.until the run may stop any actor, background work included, mid-path.
    const blocked = Object.values(r.results).some((x) => x === 'blocked') || scenario?.kernel?.until !== undefined;
    for (const [pfn, ev] of this.finals) {
      if (ev.refcount === 0 && pfn !== ZERO_PFN && !blocked) this.fail('frames-not-conserved', `pfn ${pfn} is in use with refcount 0 at the end`);
    }
    if (this.vmstat) {
      const net = this.vmstat.nr_foll_pin_acquired - this.vmstat.nr_foll_pin_released;
      if (net !== this.livePins || net !== this.sumPins) {
        this.fail('pins-unbalanced', `nr_foll_pin_acquired − nr_foll_pin_released = ${net}, live pins by the trace = ${this.livePins}, Σ pincount = ${this.sumPins}`);
      }
    }
    if (this.open.size && !blocked) {
      const ids = [...this.open.values()].map((e) => `id ${e.id} (${e.event} of ${e.mm} at ${e.time}ns by ${e.actor})`);
      this.fail('notifier-unpaired', `invalidate_range_start never ended though nothing is blocked: ${ids.join(', ')}`);
    }
  }
}

/**
 * failureSignature() - what makes two failures the same bug: the kind and the first line of the
 * message up to its first `: ` (the whole first line for an internal error), numbers blanked.
 */
export function failureSignature(f) {
  const line = f.message.split('\n')[0];
  const head = f.kind === 'internal-error' ? line : line.split(': ')[0];
  return `${f.kind}|${head.replace(/\d+/g, '#').slice(0, 120)}`;
}

function firstLines(s, n = 6) {
  return String(s).split('\n').slice(0, n).join('\n');
}

/**
 * sanityRun() - run @scenario with @runScenario and check it.
 * @opts: runScenario's options (policy, seed, window, chooser...); `trace` is taken here.
 * Return: `{ result, failures: [{ kind, message }] }` (result undefined when runScenario threw).
 */
export function sanityRun(runScenario, scenario, opts = {}) {
  const books = new Books();
  let result;
  try {
    result = runScenario(scenario, { ...opts, trace: (ev) => books.on(ev) });
  } catch (e) {
    if (e && e.name === 'ScenarioError') books.fail('invalid-input', firstLines(e.message, 8));
    else books.fail('internal-error', `runScenario threw: ${firstLines(e && e.stack ? e.stack : String(e))}`);
    return { result: undefined, failures: books.failures };
  }
  books.finish(result, scenario);
  return { result, failures: books.failures };
}

/**
 * badInputRun() - feed one generated bad input (fuzz-gen.mjs generateBadInput()) to pinsim: an
 * object to @runScenario, JSON text to @readJson (the loader's reader: (text) => { ok, issue? }).
 * It must be refused as bad input (a ScenarioError, or an issue), never crash, never run.
 * Return: the failures, `[]` when it was refused.
 */
export function badInputRun(runScenario, readJson, bad) {
  const where = `bad input ${bad.cls}`;
  try {
    if (bad.text !== undefined) {
      const r = readJson(bad.text);
      return r.ok ? [{ kind: 'bad-input-accepted', message: `${where}: the JSON reader took it` }] : [];
    }
    runScenario(bad.input);
    return [{ kind: 'bad-input-accepted', message: `${where}: runScenario ran it` }];
  } catch (e) {
    if (e && e.name === 'ScenarioError') return [];
    return [{ kind: 'internal-error', message: `${where}: ${firstLines(e && e.stack ? e.stack : String(e))}` }];
  }
}
