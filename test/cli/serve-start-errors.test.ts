import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Type } from 'typebox';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/server/config.js';
import { ensureBuilt, runCli } from '../helpers/cli.js';

beforeAll(ensureBuilt, 120_000);

/** `pairgate serve` on a fresh data folder (unless `args` names one), to its end. */
async function serve(args: string[], env: Record<string, string> = {}) {
  const dataDir = args.includes('--data-dir') ? [] : ['--data-dir', mkdtempSync(join(tmpdir(), 'pairgate-start-errors-'))];
  return runCli(['serve', '--port', '0', ...dataDir, ...args], env, 30_000);
}

/**
 * `serve`'s start-up refusals read as every other CLI error: "pairgate: <sentence that says what
 * to do> [<code>]". They were the server's log words: "PAIRGATE_HOST: expected ..., got ...",
 * "--data-dir: cannot create ...", "cannot listen on ...", lower case and without a full stop.
 */
describe('pairgate serve: start-up refusals are sentences that say what to do, with their code', () => {
  it('a value from the environment the schema refuses: "KEY must be X, not Y: change it in the environment." (config_invalid, exit 2)', async () => {
    const result = await serve([], { PAIRGATE_HOST: '[::1]' });
    expect(result.status, result.stderr).toBe(2);
    expect(result.stderr).toBe('pairgate: PAIRGATE_HOST must be one address of this machine (127.0.0.1, ::1, 0.0.0.0 for all of them) or its host name, alone: no brackets, scheme or port (the port is PAIRGATE_PORT), not "[::1]": change it in the environment. [config_invalid]\n');
  }, 60_000);

  it('a value from the --config file the schema refuses names the file to change it in', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pairgate-start-errors-'));
    const file = join(dir, 'pairgate.config');
    writeFileSync(file, 'PAIRGATE_LOG_LEVEL=noisy\n');
    const result = await serve(['--config', file]);
    expect(result.status, result.stderr).toBe(2);
    expect(result.stderr).toBe(`pairgate: PAIRGATE_LOG_LEVEL must be one of "fatal", "error", "warn", "info", "debug", "trace", "silent", not "noisy": change it in ${file}. [config_invalid]\n`);
  }, 60_000);

  it('a data folder that cannot be made: "Cannot create <folder> for --data-dir (<why>): <what to do>." (config_invalid, exit 2)', async () => {
    const result = await serve(['--data-dir', '/proc/pairgate-start-errors/data']);
    expect(result.status, result.stderr).toBe(2);
    expect(result.stderr).toBe('pairgate: Cannot create /proc/pairgate-start-errors for --data-dir (ENOENT): choose a folder this user may write to. [config_invalid]\n');
  }, 60_000);

  it('a data folder under a file, from the environment: "Cannot use <file> for PAIRGATE_DATA_DIR: it is not a folder; ..."', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'pairgate-start-errors-')), 'a-file');
    writeFileSync(file, 'x');
    const result = await runCli(['serve', '--port', '0'], { PAIRGATE_DATA_DIR: join(file, 'data') }, 30_000);
    expect(result.status, result.stderr).toBe(2);
    expect(result.stderr).toBe(`pairgate: Cannot use ${file} for PAIRGATE_DATA_DIR: it is not a folder; choose a folder this user may write to. [config_invalid]\n`);
  }, 60_000);

  it('an address it cannot listen on: "Cannot listen on ..." with the listener\'s code (address_not_available, exit 2)', async () => {
    // 192.0.2.1 (TEST-NET-1) is no address of this machine.
    const result = await serve(['--host', '192.0.2.1']);
    expect(result.status, result.stderr).toBe(2);
    expect(result.stderr).toBe('pairgate: Cannot listen on 192.0.2.1: 192.0.2.1 is not an address of this machine. Give one of its addresses with serve --host or PAIRGATE_HOST (0.0.0.0 for all of them). [address_not_available]\n');
  }, 60_000);
});

describe('the configuration\'s words for a text of at least some length: "character" for 1, "characters" otherwise', () => {
  it('an empty PAIRGATE_ACCESS_SERVICE_NAME: "text of at least 1 character" (was "1 characters")', async () => {
    const result = await serve([], { PAIRGATE_ACCESS_SERVICE_NAME: '' });
    expect(result.status, result.stderr).toBe(2);
    expect(result.stderr).toBe('pairgate: PAIRGATE_ACCESS_SERVICE_NAME must be text of at least 1 character, not "": change it in the environment. [config_invalid]\n');
  }, 60_000);

  it('a key of at least 2: "text of at least 2 characters"', () => {
    const section = Type.Object({ PAIRGATE_TEST_TWO: Type.String({ minLength: 2, default: 'ab' }) });
    expect(() => loadConfig([section], { env: { PAIRGATE_TEST_TWO: 'a' } })).toThrow('PAIRGATE_TEST_TWO: expected text of at least 2 characters, got "a" (set in the environment)');
    expect(() => loadConfig([Type.Object({ PAIRGATE_TEST_ONE: Type.String({ minLength: 1, default: 'a' }) })], { env: { PAIRGATE_TEST_ONE: '' } }))
      .toThrow('PAIRGATE_TEST_ONE: expected text of at least 1 character, got "" (set in the environment)');
  });
});
