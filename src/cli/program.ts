import { Command, type HelpContext } from 'commander';
import { registerBoxCommand } from './commands/box.js';
import { registerDoctorCommand } from './commands/doctor.js';
import { registerGrantCommand } from './commands/grant.js';
import { commandAt, commandLine, missingCommandWords, registerHelpCommands } from './commands/help.js';
import { registerJoinCommand } from './commands/join.js';
import { registerLanCommand } from './commands/lan.js';
import { registerPeersCommand } from './commands/peers.js';
import { registerServeCommand } from './commands/serve.js';
import { registerSessionCommand } from './commands/session.js';
import { registerVersionCommand } from './commands/version.js';
import { packageVersion } from '../server/version.js';
import { optionDescription } from './help-text.js';
import { terminalSafe } from './terminal-text.js';

/**
 * A command whose unknown subcommand (`pairgate nope`, `pairgate grant nope`) is refused as
 * `pairgate help nope` refuses it, after the words "unknown command": `unknown_command`, naming the
 * commands that exist (commander only says "unknown command 'nope'"), exit code 2 through main()'s error report. Commander makes
 * every subcommand with `createCommand`, so they all are of this kind.
 */
class PairgateCommand extends Command {
  override createCommand(name?: string): Command {
    return new PairgateCommand(name);
  }

  /** Overrides commander's own (not in its typings), which prints and exits with its bare message. */
  unknownCommand(): never {
    refuseUnknownCommand(this, this.args[0] ?? '');
  }

  /**
   * Commander shows a command's help when --help comes anywhere after it, before it looks at the
   * subcommand: `pairgate nope --help` printed pairgate's help and exited 0, where `pairgate nope`
   * is `unknown_command`, exit 2, so a script checking a subcommand with --help was told it exists.
   * Overrides commander's own (not in its typings), which it calls with the unknown options once
   * `args` holds the operands followed by them, and only when the first operand names no
   * subcommand: a command made of subcommands alone (no arguments of its own) refuses that operand
   * here, as `unknownCommand` would have next, --help or not.
   */
  _outputHelpIfRequested(unknown: string[]): void {
    const operands = this.args.slice(0, this.args.length - unknown.length);
    if (operands[0] !== undefined && this.commands.length > 0 && this.registeredArguments.length === 0) refuseUnknownCommand(this, operands[0]);
    (Command.prototype as unknown as { _outputHelpIfRequested(args: string[]): void })._outputHelpIfRequested.call(this, unknown);
  }

  /**
   * A command made of subcommands run without one (`pairgate grant`, `pairgate box dns`):
   * commander printed its whole help on standard error and ended it (exit code 2
   * through main()) without an error line, so the mistake read as a page of help with nothing
   * saying what was wrong, and no code for a script. Said as every usage error instead (`error`):
   * a sentence naming the subcommands, `missing_command`, then the --help to run. Commander calls
   * help({ error: true }) for this alone; --help and `help` call it without, and print the help.
   * `pairgate` alone keeps its whole help (on standard error, exit code 2): someone who types the
   * command's name to see what it does is shown, not told off.
   */
  override help(context?: HelpContext): never;
  // Commander's deprecated form, kept so that the class still is a Command.
  override help(cb: (str: string) => string): never;
  override help(context?: HelpContext | ((str: string) => string)): never {
    if (typeof context === 'object' && context.error && this.parent) this.error(missingCommandWords(this), { code: MISSING_COMMAND, exitCode: 2 });
    return super.help(context as HelpContext);
  }

  /**
   * Says commander's usage errors as every other error is said (`usageSentence`: "pairgate: ",
   * a sentence, a machine code; "error: ..." read apart from the others), then the line naming the
   * --help to run. Also adds a hint to commander's "unknown option" on a command that takes a peer or an id: about 1
   * device id in 64 made before new ids avoided it starts with "-" (`-7N2HIah...`), which commander
   * reads as an option, and its bare "unknown option" said nothing of the way out, `--`.
   */
  override error(message: string, errorOptions?: { code?: string; exitCode?: number }): never {
    // The hint names the command that failed: a bare "run with --help" left a person who typed
    // `pairgate grant approve` to guess whether `pairgate --help` was meant.
    this.showHelpAfterError(usageHint(this));
    const flag = errorOptions?.code === 'commander.unknownOption' ? /unknown option '(-[^-].*)'/.exec(message)?.[1] : undefined;
    const takesId = this.registeredArguments.some((argument) => ID_ARGUMENTS.has(argument.name()));
    const idHint = flag !== undefined && takesId ? `\n(an id that starts with - goes after --: ${commandLine(this)} -- ${terminalSafe(flag)})` : '';
    return super.error(`${usageSentence(message, errorOptions?.code)}${idHint}`, errorOptions);
  }
}

/** The code `PairgateCommand.help` gives its usage error, a command group run without a subcommand: not commander's. */
const MISSING_COMMAND = 'pairgate.missingCommand';

/**
 * Machine codes of commander's usage errors, by its own codes: stable names of pairgate's, which
 * a commander release renaming its codes does not change.
 */
const USAGE_ERROR_CODES: Readonly<Record<string, string>> = {
  [MISSING_COMMAND]: 'missing_command',
  'commander.unknownOption': 'unknown_option',
  'commander.missingArgument': 'missing_argument',
  'commander.optionMissingArgument': 'missing_option_value',
  'commander.missingMandatoryOptionValue': 'missing_option',
  'commander.conflictingOption': 'conflicting_options',
  'commander.excessArguments': 'too_many_arguments',
  'commander.invalidArgument': 'invalid_argument',
};

/**
 * A usage error of commander's ("error: unknown option '--prot'\n(Did you mean --port?)") as every
 * other error of the CLI reads (`reportCliError`): "pairgate: ", a sentence, the machine code
 * ("pairgate: Unknown option '--prot' (did you mean --port?). [unknown_option]"). Commander's
 * own `outputError` writes the message as given: its "error: " is part of the message.
 */
export function usageSentence(message: string, commanderCode: string | undefined): string {
  const [first = '', ...rest] = message.replace(/^error: /, '').split('\n');
  // Commander's suggestion for a mistyped option is a line of its own; said in the sentence, as
  // the unknown command's is.
  const suggestion = rest.length > 0 ? /^\(Did you mean (.+)\?\)$/.exec(rest[0]!)?.[1] : undefined;
  if (suggestion !== undefined) rest.shift();
  const said = `${first.charAt(0).toUpperCase()}${first.slice(1)}${suggestion !== undefined ? ` (did you mean ${suggestion}?)` : ''}`;
  const code = USAGE_ERROR_CODES[commanderCode ?? ''] ?? 'usage_error';
  return [`pairgate: ${said}${/[.?!]$/.test(said) ? '' : '.'} [${code}]`, ...rest].join('\n');
}

/** The line after a usage error: the exact `--help` to run. */
function usageHint(command: Command): string {
  return `(run \`${commandLine(command)} --help\` for usage)`;
}

/** Names of arguments that take an id (or a peer, named by its id): where the `--` hint helps. */
const ID_ARGUMENTS = new Set(['peer', 'id']);

/**
 * `unknown_command` for `name` under `command`, as `pairgate help <name>` refuses it: `commandAt`'s
 * sentence, "Unknown command: ..." (the words commander said, starting a sentence as its other
 * usage errors do: "Unknown option ...").
 */
function refuseUnknownCommand(command: Command, name: string): never {
  commandAt(command, [name]);
  throw new Error(`unreachable: "${command.name()}" has the command "${name}" it called unknown`);
}

/**
 * The `pairgate` command. Each sub-command lives in its own file under commands/ and registers
 * itself here with one line.
 */
export function buildProgram(): Command {
  const program = new PairgateCommand('pairgate')
    .description('pairgate: pair two parties that do not trust each other yet, with a person approving it.')
    .version(packageVersion(), '-V, --version', 'print the version and exit')
    .showHelpAfterError('(run with --help for usage)')
    .configureHelp({ sortSubcommands: true, optionDescription })
    .addHelpText('after', `
Run \`pairgate <command> --help\` for a command's options and examples.

Exit code: 0 on success, 2 for bad input (a missing or malformed option, an
unknown code) or a request the server refused, 1 for anything else (a server
that cannot be reached); a command's --help says what else its codes mean.
141 when the reader of the output stopped reading (\`| head\`).

Example:
  $ pairgate serve --port 0 --data-dir /tmp/pg`)
    // Set before the sub-commands are added, so that they inherit it: their usage errors then
    // reach main() instead of exiting from inside commander.
    .exitOverride();
  registerBoxCommand(program);
  registerDoctorCommand(program);
  registerGrantCommand(program);
  registerJoinCommand(program);
  registerLanCommand(program);
  registerPeersCommand(program);
  registerServeCommand(program);
  registerSessionCommand(program);
  registerVersionCommand(program);
  // Last: it gives every command that has subcommands a help command of its own.
  registerHelpCommands(program);
  return program;
}
