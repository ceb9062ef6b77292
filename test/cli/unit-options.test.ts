import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PairgateError } from '../../src/core/errors.js';
import { sizeOption, sizeWords, timeOption, timeWords } from '../../src/cli/unit-options.js';
import { CLI, ensureBuilt, runCliUnder } from '../helpers/cli.js';
import { freePort } from '../helpers/ports.js';

/**
 * Time and size options with a unit (`--timeout 5m`, `--dial-timeout 2s`, `--max-size 500M`) or
 * as the plain number they took before (seconds, milliseconds or bytes, as each option says).
 */

/** The error `parse` throws, as the CLI prints it: message and machine code. */
function refusal(parse: () => unknown): { message: string; code: string; status: number } {
  try {
    parse();
  } catch (error) {
    if (error instanceof PairgateError) return { message: error.message, code: error.code, status: error.status };
    throw error;
  }
  throw new Error('not refused');
}

describe('timeOption', () => {
  it('takes a plain number in the option\'s own unit, as before units existed', () => {
    expect(timeOption('90', '--timeout', 's', 1, 3600)).toBe(90);
    expect(timeOption('5000', '--dial-timeout', 'ms', 100, 120_000)).toBe(5000);
    expect(timeOption(' 60 ', '--interval', 's', 1, 86_400)).toBe(60);
    expect(timeOption(undefined, '--ttl', 's', 10, 86_400)).toBeUndefined();
  });

  it('takes ms, s, m (or min) and h, and gives the count in the option\'s unit', () => {
    expect(timeOption('5m', '--timeout', 's', 1, 86_400)).toBe(300);
    expect(timeOption('2h', '--ttl', 's', 10, 86_400)).toBe(7200);
    expect(timeOption('24h', '--ttl', 's', 10, 86_400)).toBe(86_400);
    expect(timeOption('3000ms', '--seconds', 's', 1, 600)).toBe(3);
    expect(timeOption('2s', '--dial-timeout', 'ms', 100, 120_000)).toBe(2000);
    expect(timeOption('1500ms', '--dial-timeout', 'ms', 100, 120_000)).toBe(1500);
    expect(timeOption('2m', '--dial-timeout', 'ms', 100, 120_000)).toBe(120_000);
    // The words the range errors use read back as the same time.
    expect(timeOption('2 min', '--dial-timeout', 'ms', 100, 120_000)).toBe(120_000);
    expect(timeOption('100 ms', '--dial-timeout', 'ms', 100, 120_000)).toBe(100);
  });

  it('takes a decimal that comes to whole units of the option, exactly (no floating-point rounding)', () => {
    expect(timeOption('1.5s', '--multicast-wait', 'ms', 100, 60_000)).toBe(1500);
    expect(timeOption('1.1s', '--multicast-wait', 'ms', 100, 60_000)).toBe(1100);
    expect(timeOption('1.5m', '--timeout', 's', 1, 3600)).toBe(90);
    expect(timeOption('0.25h', '--timeout', 's', 1, 3600)).toBe(900);
    expect(timeOption('2.000s', '--timeout', 's', 1, 3600)).toBe(2);
  });

  it('refuses a decimal that is part of a unit, saying the option counts whole ones and how to write one', () => {
    expect(refusal(() => timeOption('1.5s', '--seconds', 's', 1, 600))).toEqual({
      status: 400, code: 'invalid_request',
      message: '--seconds takes whole seconds: "1.5s" is not (a decimal is fine when it comes to whole seconds, e.g. 1.5m).',
    });
    expect(refusal(() => timeOption('1.5', '--timeout', 's', 1, 3600)).message).toMatch(/^--timeout takes whole seconds: "1\.5" is not/);
    expect(refusal(() => timeOption('1500ms', '--timeout', 's', 1, 3600)).message).toMatch(/^--timeout takes whole seconds/);
    expect(refusal(() => timeOption('0.5ms', '--dial-timeout', 'ms', 100, 120_000)).message)
      .toBe('--dial-timeout takes whole milliseconds: "0.5ms" is not (a decimal is fine when it comes to whole milliseconds, e.g. 1.5s).');
  });

  it('refuses an unknown unit or no number, naming the option, the range, the units, an example and what was given', () => {
    expect(refusal(() => timeOption('5x', '--dial-timeout', 'ms', 100, 120_000))).toEqual({
      status: 400, code: 'invalid_request',
      message: '--dial-timeout takes a time from 100 ms to 2 min: a number with ms, s, m or h (e.g. 1500ms or 2s), or a plain number of milliseconds; "5x" is not one.',
    });
    // An unset shell variable is no 0; a sign, a bare decimal point or days are no time here.
    for (const value of ['', ' ', '-5', '+5', '.5s', '5.s', '1d', '5S', '5 m s', '1e3', '0x10', '5s5']) {
      expect(refusal(() => timeOption(value, '--timeout', 's', 1, 3600)).message, value)
        .toBe(`--timeout takes a time from 1 s to 1 h: a number with ms, s, m or h (e.g. 90s or 5m), or a plain number of seconds; "${value}" is not one.`);
    }
  });

  it('refuses a time out of the option\'s range, saying the range and the time given in unit words', () => {
    expect(refusal(() => timeOption('3m', '--dial-timeout', 'ms', 100, 120_000)).message).toBe('--dial-timeout must be from 100 ms to 2 min; "3m" is 3 min.');
    expect(refusal(() => timeOption('50', '--dial-timeout', 'ms', 100, 120_000)).message).toBe('--dial-timeout must be from 100 ms to 2 min; "50" is 50 ms.');
    expect(refusal(() => timeOption('0', '--seconds', 's', 1, 600)).message).toBe('--seconds must be from 1 s to 10 min; "0" is 0 s.');
    expect(refusal(() => timeOption('25h', '--ttl', 's', 10, 86_400)).message).toBe('--ttl must be from 10 s to 24 h; "25h" is 25 h.');
    // Past what a number holds exactly: refused, never rounded into range.
    expect(refusal(() => timeOption('99999999999999999999h', '--ttl', 's', 0, 86_400)).message).toBe('--ttl must be from 0 s to 24 h; "99999999999999999999h" is far more.');
  });

  it('an option bounded below only says "or more", and gives its own machine code when asked (session create\'s ttl_invalid)', () => {
    expect(timeOption('30h', '--ttl', 's', 10, Number.MAX_SAFE_INTEGER, 'ttl_invalid')).toBe(108_000);
    expect(refusal(() => timeOption('5s', '--ttl', 's', 10, Number.MAX_SAFE_INTEGER, 'ttl_invalid'))).toEqual({ status: 400, code: 'ttl_invalid', message: '--ttl must be 10 s or more; "5s" is 5 s.' });
    expect(refusal(() => timeOption('x', '--ttl', 's', 10, Number.MAX_SAFE_INTEGER, 'ttl_invalid'))).toMatchObject({ code: 'invalid_request', message: expect.stringMatching(/^--ttl takes a time of at least 10 s: /) });
    expect(refusal(() => timeOption('9'.repeat(30), '--ttl', 's', 10, Number.MAX_SAFE_INTEGER)).message).toBe(`--ttl: "${'9'.repeat(30)}" is more than pairgate can count (at most 9007199254740991 seconds).`);
  });
});

describe('timeWords', () => {
  it('writes a time in the largest unit that holds it whole', () => {
    expect([timeWords(120_000, 'ms'), timeWords(100, 'ms'), timeWords(1500, 'ms'), timeWords(60_000, 'ms')]).toEqual(['2 min', '100 ms', '1500 ms', '1 min']);
    expect([timeWords(86_400, 's'), timeWords(90, 's'), timeWords(600, 's'), timeWords(0, 's'), timeWords(0, 'ms')]).toEqual(['24 h', '90 s', '10 min', '0 s', '0 ms']);
  });
});

describe('sizeOption', () => {
  const max = Number.MAX_SAFE_INTEGER;

  it('takes a plain number of bytes, as before units existed', () => {
    expect(sizeOption('1000', '--max-size', 0, max)).toBe(1000);
    expect(sizeOption('0', '--max-size', 0, max)).toBe(0);
    expect(sizeOption(undefined, '--max-size', 0, max)).toBeUndefined();
  });

  it('takes k, K, KiB, M, MiB, G, GiB by 1024, kB, KB, MB, GB by 1000, and B', () => {
    const cases: [string, number][] = [
      ['1k', 1024], ['1K', 1024], ['1KiB', 1024], ['500M', 500 * 1024 ** 2], ['500MiB', 500 * 1024 ** 2], ['2G', 2 * 1024 ** 3], ['1GiB', 1024 ** 3],
      ['1kB', 1000], ['1KB', 1000], ['500MB', 500_000_000], ['2GB', 2_000_000_000], ['64B', 64], ['1.5G', 1.5 * 1024 ** 3], ['0.5k', 512], ['2 GiB', 2 * 1024 ** 3],
    ];
    for (const [value, bytes] of cases) expect(sizeOption(value, '--max-size', 0, max), value).toBe(bytes);
  });

  it('refuses any other unit (lower-case m and g, T, bits) naming the option, the units, an example and what was given', () => {
    for (const value of ['1T', '1m', '1g', '1Kib', '1Mb', '1 bytes', '', '-1', '1e9']) {
      expect(refusal(() => sizeOption(value, '--max-size', 0, max)), value).toEqual({
        status: 400, code: 'invalid_request',
        message: `--max-size takes a size: a plain number of bytes, or a number with K, M or G (KiB, MiB, GiB: by 1024) or KB, MB or GB (by 1000), e.g. 500M or 2GB; "${value}" is not one.`,
      });
    }
  });

  it('refuses part of a byte, a size past what a number holds, and one out of a range', () => {
    expect(refusal(() => sizeOption('0.1k', '--max-size', 0, max)).message).toBe('--max-size takes whole bytes: "0.1k" is not (a decimal is fine when it comes to whole bytes, e.g. 1.5G).');
    expect(refusal(() => sizeOption('99999999999999G', '--max-size', 0, max)).message).toBe('--max-size: "99999999999999G" is more than pairgate can count (at most 9007199254740991 bytes).');
    expect(refusal(() => sizeOption('2G', '--limit', 1, 1024 ** 3)).message).toBe('--limit must be from 1 byte to 1 GiB; "2G" is 2 GiB.');
  });
});

describe('sizeWords', () => {
  it('writes a size in the largest 1024-based unit that holds it whole', () => {
    expect([sizeWords(1024 ** 3), sizeWords(500 * 1024 ** 2), sizeWords(1024), sizeWords(1000), sizeWords(1), sizeWords(0)]).toEqual(['1 GiB', '500 MiB', '1 KiB', '1000 bytes', '1 byte', '0 bytes']);
  });
});

// Loopback only, on a port no other test file of the run holds: no other test's announcements are heard.
const lonely = ['--discovery-interface', '127.0.0.1', '--discovery-port', String(await freePort())];

describe('the CLI takes units end to end', () => {
  const children: ChildProcess[] = [];
  let root: string;
  beforeAll(() => {
    ensureBuilt();
    root = mkdtempSync(join(tmpdir(), 'pairgate-unit-options-'));
  }, 120_000);
  afterAll(() => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });

  it('lan nearby --duration 2s listens two seconds; 1500ms is taken; --seconds, its old name, still works', async () => {
    const started = Date.now();
    const listened = await runCliUnder(['lan', 'nearby', '--duration', '2s', ...lonely]);
    expect(listened.stderr).toBe('');
    expect(listened.stdout).toMatch(/^No device announced itself in 2 s of listening\./);
    expect(listened.code).toBe(0);
    expect(Date.now() - started).toBeGreaterThanOrEqual(2000);
    const millis = await runCliUnder(['lan', 'nearby', '--duration', '1500ms', ...lonely]);
    expect(millis.code).toBe(0);
    expect(millis.stdout).toMatch(/^No device announced itself in 1500 ms of listening\./);
    const old = await runCliUnder(['lan', 'nearby', '--seconds', '1', ...lonely]);
    expect(old.stdout).toMatch(/^No device announced itself in 1 s of listening\./);
    const oldMillis = await runCliUnder(['lan', 'nearby', '--seconds', '1500ms', ...lonely]);
    expect(oldMillis.code).toBe(0);
  }, 30_000);

  it('lan nearby with both --duration and --seconds (its former name) is refused, exit 2, not one silently overruling the other', async () => {
    expect(await runCliUnder(['lan', 'nearby', '--duration', '1s', '--seconds', '4', ...lonely])).toEqual({
      code: 2, stdout: '', stderr: 'pairgate: --seconds is the former name of --duration: give one of them. [invalid_request]\n',
    });
  });

  it('doctor --multicast-wait with a unit it does not know is refused before any check, exit 2', async () => {
    expect(await runCliUnder(['doctor', '--quiet', '--multicast-wait', '2sec'])).toEqual({
      code: 2, stdout: '',
      stderr: 'pairgate: --multicast-wait takes a time from 100 ms to 1 min: a number with ms, s, m or h (e.g. 1500ms or 2s), or a plain number of milliseconds; "2sec" is not one. [invalid_request]\n',
    });
  });

  it('lan join - refuses a bad --dial-timeout before it reads the string from stdin (not after the person pasted it)', async () => {
    // stdin is empty: read first, it was "Nothing was read from standard input" (lan_bad_connection_string).
    expect(await runCliUnder(['lan', 'join', '-', '--dial-timeout', '3m', '--config-dir', join(root, 'joiner')])).toEqual({
      code: 2, stdout: '', stderr: 'pairgate: --dial-timeout must be from 100 ms to 2 min; "3m" is 3 min. [invalid_request]\n',
    });
  });

  it('lan offer --max-size 1k is 1024 bytes: a 5000-byte file is refused at that limit (lan_payload_too_large)', async () => {
    const file = join(root, 'photo.jpg');
    writeFileSync(file, Buffer.alloc(5000, 3));
    const loopback = ['--address', '127.0.0.1', '--bind', '127.0.0.1', '--no-discovery'];
    const offer = spawn('node', [CLI, 'lan', 'offer', '--config-dir', join(root, 'desk'), ...loopback, '--json', '--no-qr', '--out', root, '--max-size', '1k', '--timeout', '30s'], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(offer);
    let offerErr = '';
    offer.stderr.on('data', (d: Buffer) => { offerErr += String(d); });
    const exit = new Promise<number | null>((resolve) => offer.once('exit', resolve));
    const line = await new Promise<string>((resolve, reject) => {
      createInterface({ input: offer.stdout }).once('line', resolve);
      void exit.then(() => reject(new Error(`offer exited: ${offerErr}`)));
    });
    const connection = String((JSON.parse(line) as { connectionString: string }).connectionString);
    const joined = await runCliUnder(['lan', 'join', connection, '--config-dir', join(root, 'phone'), '--payload', file, '--no-discovery', '--dial-timeout', '2s', '--timeout', '5s']);
    expect(joined.stderr).toContain('it accepts files of at most 1024 bytes (its --max-size), and this one has 5000');
    expect(joined.code).toBe(1);
    expect(await exit).toBe(2);
    expect(offerErr).toContain('The other device sends a file of 5000 bytes, over this device\'s limit of 1024 (--max-size)');
  }, 60_000);
});
