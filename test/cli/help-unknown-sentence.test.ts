import { beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt } from '../helpers/cli.js';
import { runAll } from './command-table.js';

beforeAll(ensureBuilt, 120_000);

/**
 * `pairgate help nope` said `pairgate: "pairgate" has no command "nope"; ...`: a line that starts
 * with a quote, where `pairgate nope` says a sentence, `Unknown command: ...`. Both say the same.
 */
describe('pairgate help <unknown>: a sentence, as pairgate <unknown> says it', () => {
  it('"Unknown command: ..." at every level, the same line as the command run directly', async () => {
    const cases = [['nope'], ['grant', 'nope'], ['box', 'dns', 'nope'], ['grant', 'crate']];
    const runs = await runAll(cases.flatMap((path) => [['help', ...path], path]));
    cases.forEach((path, index) => {
      const [viaHelp, direct] = [runs[2 * index]!, runs[2 * index + 1]!];
      expect(viaHelp.status, path.join(' ')).toBe(2);
      expect(viaHelp.stderr, path.join(' ')).toMatch(/^pairgate: Unknown command: "pairgate[^"]*" has no (sub)?command "[^"]+".*\[unknown_command\]\n$/);
      expect(viaHelp.stderr).toBe(direct.stderr);
    });
  }, 60_000);

  it('one level too deep: a sentence too', async () => {
    const [run] = await runAll([['help', 'grant', 'create', 'extra']]);
    expect(run).toEqual({ status: 2, stdout: '', stderr: 'pairgate: Unknown command: "pairgate grant create" has no subcommands, so no "extra". [unknown_command]\n' });
  }, 60_000);
});
