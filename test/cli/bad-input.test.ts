import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, runCli } from '../helpers/cli.js';

beforeAll(ensureBuilt, 120_000);

const run = (args: string[], env: Record<string, string> = {}) => runCli(args, env);

/** Exit code 2, one line on stderr matching `message`, and no stack trace. */
async function expectBadInput(args: string[], message: RegExp, env: Record<string, string> = {}): Promise<void> {
  const result = await run(args, env);
  expect(result.status, `${args.join(' ')}: ${result.stderr}`).toBe(2);
  expect(result.stderr).toMatch(message);
  expect(result.stderr.trim().split('\n'), result.stderr).toHaveLength(1);
  expect(result.stderr).not.toMatch(/^\s+at /m);
}

describe('the CLI on bad input: one line saying what to do, exit code 2, no stack trace', () => {
  let boxDir: string;
  beforeAll(async () => {
    boxDir = join(mkdtempSync(join(tmpdir(), 'pairgate-cli-bad-')), 'box');
    expect((await run(['box', 'init', '--dir', boxDir])).status).toBe(0);
  }, 60_000);

  it('usage errors of sub-commands exit 2 (commander exited 1 from inside them)', async () => {
    const missing = await run(['grant', 'create']);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/^pairgate: Required option '-l, --label <text>' not specified\. \[missing_option\]\n/);
    expect((await run(['grant', 'approve'])).status).toBe(2);
    expect((await run(['lan', 'join', '--bogus'])).status).toBe(2);
    expect((await run(['box', 'dns'])).status).toBe(2);
    expect((await run(['bogus'])).status).toBe(2);
    const help = await run(['grant', 'create', '--help']);
    expect(help.status).toBe(0);
    expect((await run(['--version'])).status).toBe(0);
  }, 60_000);

  it('a usage error names the --help to run: the command that failed, not a bare "--help"', async () => {
    const missing = await run(['grant', 'approve']);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/missing required argument 'code'\. \[missing_argument\]\n\(run `pairgate grant approve --help` for usage\)\n$/i);
    const unknown = await run(['lan', 'join', '--bogus']);
    expect(unknown.stderr).toMatch(/unknown option '--bogus'\. \[unknown_option\]\n\(run `pairgate lan join --help` for usage\)\n$/i);
    const valueless = await run(['grant', 'create', '--ttl']);
    expect(valueless.stderr).toMatch(/\(run `pairgate grant create --help` for usage\)\n$/);
    expect((await run(['--bogus'])).stderr).toMatch(/\(run `pairgate --help` for usage\)\n$/);
    expect(missing.stderr).not.toMatch(/^\s+at /m);
  }, 60_000);

  it('a usage error reads as every other error: "pairgate: ", a sentence, a stable code; still exit 2, then the --help to run', async () => {
    const cases: [string[], string][] = [
      [['grant', 'approve'], "pairgate: Missing required argument 'code'. [missing_argument]\n(run `pairgate grant approve --help` for usage)\n"],
      [['grant', 'create'], "pairgate: Required option '-l, --label <text>' not specified. [missing_option]\n(run `pairgate grant create --help` for usage)\n"],
      [['grant', 'create', '--ttl'], "pairgate: Option '--ttl <time>' argument missing. [missing_option_value]\n(run `pairgate grant create --help` for usage)\n"],
      [['grant', 'show', 'a', 'b'], "pairgate: Too many arguments for 'show'. Expected 1 argument but got 2. [too_many_arguments]\n(run `pairgate grant show --help` for usage)\n"],
      // Commander's suggestion, a line of its own, said in the sentence as the unknown command's is.
      [['serve', '--prot', '1'], "pairgate: Unknown option '--prot' (did you mean --port?). [unknown_option]\n(run `pairgate serve --help` for usage)\n"],
      [['--bogus'], "pairgate: Unknown option '--bogus'. [unknown_option]\n(run `pairgate --help` for usage)\n"],
    ];
    const runs = await Promise.all(cases.map(([args]) => run(args)));
    cases.forEach(([args, stderr], index) => {
      expect({ args, status: runs[index]!.status, stderr: runs[index]!.stderr }).toEqual({ args, status: 2, stderr });
    });
  }, 60_000);

  it('pairgate --help says what the exit codes mean and where each command\'s options are', async () => {
    const help = await run(['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('Run `pairgate <command> --help` for a command\'s options and examples.');
    expect(help.stdout).toMatch(/^Exit code: 0 on success, 2 for bad input [^]*\n.*, 1 for anything else/m);
    expect(help.stdout).toMatch(/^ {2}\$ pairgate serve /m);
    const version = await run(['version', '--help']);
    expect(version.stdout).toMatch(/^ {2}\$ pairgate version --json\n {2}\{"pairgate":/m);
  });

  it('URLs that are not http(s) are named before any request', async () => {
    await expectBadInput(['grant', 'show', 'abcd', '--server', 'notaurl'], /--server \(or PAIRGATE_SERVER\): "notaurl" is not an http:\/\/ or https:\/\/ URL/);
    await expectBadInput(['grant', 'create', '--label', 'x', '--no-wait'], /PAIRGATE_SERVER\): "ftp:\/\/x" is not/, { PAIRGATE_SERVER: 'ftp://x' });
    await expectBadInput(['session', 'list', '-u', 'a', '-p', 'b', '--server', 'notaurl'], /--server .*"notaurl" is not an http/);
    await expectBadInput(['join', 'abcdef', '--relay', 'relay.example'], /--relay \(or PAIRGATE_RELAY_URL\): "relay.example" is not an http/);
    await expectBadInput(['doctor', '--server', 'notaurl'], /--server: "notaurl" is not an http/);
    await expectBadInput(['box', 'announce', '--once', '--dir', boxDir, '--server', 'notaurl'], /--server .*"notaurl" is not an http/);
    await expectBadInput(['box', 'dns', 'list', '--dir', boxDir, '-z', 'z.test', '-u', 'notaurl'], /--update-api: "notaurl" is not an http/);
  }, 60_000);

  it('a server URL on a port fetch refuses (10080, 25) says so and what to do, for the grant, session, join and box commands', async () => {
    // The URL as given: join's --relay names its path too.
    const blocked = /Cannot call http:\/\/127\.0\.0\.1:(10080|25)(\/relay)?: port \1 is one fetch and browsers refuse to call .*pairgate serve --port.*\[port_blocked\]/;
    await expectBadInput(['grant', 'create', '--label', 'x', '--no-wait', '--server', 'http://127.0.0.1:10080'], blocked);
    await expectBadInput(['grant', 'show', 'abcd-efgh-j', '--server', 'http://127.0.0.1:25'], blocked);
    await expectBadInput(['session', 'list', '-u', 'a', '-p', 'b', '--server', 'http://127.0.0.1:10080'], blocked);
    await expectBadInput(['join', 'abcdef', '--relay', 'http://127.0.0.1:10080/relay'], blocked);
    await expectBadInput(['box', 'announce', '--once', '--dir', boxDir, '--server', 'http://127.0.0.1:10080'], blocked);
  }, 60_000);

  it('a file where a folder is asked for (box init --dir, lan\'s --config-dir) is said in words with the option, not as mkdir\'s EEXIST', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'pairgate-cli-file-')), 'a-file');
    writeFileSync(file, '');
    await expectBadInput(['box', 'init', '--dir', file], /^pairgate: --dir: .*a-file is not a folder; choose a folder this user may write to \[config_invalid\]/);
    await expectBadInput(['box', 'init', '--dir', join(file, 'box')], /^pairgate: --dir: .*a-file is not a folder/);
    await expectBadInput(['lan', 'offer', '--no-qr', '--config-dir', file], /^pairgate: The config folder .*a-file cannot be made: a file stands at its name or on its path\. Choose another folder with --config-dir/);
  }, 60_000);

  it('box advertise checks each --address (repeated or listed with commas) before advertising anything', async () => {
    await expectBadInput(['box', 'advertise', '--dir', boxDir, '--address', 'notanip', '--address', '5.6.7.8'], /^pairgate: --address: "notanip" is not an IP address\./);
    await expectBadInput(['box', 'advertise', '--dir', boxDir, '--address', '5.6.7.8,224.0.0.1'], /^pairgate: --address: 224\.0\.0\.1 is not a unicast address\./);
  }, 60_000);

  it('numbers, record types, option pairs and files are checked with the option named', async () => {
    await expectBadInput(['grant', 'create', '--label', 'x', '--ttl', 'abc', '--server', 'http://127.0.0.1:9'], /--ttl takes a time from 10 s to 24 h: a number with ms, s, m or h \(e\.g\. 90s or 5m\), or a plain number of seconds; "abc" is not one\./);
    await expectBadInput(['session', 'create', '-u', 'a', '-p', 'b', '--ttl', 'x'], /--ttl takes a time of at least 10 s: .* a plain number of seconds; "x" is not one\./);
    await expectBadInput(['session', 'list'], /Give the supporter credentials: --user and --password/, { PLEXUS_AUTH_USER: '', PLEXUS_AUTH_PASS: '' });
    // One of the two given: the missing one is named, not both.
    await expectBadInput(['session', 'list', '--user', 'alice'], /^pairgate: Give the password of supporter "alice" too: --password-file \(or --password, or PLEXUS_AUTH_PASS\)\./, { PLEXUS_AUTH_USER: '', PLEXUS_AUTH_PASS: '' });
    await expectBadInput(['session', 'list', '--password', 'secret'], /^pairgate: Give the supporter user name too: --user \(or PLEXUS_AUTH_USER\)\./, { PLEXUS_AUTH_USER: '', PLEXUS_AUTH_PASS: '' });
    await expectBadInput(['box', 'announce', '--dir', boxDir, '--interval', 'abc'], /--interval takes a time from 1 s to 24 h: .*"abc" is not one/);
    await expectBadInput(['box', 'announce', '--dir', boxDir, '--once', '--zone', 'z.test'], /--zone and --update-api go together/);
    await expectBadInput(['box', 'advertise', '--dir', boxDir, '--port', 'abc'], /--port must be a whole number from 1 to 65535/);
    await expectBadInput(['box', 'advertise', '--dir', boxDir, '--serve', '--port', '99999'], /--port must be a whole number from 0 to 65535/);
    await expectBadInput(['box', 'cert', '--dir', boxDir, '-z', 'z.test', '-u', 'https://127.0.0.1:9', '--timeout', 'soon'], /--timeout takes a time from 1 s to 1 h: .*"soon" is not one/);
    await expectBadInput(['box', 'dns', 'set', 'x', 'MX', '1', '--dir', boxDir, '-z', 'z.test', '-u', 'https://127.0.0.1:9'], /unknown record type MX: use A, AAAA, CNAME or TXT/);
    await expectBadInput(['box', 'dns', 'set', 'x', 'A', '10.0.0.1', '--ttl', 'long', '--dir', boxDir, '-z', 'z.test', '-u', 'https://127.0.0.1:9'], /--ttl takes a time from 0 s to 24 h: .*"long" is not one/);
    await expectBadInput(['box', 'dns', 'list', '--dir', boxDir, '-z', 'z.test', '-u', 'https://127.0.0.1:9', '--update-ca', join(boxDir, 'missing.pem')], /--update-ca: cannot read .*missing\.pem \(ENOENT\)/);
  }, 60_000);

  it('texts too short or too long name the flag, not the request body field (body.label)', async () => {
    const server = ['--server', 'http://127.0.0.1:9'];
    await expectBadInput(['grant', 'create', '--label', '', '--no-wait', ...server], /^pairgate: --label takes 1 to 200 characters; this one has 0\./);
    await expectBadInput(['grant', 'create', '--label', 'x'.repeat(201), '--no-wait', ...server], /--label takes 1 to 200 characters; this one has 201/);
    await expectBadInput(['grant', 'approve', 'abcd-efgh-j', '--note', 'n'.repeat(501), ...server], /--note takes up to 500 characters; this one has 501/);
  }, 60_000);

  it('a blank --label (only spaces) is refused with the flag named, before any request reaches the server', async () => {
    const requests: string[] = [];
    const listener = createServer((request, response) => {
      requests.push(`${request.method} ${request.url}`);
      response.writeHead(500).end();
    });
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    const server = ['--server', `http://127.0.0.1:${(listener.address() as AddressInfo).port}`];
    try {
      // The server refuses these too (400, pattern \S), but only after a round trip, in words about
      // a body field; a no-break or ideographic space is white space to both.
      for (const label of ['   ', '\t', ' \n ', '\u00a0\u3000']) {
        await expectBadInput(['grant', 'create', '--label', label, '--no-wait', ...server], /^pairgate: --label is blank \(only spaces\): give it 1 to 200 characters that are not all spaces\./);
      }
      await expectBadInput(['grant', 'create', '--label', '  ', ...server], /--label is blank/);
    } finally {
      await new Promise((resolve) => listener.close(resolve));
    }
    expect(requests).toEqual([]);
  }, 60_000);

  it('join with a --relay where a page answers (a server\'s root, not its /relay) says to check the relay URL, exit 2', async () => {
    const listener = createServer((_request, response) => response.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>home</title>'));
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    try {
      const relay = `http://127.0.0.1:${(listener.address() as AddressInfo).port}`;
      await expectBadInput(['join', 'abcdef', '--relay', relay], /answered the code with a page, not a redirect: it is not a pairgate relay there\. Check the relay URL: it usually ends in \/relay/);
    } finally {
      await new Promise((resolve) => listener.close(resolve));
    }
  }, 60_000);

  it('serve names the flag a bad port came from, and an empty one is no port rather than the default', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'pairgate-cli-port-'));
    await expectBadInput(['serve', '--port', 'eighty', '--data-dir', dataDir], /^pairgate: --port must be a whole number from 0 to 65535\./);
    // `--port "$PORT"` with PORT unset: it used to listen on 8080 as if no --port had been given.
    await expectBadInput(['serve', '--port', '', '--data-dir', dataDir], /--port must be a whole number from 0 to 65535/);
    // Number() read "" as 0, so `--port ""` meant "any free port" to the commands taking 0.
    await expectBadInput(['doctor', '--port', '', '--quiet'], /--port must be a whole number from 0 to 65535/);
  }, 60_000);

  it('help texts fit 80 columns, examples aside', async () => {
    const commands = [[], ['lan'], ['doctor'], ['join'], ['serve'], ['box', 'cert'], ['box', 'dns', 'set'], ['grant'], ['grant', 'create'], ['grant', 'show'], ['grant', 'approve'], ['grant', 'refuse'], ['version'], ['session', 'create']];
    for (const command of commands) {
      const help = (await run([...command, '--help'])).stdout;
      // Examples are command lines, kept whole; everything else is wrapped.
      const prose = help.split('\n').filter((line) => !/^ {2}\$ | {6}--/.test(line));
      expect(prose.filter((line) => line.length > 80), command.join(' ')).toEqual([]);
    }
  }, 60_000);

  /** The indented lines under `title:` in a help text, up to the next line that is not. */
  const section = (help: string, title: string): string => {
    const lines = help.split('\n');
    const start = lines.indexOf(`${title}:`);
    if (start < 0) return '';
    const end = lines.findIndex((line, index) => index > start && !line.startsWith(' '));
    return lines.slice(start + 1, end < 0 ? undefined : end).join('\n');
  };

  it('every help text says a default one way, "(default: X)" or "(PAIRGATE_X, default: X)", within 80 columns', async () => {
    /** The help of `command` and of every command under it. */
    const helps = async (command: string[]): Promise<[string, string][]> => {
      const help = (await run([...command, '--help'])).stdout;
      const children = [...section(help, 'Commands').matchAll(/^ {2}([a-z][a-z-]*)/gm)].map((match) => match[1]!).filter((name) => name !== 'help');
      return [[command.join(' '), help], ...(await Promise.all(children.map((child) => helps([...command, child])))).flat()];
    };
    const all = await helps([]);
    expect(all.length).toBeGreaterThan(20);
    for (const [command, help] of all) {
      const options = section(help, 'Options').replace(/\s+/g, ' ');
      // Commander's own '(default: "60")' and the hand-written '(default 8080)', '(120 by default)'.
      expect(options.match(/default: "|[(,] default [^:]|by default\)|\) \(default:/g), command).toBeNull();
      const prose = help.split('\n').filter((line) => !/^ {2}\$ | {6}--/.test(line));
      expect(prose.filter((line) => line.length > 80), command).toEqual([]);
    }
  }, 120_000);

  it('help texts state what --json prints and give examples', async () => {
    expect((await run(['doctor', '--help'])).stdout).toMatch(/--json\s+print the report as one JSON document/);
    for (const command of [['grant', 'create'], ['grant', 'approve'], ['session', 'create'], ['join'], ['doctor'], ['box', 'announce'], ['box', 'advertise'], ['box', 'dns', 'set'], ['serve'], ['lan', 'offer'], ['lan', 'join']]) {
      const help = await run([...command, '--help']);
      expect(help.status).toBe(0);
      expect(help.stdout, command.join(' ')).toMatch(/^Examples?:\n {2}\$ pairgate /m);
    }
  }, 60_000);
});
