import { beforeAll, describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/program.js';
import { ensureBuilt } from '../helpers/cli.js';
import { commandPaths, runAll } from './command-table.js';

beforeAll(ensureBuilt, 120_000);

/** The names a person may give under `names` (its help command aside), sorted as --help lists them. */
const listed = (names: string[]): string => names.filter((name) => name !== 'help').sort().join(', ');

/**
 * A command made of subcommands run without one (`pairgate grant`, `pairgate box dns`) printed its
 * whole help on standard error and exited 2 with no error line: nothing said what was wrong, and a
 * script found no code. It is a usage error as the others are: `pairgate: Name a subcommand of
 * "pairgate grant": approve, create, ... [missing_command]`, then the --help to run, exit 2; read
 * off the command table, so a group added later is held to it too.
 */
describe('a command group run without its subcommand', () => {
  const program = buildProgram();
  const groups = commandPaths(program).filter(({ command }) => command.commands.length > 0).map(({ path, command }) => ({ path, names: command.commands.map((sub) => sub.name()) }));

  it('each says "Name a subcommand of ..." with the ones there are, [missing_command], then the --help to run, exit 2', async () => {
    // Groups at two levels.
    expect(groups.map(({ path }) => path.join(' '))).toEqual(expect.arrayContaining(['grant', 'lan', 'box', 'box dns', 'session', 'peers']));
    const runs = await runAll(groups.map(({ path }) => path));
    groups.forEach(({ path, names }, index) => {
      const line = ['pairgate', ...path].join(' ');
      expect(runs[index], line).toEqual({ status: 2, stdout: '', stderr: `pairgate: Name a subcommand of "${line}": ${listed(names)}. [missing_command]\n(run \`${line} --help\` for usage)\n` });
    });
  }, 120_000);

  it('the words, for two of them; the help is still there when asked for (--help, help: standard output, exit 0)', async () => {
    const [grant, dns, flag, command] = await runAll([['grant'], ['box', 'dns'], ['grant', '--help'], ['grant', 'help']]);
    expect(grant!.stderr).toBe('pairgate: Name a subcommand of "pairgate grant": approve, create, refuse, show. [missing_command]\n(run `pairgate grant --help` for usage)\n');
    expect(dns!.stderr).toBe('pairgate: Name a subcommand of "pairgate box dns": delete, list, set. [missing_command]\n(run `pairgate box dns --help` for usage)\n');
    for (const run of [flag, command]) expect(run).toMatchObject({ status: 0, stderr: '', stdout: expect.stringContaining('Usage: pairgate grant [options] [command]') as unknown as string });
  }, 60_000);

  it('pairgate alone shows its whole help (standard error, exit 2): typed to see what it does, it is shown, not told off', async () => {
    const [alone] = await runAll([[]]);
    expect(alone).toMatchObject({ status: 2, stdout: '', stderr: expect.stringContaining('Usage: pairgate [options] [command]') as unknown as string });
    expect(alone!.stderr).not.toContain('[missing_command]');
  }, 60_000);
});
