import { beforeAll, describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/program.js';
import { ensureBuilt } from '../helpers/cli.js';
import { commandPaths, runAll } from './command-table.js';

/**
 * Every --help says what its exit codes mean, read off the command table itself, so a command
 * added without them fails here.
 */
describe('every --help names its exit codes', () => {
  beforeAll(() => ensureBuilt(), 120_000);

  it('pairgate and each command and subcommand in the table (help commands too)', async () => {
    const all = [{ path: [] as string[] }, ...commandPaths(buildProgram())];
    const runs = await runAll(all.map(({ path }) => [...path, '--help']));
    const missing = all.filter((_, index) => !/^Exit codes?: 0 /m.test(runs[index]!.stdout)).map(({ path }) => `pairgate ${path.join(' ')}`.trim());
    expect(missing).toEqual([]);
  }, 120_000);

  it('the session commands that ask the relay for a code (create, code) say it may refuse (exit 1); the others do not', async () => {
    const commands = ['create', 'code', 'show', 'list', 'delete'];
    const runs = await runAll(commands.map((command) => ['session', command, '--help']));
    const saysRelay = commands.filter((_, index) => runs[index]!.stdout.includes('relay_refused'));
    expect(saysRelay).toEqual(['create', 'code']);
  }, 60_000);
});
