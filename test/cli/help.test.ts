import { beforeAll, describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/program.js';
import { ensureBuilt, runCli } from '../helpers/cli.js';
import { commandPaths, runAll } from './command-table.js';

/**
 * `pairgate help ...` and every command's --help, read off the command table itself (the program
 * `main.ts` runs), so a command added later is checked without anyone adding it here.
 */

const program = buildProgram();
const everyCommand = commandPaths(program);
/** The commands reached through one that has subcommands, but for the help commands themselves. */
const subcommands = everyCommand.filter(({ path }) => path.length >= 2 && path.at(-1) !== 'help');

describe('pairgate help <command> <subcommand>', () => {
  beforeAll(() => ensureBuilt(), 120_000);

  it('the table has commands with subcommands, two levels deep too (box dns set)', () => {
    expect(subcommands.map(({ path }) => path.join(' '))).toEqual(expect.arrayContaining(['grant create', 'lan connect', 'box dns', 'box dns set']));
  });

  it('shows what `pairgate <command> <subcommand> --help` shows, for every subcommand', async () => {
    const viaHelp = await runAll(subcommands.map(({ path }) => ['help', ...path]));
    const viaOption = await runAll(subcommands.map(({ path }) => [...path, '--help']));
    subcommands.forEach(({ path }, index) => {
      const [help, option] = [viaHelp[index]!, viaOption[index]!];
      expect({ path, status: help.status, stderr: help.stderr }).toEqual({ path, status: 0, stderr: '' });
      expect(option.status).toBe(0);
      expect(help.stdout).toMatch(new RegExp(`^Usage: pairgate ${path.join(' ')} `));
      expect({ path, help: help.stdout }).toEqual({ path, help: option.stdout });
    });
  }, 120_000);

  it('so does `<command> help <subcommand>`, at every level', async () => {
    const [grant, dns] = await runAll([['grant', 'help', 'create'], ['box', 'help', 'dns', 'set']]);
    expect(grant!.stdout).toEqual((await runCli(['grant', 'create', '--help'])).stdout);
    expect(dns!.stdout).toEqual((await runCli(['box', 'dns', 'set', '--help'])).stdout);
  });

  it('box dns set says a record must be set again within the server\'s record lifetime, and how', async () => {
    const help = (await runCli(['box', 'dns', 'set', '--help'])).stdout;
    expect(help).toContain('PAIRGATE_DNS_RECORD_LIFETIME_DAYS, 30 days by default) is removed');
    expect(help).toContain('setting it\nagain unchanged renews it');
  });

  it('an unknown command or subcommand is said, naming the valid ones: unknown_command, exit 2, no help text', async () => {
    const [sub, top, deeper, tooDeep] = await runAll([['help', 'grant', 'nope'], ['help', 'nope'], ['help', 'box', 'dns', 'nope'], ['help', 'grant', 'create', 'extra']]);
    expect(sub).toEqual({ status: 2, stdout: '', stderr: 'pairgate: Unknown command: "pairgate grant" has no subcommand "nope"; valid subcommands: approve, create, refuse, show. [unknown_command]\n' });
    expect(top!.status).toBe(2);
    expect(top!.stderr).toBe(`pairgate: Unknown command: "pairgate" has no command "nope"; valid commands: ${program.commands.map((c) => c.name()).filter((name) => name !== 'help').sort().join(', ')}. [unknown_command]\n`);
    expect(deeper).toMatchObject({ status: 2, stderr: 'pairgate: Unknown command: "pairgate box dns" has no subcommand "nope"; valid subcommands: delete, list, set. [unknown_command]\n' });
    expect(tooDeep).toMatchObject({ status: 2, stderr: 'pairgate: Unknown command: "pairgate grant create" has no subcommands, so no "extra". [unknown_command]\n' });
  });
});
