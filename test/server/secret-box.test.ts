import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors.js';
import { loadSecretKey, parseSecretKey, SECRET_KEY_FILE } from '../../src/server/secret-box.js';

const KEY = 'PAIRGATE_INSTALL_SECRET_KEY';
const thrown = (run: () => unknown): ConfigError => {
  try {
    run();
  } catch (error) {
    return error as ConfigError;
  }
  throw new Error('nothing thrown');
};

describe('the server key, when it cannot be used', () => {
  it('a configured key of the wrong size says what it decodes to, or that it is hex, never the value', () => {
    const short = thrown(() => parseSecretKey('c2hvcnQ=', KEY));
    expect(short).toBeInstanceOf(ConfigError);
    expect(short.message).toBe(`${KEY}: expected 32 random bytes in base64 (e.g. \`openssl rand -base64 32\`) (this one decodes to 5 bytes)`);
    const hex = 'ab'.repeat(32);
    const message = thrown(() => parseSecretKey(hex, KEY)).message;
    expect(message).toBe(`${KEY}: expected 32 random bytes in base64 (e.g. \`openssl rand -base64 32\`) (this one is 64 hex digits, \`openssl rand -hex 32\`: give the key in base64)`);
    expect(message).not.toContain(hex);
  });

  it('a key file that cannot be read names the setting, the file and why (it was "EISDIR: illegal operation on a directory, read", exit 1)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pairgate-key-'));
    mkdirSync(join(dir, SECRET_KEY_FILE));
    const error = thrown(() => loadSecretKey('', dir, KEY));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toBe(`${KEY}: cannot read the key file ${join(dir, SECRET_KEY_FILE)}: it is a folder, not a file (EISDIR); make it a file pairgate can read (it holds the key of the secrets already stored), or set ${KEY} to that key`);
  });

  it('a data folder where the key file cannot be made says so and what to do', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pairgate-key-'));
    const expected = new RegExp(`^${KEY}: cannot create the key file .*: permission denied \\(check its owner and mode\\) \\(EACCES\\); make the data folder writable by pairgate, or set ${KEY}`);
    if (process.getuid?.() !== 0) {
      chmodSync(dir, 0o500);
      try {
        expect(thrown(() => loadSecretKey('', dir, KEY)).message).toMatch(expected);
      } finally {
        chmodSync(dir, 0o700);
      }
      return;
    }
    // Root writes anywhere, so the server is run as nobody in a folder root owns (as CI runs as root).
    chmodSync(dir, 0o755);
    const module = join(process.cwd(), 'dist/server/secret-box.js');
    const script = `const { loadSecretKey } = await import(${JSON.stringify(module)}); try { loadSecretKey('', ${JSON.stringify(dir)}, ${JSON.stringify(KEY)}); } catch (error) { process.stdout.write(error.message); }`;
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', `process.setgid(65534); process.setuid(65534); ${script}`], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.stdout).toMatch(expected);
  });

  it('a data folder that is a file: the key file cannot be made there, said the same way', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'pairgate-key-')), 'not-a-folder');
    writeFileSync(file, '');
    const error = thrown(() => loadSecretKey('', file, KEY));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toMatch(new RegExp(`^${KEY}: cannot (read|create) the key file ${join(file, SECRET_KEY_FILE).replace(/[/.]/g, '\\$&')}: a folder on its path is a file \\(ENOTDIR\\)`));
  });
});
