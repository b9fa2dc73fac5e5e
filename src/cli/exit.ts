/**
 * What goes wrong, mapped to the exit statuses of the CLI: bad usage or input (UsageError,
 * ScenarioError, a contract feature not built yet) prints its message and exits 2, never with a
 * stack; anything else is pinsim's own bug, printed once as `[pinsim internal bug] …` followed by
 * the stack frames (the one case a stack helps), exit 3.
 */
import { PINSIM_BUG_PREFIX } from '../engine/bug.js';
import { ScenarioError, formatIssues } from '../scenario/format/types.js';
import { UsageError } from './args.js';
import { NotImplementedError } from './common.js';

/** The frames of @e's stack (`    at …` lines), without the message the stack starts with. */
function stackFrames(e: unknown): string[] {
  if (!(e instanceof Error) || !e.stack) return [];
  return e.stack.split('\n').filter((l) => /^\s+at /.test(l));
}

/** report() - print @e as its exit status wants it. Return: that status. */
export function report(e: unknown): number {
  if (e instanceof UsageError) {
    process.stderr.write(`pinsim: ${e.message}\n`);
    if (e.command) process.stderr.write(`run "pinsim ${e.command} --help" for its flags\n`);
    return 2;
  }
  if (e instanceof ScenarioError) {
    process.stderr.write(`${formatIssues(e.issues, e.file)}\n`);
    return 2;
  }
  if (e instanceof NotImplementedError) {
    process.stderr.write(`pinsim: ${e.message}\n`);
    return 2;
  }
  // PINSIM_BUG() messages carry the prefix already; anything else thrown is a bug all the same.
  const msg = e instanceof Error ? `${e.name === 'PinsimInternalError' ? '' : `${e.name}: `}${e.message}` : String(e);
  const head = msg.startsWith(PINSIM_BUG_PREFIX) ? msg : `${PINSIM_BUG_PREFIX} ${msg}`;
  process.stderr.write([head, ...stackFrames(e)].map((l) => `${l}\n`).join(''));
  return 3;
}
