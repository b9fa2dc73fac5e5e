/**
 * KTAP version 1 for `pinsim check --format ktap`, as kernel CI reads it
 * (Documentation/dev-tools/ktap.rst; kselftest and kunit.py parse it): the version line, the plan
 * `1..N` (one test per scenario × policy), one result line per test, its diagnostic lines (`# …`)
 * directly before it, and kselftest's `# Totals:` line at the end. A SKIP is `ok … # SKIP reason`
 * (neither pass nor fail); bad input and pinsim's own failures are `not ok … # ERROR`.
 */

/** What one test came to. */
export type KtapStatus = 'pass' | 'fail' | 'skip' | 'error';

/** The counts behind the `# Totals:` line. */
export interface KtapTotals { pass: number; fail: number; skip: number; error: number }

/** ktapDescription() - a test description KTAP can carry: one line, no `#`. */
export function ktapDescription(s: string): string {
  return s.replace(/[\r\n]+/g, ' ').replace(/#/g, '').trim();
}

/** ktapDiagnostics() - @text as `# ` lines, one per line of text. */
export function ktapDiagnostics(text: string): string[] {
  return text.split('\n').filter((l) => l.trim() !== '').map((l) => `# ${l}`);
}

/** Writes one flat KTAP v1 document, line by line, as the tests finish. */
export class KtapWriter {
  private readonly out: (line: string) => void;
  private next = 1;
  readonly totals: KtapTotals = { pass: 0, fail: 0, skip: 0, error: 0 };

  constructor(out: (line: string) => void) {
    this.out = out;
  }

  /** The version line and the plan: @count tests follow. */
  begin(count: number): void {
    this.out('KTAP version 1');
    this.out(`1..${count}`);
  }

  /**
   * result() - one test: its diagnostics (each line of @details), then its result line.
   * @reason is the SKIP reason, or the ERROR's one-line summary.
   */
  result(status: KtapStatus, name: string, details: readonly string[] = [], reason = ''): void {
    for (const d of details) for (const line of ktapDiagnostics(d)) this.out(line);
    const n = this.next++;
    const desc = ktapDescription(name);
    const why = ktapDescription(reason);
    this.totals[status]++;
    if (status === 'pass') this.out(`ok ${n} ${desc}`);
    else if (status === 'skip') this.out(`ok ${n} ${desc} # SKIP${why ? ` ${why}` : ''}`);
    else if (status === 'fail') this.out(`not ok ${n} ${desc}`);
    else this.out(`not ok ${n} ${desc} # ERROR${why ? ` ${why}` : ''}`);
  }

  /** The closing diagnostic line, as kselftest prints it. */
  end(): void {
    const t = this.totals;
    this.out(`# Totals: pass:${t.pass} fail:${t.fail} xfail:0 xpass:0 skip:${t.skip} error:${t.error}`);
  }
}
