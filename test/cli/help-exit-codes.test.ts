import { beforeAll, describe, expect, it } from 'vitest';
import { HELP_TEXT_WIDTH, helpParagraph } from '../../src/cli/help-text.js';
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

  it('reads evenly: no line of the exit-code paragraph ends short of the width (a paragraph joined from shared pieces left one)', async () => {
    const all = [{ path: [] as string[] }, ...commandPaths(buildProgram())];
    const runs = await runAll(all.map(({ path }) => [...path, '--help']));
    /** Columns a line wrapped by hand may leave free before a word that would still have fit on it. */
    const HAND_WRAP_SLACK = 10;
    const uneven = all.flatMap(({ path }, index) => {
      const help = runs[index]!.stdout;
      const start = help.search(/^Exit codes?: /m);
      const lines = start < 0 ? [] : help.slice(start).split('\n\n')[0]!.trimEnd().split('\n');
      return lines.flatMap((line, at) => {
        const next = lines[at + 1]?.split(' ')[0];
        const short = next !== undefined && line.length + 1 + next.length + HAND_WRAP_SLACK <= HELP_TEXT_WIDTH;
        return short || line.length > HELP_TEXT_WIDTH ? [`pairgate ${path.join(' ')}: ${JSON.stringify(line)}`] : [];
      });
    });
    expect(uneven).toEqual([]);
  }, 120_000);

  it('helpParagraph wraps pieces each wrapped on its own as one paragraph, never within a word', () => {
    expect(helpParagraph('one two\nthree four five\nsix', 14)).toBe('one two three\nfour five six');
    expect(helpParagraph(`${'x'.repeat(20)} y`, 10)).toBe(`${'x'.repeat(20)}\ny`);
  });

  it('the session commands that ask the relay for a code (create, code) say it may refuse (exit 1); the others do not', async () => {
    const commands = ['create', 'code', 'show', 'list', 'delete'];
    const runs = await runAll(commands.map((command) => ['session', command, '--help']));
    const saysRelay = commands.filter((_, index) => runs[index]!.stdout.includes('relay_refused'));
    expect(saysRelay).toEqual(['create', 'code']);
  }, 60_000);
});
