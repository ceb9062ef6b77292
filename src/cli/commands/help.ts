import type { Command } from 'commander';
import { InvalidRequestError } from '../../core/errors.js';
import { terminalSafe } from '../terminal-text.js';

/** The exit codes of `help`, in its own --help. */
const HELP_EXIT_CODES = `
Exit code: 0 when the help was shown, 2 for a command or subcommand that does
not exist (the message names the ones that do).`;

/** `pairgate grant create`: the words a person types to reach `command`. */
export function commandLine(command: Command): string {
  const names: string[] = [];
  for (let at: Command | null = command; at; at = at.parent) names.unshift(at.name());
  return names.join(' ');
}

/** The subcommands a person may name under `command`, sorted as its --help lists them. */
function subcommandNames(command: Command): string[] {
  return command.commands.map((sub) => sub.name()).filter((name) => name !== 'help').sort();
}

/**
 * The command `path` names under `root` (`['box', 'dns', 'set']`), or an InvalidRequestError
 * (`unknown_command`, exit code 2) naming the part that matches none and the ones that exist.
 */
export function commandAt(root: Command, path: string[]): Command {
  let current = root;
  for (const name of path) {
    const next = current.commands.find((sub) => sub.name() === name || sub.aliases().includes(name));
    if (!next) {
      const valid = subcommandNames(current);
      const shown = terminalSafe(name);
      const kind = current.parent ? 'subcommand' : 'command';
      throw new InvalidRequestError(valid.length
        ? `"${commandLine(current)}" has no ${kind} "${shown}"; valid ${kind}s: ${valid.join(', ')}.`
        : `"${commandLine(current)}" has no subcommands, so no "${shown}".`, { command: name }, 'unknown_command');
    }
    current = next;
  }
  return current;
}

/**
 * Gives `command` and every command under it that has subcommands a `help [command...]` that
 * shows the help of the whole path it is given: `pairgate help grant create` prints what
 * `pairgate grant create --help` prints. Commander's own help command takes one name and drops
 * the rest, so it printed the help of `grant` there. Call it once every command is registered.
 */
export function registerHelpCommands(command: Command): void {
  const subcommands = command.commands.filter((sub) => sub.name() !== 'help');
  if (subcommands.length === 0) return;
  for (const sub of subcommands) registerHelpCommands(sub);
  // A command of the same name comes before commander's implicit one, which then is not added.
  command
    .command('help')
    .argument('[command...]', 'the command, and its subcommands, whose help to show')
    .description('display help for command')
    .addHelpText('after', `
Example:
  $ ${commandLine(command)} help ${subcommands[0]!.name()}
${HELP_EXIT_CODES}`)
    .action((path: string[]) => {
      // help() prints exactly what --help prints, and ends the same way (exit code 0).
      commandAt(command, path).help();
    });
}
