import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

const cli = join(process.cwd(), 'dist/cli/main.js');

beforeAll(() => {
  // The CLI tests run the compiled command, as a user would; `npm test` builds first.
  execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
}, 120_000);

function run(args: string[], env: Record<string, string> = {}): { status: number; stdout: string; stderr: string } {
  try {
    const stdout = execFileSync('node', [cli, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], timeout: 15_000 });
    return { status: 0, stdout, stderr: '' };
  } catch (error) {
    const e = error as { status: number; stdout: string; stderr: string };
    return { status: e.status, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('pairgate CLI', () => {
  it('a second serve on a data folder in use says so and what to do, and exits 2 (a setting to change)', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'pairgate-serve-twice-'));
    const first = spawn('node', [cli, 'serve', '--port', '0', '--data-dir', dataDir], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      await new Promise<string>((resolve, reject) => {
        createInterface({ input: first.stdout! }).once('line', resolve);
        first.once('exit', (code) => reject(new Error(`exited ${code}`)));
      });
      const second = run(['serve', '--port', '0', '--data-dir', dataDir]);
      expect(second.status).toBe(2);
      expect(second.stderr).toContain(`The data folder ${dataDir} is in use by another pairgate server. Stop it, or give this one its own folder with --data-dir. [data_dir_in_use]`);
    } finally {
      const exited = new Promise((resolve) => first.once('exit', resolve));
      first.kill('SIGTERM');
      await exited;
    }
  }, 30_000);

  it('serve --port 0 prints the real URL as its first line and serves it; SIGTERM stops it cleanly', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'pairgate-serve-'));
    const child = spawn('node', [cli, 'serve', '--port', '0', '--data-dir', dataDir], { stdio: ['ignore', 'pipe', 'pipe'] });
    const firstLine = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout! }).once('line', resolve);
      child.once('exit', (code) => reject(new Error(`exited ${code}`)));
    });
    const match = /^pairgate listening on (http:\/\/127\.0\.0\.1:(\d+))$/.exec(firstLine);
    expect(match, firstLine).not.toBeNull();
    expect(Number(match![2])).toBeGreaterThan(0);
    expect(await (await fetch(`${match![1]}/healthz`)).json()).toEqual({ status: 'ok' });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it('stops with a message naming the bad key', () => {
    // A flag is checked by the CLI itself and named as typed (test/cli/bad-input.test.ts).
    const result = run(['serve', '--data-dir', mkdtempSync(join(tmpdir(), 'pairgate-bad-'))], { PAIRGATE_PORT: 'eighty' });
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/PAIRGATE_PORT must be a whole number/);
  });

  it('a trusted proxy that is no address stops the start naming the key, exit 2 (was "invalid IP address: garbage", exit 1)', () => {
    const result = run(['serve', '--port', '0', '--data-dir', mkdtempSync(join(tmpdir(), 'pairgate-bad-'))], { PAIRGATE_TRUST_PROXY: '127.0.0.1,garbage' });
    expect(result.status, result.stderr).toBe(2);
    expect(result.stderr).toMatch(/^pairgate: PAIRGATE_TRUST_PROXY: "garbage" is not an address or a CIDR range; expected the comma-separated addresses/);
  });

  it('a value given by a flag and refused is told under the flag typed, not the key it overrode', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'pairgate-bad-'));
    const host = run(['serve', '--port', '0', '--host', '[::1]', '--data-dir', dataDir]);
    expect(host.status, host.stderr).toBe(2);
    // A sentence, as every other refusal of a flag (`--port must be ...`), naming the flags it means.
    expect(host.stderr).toBe('pairgate: --host must be one address of this machine (127.0.0.1, ::1, 0.0.0.0 for all of them) or its host name, alone: no brackets, scheme or port (the port is --port), not "[::1]". [config_invalid]\n');
    const spaced = run(['serve', '--port', '0', '--host', 'bad host', '--data-dir', dataDir]);
    expect(spaced.status, spaced.stderr).toBe(2);
    expect(spaced.stderr).toMatch(/^pairgate: --host must be one address of this machine .*, not "bad host"\. \[config_invalid\]\n$/);
    const url = run(['serve', '--port', '0', '--public-url', 'pair.example.com', '--data-dir', dataDir]);
    expect(url.stderr).toBe('pairgate: --public-url must be an http(s) URL without query or fragment, such as https://pair.example.com, not "pair.example.com". [config_invalid]\n');
    // The same value from the environment is told under its key.
    const env = run(['serve', '--port', '0', '--data-dir', dataDir], { PAIRGATE_HOST: '[::1]' });
    expect(env.stderr).toMatch(/^pairgate: PAIRGATE_HOST must be one address/m);
  });

  it('an empty PAIRGATE_RELAY_ONLY leaves the --config file\'s, as for every key (serve and the loaded configuration read it alike)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pairgate-cfg-'));
    writeFileSync(join(dir, 'pairgate.config'), 'PAIRGATE_RELAY_ONLY=true\n');
    const child = spawn('node', [cli, 'serve', '--port', '0', '--config', join(dir, 'pairgate.config'), '--data-dir', dir], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PAIRGATE_RELAY_ONLY: '' } });
    try {
      const line = await new Promise<string>((resolve, reject) => {
        createInterface({ input: child.stdout! }).once('line', resolve);
        child.once('exit', (code) => reject(new Error(`exited ${String(code)}`)));
      });
      const url = /http:\/\/\S+/.exec(line)![0];
      // Relay-only: the relay's own page at /, and no account pages.
      expect((await fetch(`${url}/account/signin`)).status).toBe(404);
    } finally {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    }
  });

  it('a data folder that cannot be made stops the start with a line naming it (never hangs)', () => {
    const notAFolder = join(mkdtempSync(join(tmpdir(), 'pairgate-file-')), 'file');
    writeFileSync(notAFolder, 'x');
    for (const [dir, said] of [
      // Named by the flag typed (it was PAIRGATE_DATA_DIR, a key not written anywhere).
      ['/proc/pairgate-test/data', /Cannot create \/proc\/pairgate-test for --data-dir/],
      [join(notAFolder, 'data'), /Cannot use .*file for --data-dir: it is not a folder/],
    ] as const) {
      // A start that hung would be killed at `run`'s timeout and fail the status (no timing here:
      // two CLI starts took over 10 s on a loaded machine).
      const result = run(['serve', '--port', '0', '--data-dir', dir]);
      expect(result.status, result.stderr).toBe(2);
      expect(result.stderr).toMatch(said);
    }
  }, 60_000);

  it('reads a dotenv config file with --config', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pairgate-cfg-'));
    writeFileSync(join(dir, 'pairgate.config'), 'PAIRGATE_LOG_LEVEL=noisy\n');
    const result = run(['serve', '--config', join(dir, 'pairgate.config'), '--data-dir', dir]);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/PAIRGATE_LOG_LEVEL must be one of/);
  });

  it('refuses a --config line that is not KEY=value, which silently swallowed the setting after it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pairgate-cfg-'));
    // Without the check, the port line was lost and the server started on the default 8080.
    writeFileSync(join(dir, 'pairgate.config'), '# comment\nlisten on all interfaces\nPAIRGATE_PORT=0\n');
    const result = run(['serve', '--config', join(dir, 'pairgate.config'), '--data-dir', dir]);
    expect(result.status, result.stderr).toBe(2);
    expect(result.stderr.trim()).toBe(`pairgate: --config: ${join(dir, 'pairgate.config')}, line 2: "listen on all interfaces" is not a KEY=value line; fix it or comment it out with # [config_invalid]`);
  });

  it('refuses a last --config line that is not KEY=value the same way, with or without a newline after it (parseEnv dropped it)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pairgate-cfg-'));
    const file = join(dir, 'pairgate.config');
    for (const end of ['', '\n']) {
      writeFileSync(file, `PAIRGATE_PORT=0\nPAIRGATE_LOG_LEVEL${end}`);
      const result = run(['serve', '--config', file, '--data-dir', dir]);
      expect(result.status, result.stderr).toBe(2);
      expect(result.stderr.trim()).toBe(`pairgate: --config: ${file}, line 2: "PAIRGATE_LOG_LEVEL" is not a KEY=value line; fix it or comment it out with # [config_invalid]`);
    }
  });

  it('reads a --config file that starts with a byte-order mark (Notepad), its first key included', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pairgate-cfg-'));
    const file = join(dir, 'pairgate.config');
    // Was refused as '"\uFEFFPAIRGATE_LOG_LEVEL" is not a key', the mark invisible in the message.
    writeFileSync(file, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('PAIRGATE_LOG_LEVEL=noisy\n')]));
    const result = run(['serve', '--config', file, '--data-dir', dir]);
    expect(result.status, result.stderr).toBe(2);
    expect(result.stderr).toMatch(/^pairgate: PAIRGATE_LOG_LEVEL must be one of/);
  });

  it('refuses a --config file that is not UTF-8, naming the line and saying to save it as UTF-8 (its accented value was replaced without a word)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pairgate-cfg-'));
    const file = join(dir, 'pairgate.config');
    writeFileSync(file, Buffer.from('PAIRGATE_PORT=0\nPAIRGATE_PUBLIC_URL=https://caf\xe9.example\n', 'latin1'));
    const result = run(['serve', '--config', file, '--data-dir', dir]);
    expect(result.status, result.stderr).toBe(2);
    expect(result.stderr.trim()).toBe(`pairgate: --config: ${file}, line 2: byte 0xE9 is not UTF-8 text (the file is in another encoding, such as Latin-1 or Windows-1252): save it as UTF-8 (in most editors: Save As, Encoding: UTF-8) [config_invalid]`);
  });

  it('warns of a --config key that no section declares (a typo is otherwise ignored without a word)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pairgate-cfg-'));
    // The bad level stops the start after the warnings, so no server is left running.
    writeFileSync(join(dir, 'pairgate.config'), 'PAIRGATE_LOG_LEVEL=info\nPAIRGATE_PROT=0\nOTHER_PROGRAM_KEY=1\nPLEXUS_AUTH_USER=support\npairgate_port=0\nPAIRGATE_LOG_LEVEL=noisy\n');
    const result = run(['serve', '--config', join(dir, 'pairgate.config'), '--data-dir', dir]);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/^pairgate: warning: --config: .*: PAIRGATE_PROT is not a configuration key and is ignored \(did you mean PAIRGATE_PORT\?\)$/m);
    expect(result.stderr).toMatch(/^pairgate: warning: --config: .*: pairgate_port is not a configuration key and is ignored \(keys are upper case: PAIRGATE_PORT\)$/m);
    expect(result.stderr).toMatch(/^pairgate: warning: --config: .*: PAIRGATE_LOG_LEVEL is set on lines 1 and 6: line 6 counts; remove the others$/m);
    expect(result.stderr).not.toMatch(/OTHER_PROGRAM_KEY|PLEXUS_AUTH_USER is not/);
  });

  it('warns of a value that carries a comment after it (systemd keeps it), naming the key, never the value', () => {
    const result = run(['serve', '--data-dir', mkdtempSync(join(tmpdir(), 'pairgate-env-comment-'))], {
      PAIRGATE_REDIS_PREFIX: 'pairgate:   # every key starts with it',
      PAIRGATE_METRICS_TOKEN: 's3cr3t-0123456789abcdefghijklmnop #x',
      PAIRGATE_PUBLIC_URL: 'https://pair.example.com/#fragment',
      // Stops the start after the warnings, so no server is left running.
      PAIRGATE_LOG_LEVEL: 'noisy',
    });
    expect(result.stderr).toMatch(/^pairgate: warning: environment: PAIRGATE_REDIS_PREFIX's value holds " #": a comment kept in the value\? \(systemd's EnvironmentFile keeps one after a value; put comments on lines of their own\.\)$/m);
    expect(result.stderr).toMatch(/PAIRGATE_METRICS_TOKEN's value holds " #"/);
    // A # with no space before it is no comment.
    expect(result.stderr).not.toMatch(/PAIRGATE_PUBLIC_URL's value/);
    expect(result.stderr).not.toContain('s3cr3t');
  });

  it('warns of a PAIRGATE_ environment variable no section declares, with the key meant, never its value', () => {
    const result = run(['serve', '--data-dir', mkdtempSync(join(tmpdir(), 'pairgate-env-'))], {
      PAIRGATE_PROT: '8080',
      PAIRGATE_METRICS_TOKN: 's3cr3t-0123456789abcdefghijklmnop',
      // Read by pairgate's tooling (the benchmarks, the CLI's clients), not the server: no warning.
      PAIRGATE_BENCH_PIN: '0',
      PAIRGATE_SERVER: 'http://127.0.0.1:9',
      // Stops the start after the warnings, so no server is left running.
      PAIRGATE_LOG_LEVEL: 'noisy',
    });
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/^pairgate: warning: environment: PAIRGATE_PROT is not a configuration key and is ignored \(did you mean PAIRGATE_PORT\?\)$/m);
    expect(result.stderr).toMatch(/^pairgate: warning: environment: PAIRGATE_METRICS_TOKN is not a configuration key and is ignored \(did you mean PAIRGATE_METRICS_TOKEN\?\)$/m);
    expect(result.stderr).not.toContain('s3cr3t');
    expect(result.stderr).not.toMatch(/PAIRGATE_BENCH_PIN|PAIRGATE_SERVER/);
  });

  it('a port another program holds is said in words, with what to do (it was Node\'s listen EADDRINUSE)', async () => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const port = (holder.address() as AddressInfo).port;
    try {
      const result = await runCli(['serve', '--port', String(port), '--data-dir', mkdtempSync(join(tmpdir(), 'pairgate-busy-'))]);
      expect(result.status, result.stderr).toBe(2);
      // The port is tried before the database is made (test/cli/serve-port-first.test.ts): the
      // error, in words, is the only line.
      const lines = result.stderr.trim().split('\n');
      expect(lines).toEqual([`pairgate: Cannot listen on 127.0.0.1:${port}: another program already does (another pairgate?). Stop it, or choose another port with serve --port or PAIRGATE_PORT (0 picks a free one). [address_in_use]`]);
    } finally {
      holder.close();
    }
  });

  it('has --help everywhere and a version command', () => {
    expect(run(['--help']).stdout).toMatch(/Usage: pairgate/);
    expect(run(['serve', '--help']).stdout).toMatch(/--data-dir/);
    expect(run(['serve', '--help-config']).stdout).toMatch(/PAIRGATE_BRUTE_FORCE_BUDGET=0.001/);
    expect(run(['version']).stdout).toMatch(/^pairgate \d+\.\d+\.\d+ \(node/);
    expect(JSON.parse(run(['version', '--json']).stdout)).toHaveProperty('pairgate');
  });

  it('says what to do on an unknown command', () => {
    const result = run(['frobnicate']);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/Unknown command/);
  });
});
