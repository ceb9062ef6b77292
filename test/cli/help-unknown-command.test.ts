import { beforeAll, describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/program.js';
import { ensureBuilt } from '../helpers/cli.js';
import { runAll } from './command-table.js';

/**
 * An unknown command run directly (`pairgate nope`) is refused as `pairgate help nope` refuses it,
 * in the same words, "Unknown command: ...": naming the commands that exist, with the unknown_command code and exit code 2, not commander's
 * bare "unknown command 'nope'".
 */
describe('pairgate <unknown command>', () => {
  beforeAll(() => ensureBuilt(), 120_000);

  it('names the valid commands, the same words as pairgate help <unknown>, exit 2', async () => {
    const [direct, viaHelp] = await runAll([['nope'], ['help', 'nope']]);
    const commands = buildProgram().commands.map((c) => c.name()).filter((name) => name !== 'help').sort().join(', ');
    expect(direct).toEqual({ status: 2, stdout: '', stderr: `pairgate: Unknown command: "pairgate" has no command "nope"; valid commands: ${commands}. [unknown_command]\n` });
    // A sentence either way: the same words, "Unknown command: " first, never a line that starts with a quote.
    expect(viaHelp!.stderr).toBe(direct!.stderr);
  }, 60_000);

  it('an unknown subcommand names the valid subcommands, two levels deep too', async () => {
    const [grant, dns] = await runAll([['grant', 'nope', '--label', 'x'], ['box', 'dns', 'nope']]);
    expect(grant).toEqual({ status: 2, stdout: '', stderr: 'pairgate: Unknown command: "pairgate grant" has no subcommand "nope"; valid subcommands: approve, create, refuse, show. [unknown_command]\n' });
    expect(dns).toEqual({ status: 2, stdout: '', stderr: 'pairgate: Unknown command: "pairgate box dns" has no subcommand "nope"; valid subcommands: delete, list, set. [unknown_command]\n' });
  }, 60_000);

  it('with --help (or -h) after it, an unknown command or subcommand is still unknown_command, exit 2, not the parent\'s help and 0', async () => {
    const [top, lan, short, known, helpOfKnown] = await runAll([['nope', '--help'], ['lan', 'bogus', '--help'], ['box', 'dns', 'nope', '-h'], ['lan', '--help'], ['lan', 'join', '--help']]);
    expect(top).toEqual({ status: 2, stdout: '', stderr: expect.stringMatching(/^pairgate: Unknown command: "pairgate" has no command "nope"; valid commands: .*\[unknown_command\]\n$/) as unknown as string });
    expect(lan).toEqual({ status: 2, stdout: '', stderr: 'pairgate: Unknown command: "pairgate lan" has no subcommand "bogus"; valid subcommands: connect, inspect, join, nearby, offer. [unknown_command]\n' });
    expect(short).toEqual({ status: 2, stdout: '', stderr: 'pairgate: Unknown command: "pairgate box dns" has no subcommand "nope"; valid subcommands: delete, list, set. [unknown_command]\n' });
    // A command that exists keeps its help.
    expect(known).toMatchObject({ status: 0, stdout: expect.stringContaining('Usage: pairgate lan [options] [command]') as unknown as string });
    expect(helpOfKnown).toMatchObject({ status: 0, stdout: expect.stringContaining('Usage: pairgate lan join [options] [connection-string]') as unknown as string });
  }, 60_000);

  it('a name with terminal control characters is shown made safe', async () => {
    const [run] = await runAll([['no\u001b[31mpe']]);
    expect(run!.status).toBe(2);
    expect(run!.stderr).not.toContain('\u001b');
    expect(run!.stderr).toContain('[unknown_command]');
  }, 60_000);
});
