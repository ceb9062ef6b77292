import { beforeAll, describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/program.js';
import { ensureBuilt } from '../helpers/cli.js';
import { runAll } from './command-table.js';

/**
 * A mistyped command (`pairgate sevre`, `pairgate grant crate`) is still `unknown_command`, exit 2,
 * but names the command meant, as commander does for a mistyped option (`--prot`: "Did you mean
 * --port?") and serve does for a mistyped configuration key: the list of valid commands alone left
 * the person to find it there.
 */
describe('pairgate <mistyped command>', () => {
  beforeAll(() => ensureBuilt(), 120_000);
  const commands = buildProgram().commands.map((c) => c.name()).filter((name) => name !== 'help').sort().join(', ');

  it('names the command meant, at every level, with --help after it, and through pairgate help', async () => {
    const [top, swapped, grant, dns, withHelp, viaHelp] = await runAll([['sevre'], ['dcotor'], ['grant', 'crate', '--label', 'x'], ['box', 'dns', 'lsit'], ['lan', 'jion', '--help'], ['help', 'grant', 'crate']]);
    expect(top).toEqual({ status: 2, stdout: '', stderr: `pairgate: Unknown command: "pairgate" has no command "sevre" (did you mean "serve"?); valid commands: ${commands}. [unknown_command]\n` });
    expect(swapped!.stderr).toContain('has no command "dcotor" (did you mean "doctor"?);');
    expect(grant).toEqual({ status: 2, stdout: '', stderr: 'pairgate: Unknown command: "pairgate grant" has no subcommand "crate" (did you mean "create"?); valid subcommands: approve, create, refuse, show. [unknown_command]\n' });
    expect(dns).toEqual({ status: 2, stdout: '', stderr: 'pairgate: Unknown command: "pairgate box dns" has no subcommand "lsit" (did you mean "list"?); valid subcommands: delete, list, set. [unknown_command]\n' });
    expect(withHelp).toEqual({ status: 2, stdout: '', stderr: 'pairgate: Unknown command: "pairgate lan" has no subcommand "jion" (did you mean "join"?); valid subcommands: connect, inspect, join, nearby, offer. [unknown_command]\n' });
    expect(viaHelp).toEqual({ status: 2, stdout: '', stderr: 'pairgate: Unknown command: "pairgate grant" has no subcommand "crate" (did you mean "create"?); valid subcommands: approve, create, refuse, show. [unknown_command]\n' });
  }, 60_000);

  it('a name cut short or in capitals names what it starts; one that starts several names them all; nothing close, no guess', async () => {
    const [short, capitals, both, far] = await runAll([['ses'], ['Serve'], ['se'], ['nope']]);
    expect(short!.stderr).toContain('has no command "ses" (did you mean "session"?);');
    expect(capitals!.stderr).toContain('has no command "Serve" (did you mean "serve"?);');
    expect(both!.stderr).toContain('has no command "se" (did you mean "serve" or "session"?);');
    expect(far!.stderr).toBe(`pairgate: Unknown command: "pairgate" has no command "nope"; valid commands: ${commands}. [unknown_command]\n`);
    for (const run of [short, capitals, both, far]) expect(run!.status).toBe(2);
  }, 60_000);
});
