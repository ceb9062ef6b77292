import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command, Option } from 'commander';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/program.js';
import { ensureBuilt } from '../helpers/cli.js';
import { commandPaths, runAll } from './command-table.js';

/**
 * Option names across commands: an option spelled the same way under one command (`box announce`,
 * `box cert`, `box dns set`...) has the same short form and, where it names the same thing, the
 * same words in --help. Read off the command table, so a subcommand added later is held to it.
 */

const program = buildProgram();
const everyCommand = commandPaths(program);

/** The options of `command`, by long name (`--zone`), --help left out. */
function optionsOf(command: Command): Map<string, Option> {
  return new Map(command.options.filter((option) => option.long && option.long !== '--help').map((option) => [option.long!, option]));
}

/** The option `long` of the command at `path` (`['box', 'cert']`). */
function optionAt(path: string[], long: string): Option {
  const found = everyCommand.find((each) => each.path.join(' ') === path.join(' '));
  const option = found && optionsOf(found.command).get(long);
  if (!option) throw new Error(`no ${long} on pairgate ${path.join(' ')}`);
  return option;
}

describe('option names', () => {
  beforeAll(() => ensureBuilt(), 120_000);

  it('an option of several sibling subcommands has the same short form in each (or none in any)', () => {
    const differing: string[] = [];
    // Under one command (box, lan, grant...); the top-level commands are not siblings in that sense.
    for (const parent of everyCommand) {
      const byLong = new Map<string, Set<string>>();
      for (const child of parent.command.commands) {
        for (const [long, option] of optionsOf(child)) byLong.set(long, (byLong.get(long) ?? new Set()).add(option.short ?? '(none)'));
      }
      for (const [long, shorts] of byLong) if (shorts.size > 1) differing.push(`pairgate ${parent.path.join(' ')} * ${long}: ${[...shorts].join(', ')}`);
    }
    expect(differing).toEqual([]);
  });

  it('a long option that has a short form has the same one in every command', () => {
    const shortsOf = new Map<string, Set<string>>();
    for (const { command } of everyCommand) {
      for (const [long, option] of optionsOf(command)) if (option.short) shortsOf.set(long, (shortsOf.get(long) ?? new Set()).add(option.short));
    }
    expect([...shortsOf].filter(([, shorts]) => shorts.size > 1).map(([long, shorts]) => `${long}: ${[...shorts].join(', ')}`)).toEqual([]);
  });

  it('box announce, cert and dns say --zone, --update-api and --update-ca in the same words (announce adds what it does with them)', () => {
    const holders = [['box', 'cert'], ['box', 'dns', 'list'], ['box', 'dns', 'set'], ['box', 'dns', 'delete']];
    for (const long of ['--zone', '--update-api', '--update-ca']) {
      const words = holders.map((path) => optionAt(path, long).description);
      expect(new Set(words).size, long).toBe(1);
      expect(optionAt(['box', 'announce'], long).description.startsWith(words[0]!), long).toBe(true);
    }
    // The multicast interface is an IPv4 address wherever it is given, as --discovery-interface <ip>.
    expect(optionAt(['box', 'advertise'], '--mdns-interface').flags).toBe('--mdns-interface <ip>');
    // --dns-server takes an IP address (a host name is refused), with an optional port.
    expect(optionAt(['box', 'cert'], '--dns-server').flags).toBe('--dns-server <ip[:port]>');
  });

  it('every time or size option takes <time> or <size> (a unit, or a plain number its help names), never <seconds>, <ms> or <bytes>', () => {
    const unitless: string[] = [];
    const unnamed: string[] = [];
    for (const { path, command } of everyCommand) {
      for (const [long, option] of optionsOf(command)) {
        if (/<(seconds|ms|bytes|n)>/.test(option.flags) && /second|time|wait|ttl|size/i.test(`${long} ${option.flags}`)) unitless.push(`pairgate ${path.join(' ')} ${option.flags}`);
        if (/<(time|size)>/.test(option.flags) && !/a plain number is (seconds|milliseconds|bytes)/.test(option.description)) unnamed.push(`pairgate ${path.join(' ')} ${option.flags}`);
      }
    }
    expect(unitless).toEqual([]);
    expect(unnamed).toEqual([]);
    expect(optionAt(['lan', 'join'], '--dial-timeout').flags).toBe('--dial-timeout <time>');
    expect(optionAt(['doctor'], '--multicast-wait').flags).toBe('--multicast-wait <time>');
    for (const path of [['lan', 'offer'], ['lan', 'join'], ['lan', 'connect']]) expect(optionAt(path, '--max-size').flags).toBe('--max-size <size>');
  });

  it('box announce takes -z, -u, -p and -n, as box cert, box dns, box advertise and box init do, and lists them in --help', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pairgate-option-names-'));
    const [help, zone, updateApi, port, name, advertiseHelp, advertiseName] = await runAll([
      ['box', 'announce', '--help'],
      // Each refusal names the long option the short one stands for, before anything else is done.
      ['box', 'announce', '--once', '--dir', dir, '-z', 'z.test'],
      ['box', 'announce', '--once', '--dir', dir, '-z', 'z.test', '-u', 'notaurl'],
      ['box', 'announce', '--once', '--dir', dir, '-p', '0'],
      ['box', 'announce', '--once', '--dir', dir, '-n', 'Kitchen', '-p', '0'],
      ['box', 'advertise', '--help'],
      ['box', 'advertise', '--dir', dir, '-n', 'Kitchen', '--mdns-port', '0'],
    ]);
    expect(help!.stdout).toMatch(/^ {2}-z, --zone <zone> /m);
    expect(help!.stdout).toMatch(/^ {2}-u, --update-api <url> /m);
    expect(help!.stdout).toMatch(/^ {2}-p, --port <port> /m);
    expect(help!.stdout).toMatch(/^ {2}-n, --name <name> /m);
    expect(zone).toMatchObject({ status: 2, stderr: expect.stringMatching(/--zone and --update-api go together/) });
    expect(updateApi).toMatchObject({ status: 2, stderr: expect.stringMatching(/--update-api: "notaurl" is not an http/) });
    expect(port).toMatchObject({ status: 2, stderr: expect.stringMatching(/--port must be a whole number from 1 to 65535/) });
    expect(name).toMatchObject({ status: 2, stderr: expect.stringMatching(/--port must be a whole number/) });
    expect(advertiseHelp!.stdout).toMatch(/^ {2}-n, --name <name> /m);
    expect(advertiseName).toMatchObject({ status: 2, stderr: expect.stringMatching(/--mdns-port must be a whole number/) });
  }, 60_000);
});
