import type { Command } from 'commander';
import editDistance from 'damerau-levenshtein';
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
 * The names of `valid` closest to the mistyped `name` (`sevre`: serve; `crate`: create), by
 * commander's rule for unknown options, which `--prot` gets ("Did you mean --port?"): at most 3
 * edits and more than 40 % of the longer name kept, the fewest edits only; a name that starts one
 * (`ses`: session) counts too. Empty when none is close.
 */
export function similarNames(name: string, valid: string[]): string[] {
  const typed = name.toLowerCase();
  if (typed.length === 0) return [];
  let best = 4;
  let similar: string[] = [];
  for (const candidate of valid) {
    const length = Math.max(typed.length, candidate.length);
    const distance = candidate.startsWith(typed) && typed.length >= 2 ? 0 : editDistance(typed, candidate).steps;
    if (distance > 0 && (distance > 3 || (length - distance) / length <= 0.4)) continue;
    if (distance < best) {
      best = distance;
      similar = [candidate];
    } else if (distance === best) {
      similar.push(candidate);
    }
  }
  return similar;
}

/** ` (did you mean "serve"?)` for the names `similarNames` found, empty for none. */
function suggestion(similar: string[]): string {
  if (similar.length === 0) return '';
  return ` (did you mean ${similar.map((name) => `"${name}"`).join(' or ')}?)`;
}

/**
 * The command `path` names under `root` (`['box', 'dns', 'set']`), or an InvalidRequestError
 * (`unknown_command`, exit code 2) naming the part that matches none, the names close to it (a
 * typo: `pairgate sevre`), and the ones that exist. Its words are a sentence starting "Unknown
 * command: ", run directly (`pairgate nope`) or through help (`pairgate help nope`): the words
 * commander said (scripts and people look for them), and no line that starts with a quote.
 */
export function commandAt(root: Command, path: string[]): Command {
  let current = root;
  for (const name of path) {
    const next = current.commands.find((sub) => sub.name() === name || sub.aliases().includes(name));
    if (!next) {
      const valid = subcommandNames(current);
      const shown = terminalSafe(name);
      const kind = current.parent ? 'subcommand' : 'command';
      const similar = similarNames(name, valid);
      throw new InvalidRequestError(valid.length
        ? `Unknown command: "${commandLine(current)}" has no ${kind} "${shown}"${suggestion(similar)}; valid ${kind}s: ${valid.join(', ')}.`
        : `Unknown command: "${commandLine(current)}" has no subcommands, so no "${shown}".`, { command: name, ...(similar.length ? { similar } : {}) }, 'unknown_command');
    }
    current = next;
  }
  return current;
}

/**
 * What a command made of subcommands says when run without one (`pairgate grant`, `pairgate box
 * dns`): name one, and the ones there are, as `commandAt` names them for an unknown one.
 */
export function missingCommandWords(command: Command): string {
  const kind = command.parent ? 'subcommand' : 'command';
  return `Name a ${kind} of "${commandLine(command)}": ${subcommandNames(command).join(', ')}.`;
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
