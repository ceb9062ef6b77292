import { Command } from 'commander';
import { InvalidRequestError } from '../core/errors.js';
import { registerBoxCommand } from './commands/box.js';
import { registerDoctorCommand } from './commands/doctor.js';
import { registerGrantCommand } from './commands/grant.js';
import { commandAt, registerHelpCommands } from './commands/help.js';
import { registerJoinCommand } from './commands/join.js';
import { registerLanCommand } from './commands/lan.js';
import { registerPeersCommand } from './commands/peers.js';
import { registerServeCommand } from './commands/serve.js';
import { registerSessionCommand } from './commands/session.js';
import { registerVersionCommand } from './commands/version.js';
import { packageVersion } from '../server/version.js';
import { optionDescription } from './help-text.js';

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
    try {
      commandAt(this, [this.args[0] ?? '']);
    } catch (error) {
      // The words "unknown command" first, as commander said them (scripts and people look for them).
      if (error instanceof InvalidRequestError) throw new InvalidRequestError(`unknown command: ${error.message}`, error.details, error.code);
      throw error;
    }
    throw new Error(`unreachable: "${this.name()}" has the command "${this.args[0] ?? ''}" it called unknown`);
  }
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
