#!/usr/bin/env node
/**
 * The `pinsim` entry point: dispatches the command word, and maps what goes wrong to
 * the exit statuses of the contract: 2 for bad input or usage (the message on stderr, never a
 * stack trace), 3 for pinsim's own bug (`[pinsim internal bug] …` with the stack, the one case a
 * stack helps). Commands of the contract not built yet refuse with `not-implemented`, exit 2.
 */
import { readFileSync } from 'node:fs';
import { own } from '../engine/dict.js';
import { closest } from '../scenario/format/closest.js';
import { UsageError, usage } from './args.js';
import type { CommandSpec } from './args.js';
import { CHECK_SPEC, cmdCheck } from './check.js';
import { COMPARE_SPEC, cmdCompare } from './compare.js';
import { EXPLORE_SPEC, cmdExplore } from './explore.js';
import { report } from './exit.js';
import { MERGE_SPEC, cmdMerge } from './merge.js';
import { REPLAY_SPEC, cmdReplay } from './replay.js';
import { LIST_SPEC, cmdList } from './list.js';
import { RUN_SPEC, cmdRun } from './run.js';

interface Command {
  spec: CommandSpec;
  exec(argv: readonly string[]): Promise<number>;
}

const COMMANDS: Readonly<Record<string, Command>> = {
  run: { spec: RUN_SPEC, exec: cmdRun },
  check: { spec: CHECK_SPEC, exec: cmdCheck },
  compare: { spec: COMPARE_SPEC, exec: cmdCompare },
  explore: { spec: EXPLORE_SPEC, exec: cmdExplore },
  replay: { spec: REPLAY_SPEC, exec: cmdReplay },
  merge: { spec: MERGE_SPEC, exec: cmdMerge },
  list: { spec: LIST_SPEC, exec: cmdList },
};


const HELP = `pinsim - Linux memory management as devices see it: GUP pins, MMU notifiers, DMA races

usage:
  pinsim run <scenario> [--policy P] [--seed N] [--json] [--trace text|json|chrome] [--out FILE]
             [--check-determinism]               one run, told as a story (or JSON), with its trace
  pinsim check <scenario|dir>... [--policy NAME|all] [--seed N] [--json | --format ktap]
                                                 run scenarios against their expectations
  pinsim compare <scenario|dir>... [--policy all|p1,p2] [--json]
                                                 who is punished under each policy
  pinsim explore <scenario> [--strategy random|pct|dfs] [--runs N] [--time S] [--jobs J]
                 [--shard i/n] [--save DIR] [--states] [--json]
                                                 a verdict for each forbidden or allowed outcome
  pinsim replay <replay.json> [--json] [--trace text|json|chrome] [--out FILE]
                                                 exact re-run of a saved counterexample
  pinsim merge <result.json>...                  join sharded explore --json results
  pinsim list                                    policies, devices, invariants, example scenarios
  pinsim help <command>                          the flags of one command (or <command> --help)
  pinsim --version

exit status: 0 ok; 1 a violation, an unmet expectation, or (explore) a forbidden outcome observed;
  2 bad input or usage, or nothing explored; 3 a pinsim internal bug; 130 explore interrupted.
The manual: docs/manual.md in the package.
`;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
  return String(pkg.version ?? 'unknown');
}

function wantsHelp(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end < 0 ? argv : argv.slice(0, end)).some((a) => a === '--help' || a === '-h');
}

/** main() - Return: the exit status. Throws only what report() classifies. */
export async function main(argv: readonly string[]): Promise<number> {
  const [word, ...rest] = argv;
  if (word === undefined) {
    process.stderr.write(HELP);
    return 2;
  }
  if (word === '--help' || word === '-h' || word === 'help') {
    // `pinsim help run` is `pinsim run --help`.
    const topic = word === 'help' ? rest[0] : undefined;
    if (topic === undefined) {
      process.stdout.write(HELP);
      return 0;
    }
    const about = COMMANDS[topic];
    if (!about) {
      const guess = closest(topic, Object.keys(COMMANDS));
      throw new UsageError(`no command "${topic}" to help with${guess ? ` (did you mean ${guess}?)` : ''}; run pinsim --help`);
    }
    process.stdout.write(usage(about.spec) + '\n');
    return 0;
  }
  if (word === '--version' || word === '-V' || word === 'version') {
    process.stdout.write(`${version()}\n`);
    return 0;
  }
  const cmd = own(COMMANDS, word);
  if (!cmd) {
    const guess = closest(word, Object.keys(COMMANDS));
    throw new UsageError(`unknown command "${word}"${guess ? ` (did you mean ${guess}?)` : ''}; run pinsim --help`);
  }
  if (wantsHelp(rest)) {
    process.stdout.write(usage(cmd.spec) + '\n');
    return 0;
  }
  return cmd.exec(rest);
}

// `pinsim check … | head` closes the pipe early: that is the reader's choice, not a pinsim bug.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw e;
});

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.exitCode = report(e);
  },
);
