import type { Command } from 'commander';
import { runCli, type CliRun } from '../helpers/cli.js';

/** The CLI's command table walked for tests that must cover every command, present and future. */

/** Every command under `command` with the words that reach it (`['box', 'dns', 'set']`), depth first. */
export function commandPaths(command: Command, path: string[] = []): { path: string[]; command: Command }[] {
  return command.commands.flatMap((sub) => {
    const subPath = [...path, sub.name()];
    return [{ path: subPath, command: sub }, ...commandPaths(sub, subPath)];
  });
}

/** Runs each of `argvs` through the built CLI, a few at a time (each is a Node process). */
export async function runAll(argvs: string[][]): Promise<CliRun[]> {
  const runs: CliRun[] = new Array<CliRun>(argvs.length);
  let next = 0;
  const worker = async () => {
    for (let index = next++; index < argvs.length; index = next++) runs[index] = await runCli(argvs[index]!);
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  return runs;
}
