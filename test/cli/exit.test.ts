/**
 * How the CLI reports what goes wrong: bad usage exits 2 without a stack; pinsim's own
 * bug exits 3 and is printed once — `[pinsim internal bug] …` then the stack frames, never the
 * message a second time — whether it came from PINSIM_BUG() or from any other throw.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { PINSIM_BUG, PinsimInternalError } from '../../src/engine/bug.js';
import { UsageError } from '../../src/cli/args.js';
import { report } from '../../src/cli/exit.js';

function stderrOf(e: unknown): { status: number; text: string } {
  const out: string[] = [];
  const spy = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => { out.push(String(s)); return true; });
  try {
    return { status: report(e), text: out.join('') };
  } finally {
    spy.mockRestore();
  }
}

function thrown(f: () => void): unknown {
  try { f(); } catch (e) { return e; }
  return undefined;
}

afterEach(() => vi.restoreAllMocks());

describe('report()', () => {
  it('a PINSIM_BUG() exits 3, its message printed once, then only stack frames', () => {
    const { status, text } = stderrOf(thrown(() => PINSIM_BUG('migrate_vma_finalize: destination of the wrong kind')));
    expect(status).toBe(3);
    const lines = text.trimEnd().split('\n');
    expect(lines[0]).toBe('[pinsim internal bug] migrate_vma_finalize: destination of the wrong kind');
    expect(text.split('[pinsim internal bug]')).toHaveLength(2);
    expect(text.split('destination of the wrong kind')).toHaveLength(2);
    expect(lines.length).toBeGreaterThan(1);
    for (const l of lines.slice(1)) expect(l).toMatch(/^\s+at /);
  });

  it('a bug a run reported, raised again by its caller, keeps one prefix', () => {
    const e = new PinsimInternalError('[pinsim internal bug] shrink: the counterexample does not replay');
    expect(e.message).toBe('[pinsim internal bug] shrink: the counterexample does not replay');
    expect(stderrOf(e).text.split('[pinsim internal bug]')).toHaveLength(2);
  });

  it('any other throw is a pinsim bug too: exit 3, its kind and message once', () => {
    const { status, text } = stderrOf(thrown(() => { throw new TypeError("Cannot read properties of undefined (reading 'wq')"); }));
    expect(status).toBe(3);
    expect(text.split('\n')[0]).toBe("[pinsim internal bug] TypeError: Cannot read properties of undefined (reading 'wq')");
    expect(text.split('Cannot read properties')).toHaveLength(2);
  });

  it('bad usage exits 2 with no stack', () => {
    const { status, text } = stderrOf(new UsageError('unknown flag --frob', 'run'));
    expect(status).toBe(2);
    expect(text).toBe('pinsim: unknown flag --frob\nrun "pinsim run --help" for its flags\n');
  });
});
