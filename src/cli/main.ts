#!/usr/bin/env node
// First: it must run before the other modules load (see keep-tick-shape.ts).
import './keep-tick-shape.js';
import { CommanderError } from 'commander';
import { buildProgram } from './program.js';
import { exitQuietlyWhenReaderCloses, noteOpenFileLimit, reportCliError } from './output.js';

async function main(): Promise<void> {
  exitQuietlyWhenReaderCloses();
  noteOpenFileLimit();
  const program = buildProgram();
  try {
    await program.parseAsync(process.argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander has printed its message (unknown option, missing argument; an unknown command is
      // an InvalidRequestError of PairgateCommand's, reported below): a usage
      // error, so 2 like every other bad input (reportCliError); --help and --version stay 0.
      process.exitCode = error.exitCode === 0 ? 0 : 2;
      return;
    }
    process.exitCode = reportCliError(error);
  }
}

await main();
