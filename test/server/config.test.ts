import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors.js';
import { allDoors } from '../../src/doors/index.js';
import { describeConfig, loadConfig } from '../../src/server/config.js';
import { readConfigFile } from '../../src/server/config-file.js';
import { checkConfig } from '../../src/server/start.js';
import { trustedProxies } from '../../src/server/trust-proxy.js';
import { createTestApp } from '../helpers/app.js';

const sections = allDoors.flatMap((door) => (door.configSchema ? [door.configSchema] : []));

describe('configuration', () => {
  it('applies defaults', () => {
    const config = loadConfig(sections, { env: {} });
    expect(config.PAIRGATE_PORT).toBe(8080);
    expect(config.PAIRGATE_HOST).toBe('127.0.0.1');
    expect(config.PAIRGATE_METRICS).toBe(true);
  });

  it('reads a dotenv file, the environment overriding it and flags overriding both', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pairgate-config-'));
    const file = join(dir, 'pairgate.config');
    writeFileSync(file, '# comment\nPAIRGATE_PORT=9000\nPAIRGATE_PUBLIC_URL="https://pair.example.com"\nPAIRGATE_LOG_LEVEL=warn\n');
    const config = loadConfig(sections, { file, env: { PAIRGATE_LOG_LEVEL: 'error' } });
    expect(config.PAIRGATE_PORT).toBe(9000);
    expect(config.PAIRGATE_PUBLIC_URL).toBe('https://pair.example.com');
    expect(config.PAIRGATE_LOG_LEVEL).toBe('error');
    expect(loadConfig(sections, { file, overrides: { PAIRGATE_PORT: '0' } }).PAIRGATE_PORT).toBe(0);
  });

  it('an empty value of a key that is not text is no value: the next source\'s is taken, then the default', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pairgate-config-'));
    const file = join(dir, 'pairgate.config');
    writeFileSync(file, 'PAIRGATE_PORT=9000\nPAIRGATE_LOG_LEVEL=warn\nPAIRGATE_PUBLIC_URL=https://pair.example.com\n');
    // The environment's empty port and level hid the file's and gave the defaults, 8080 and info.
    const config = loadConfig(sections, { file, env: { PAIRGATE_PORT: '', PAIRGATE_LOG_LEVEL: '', PAIRGATE_PUBLIC_URL: '' } });
    expect(config.PAIRGATE_PORT).toBe(9000);
    expect(config.PAIRGATE_LOG_LEVEL).toBe('warn');
    // Text keeps its explicit empty value ("no public URL").
    expect(config.PAIRGATE_PUBLIC_URL).toBe('');
    expect(loadConfig(sections, { env: { PAIRGATE_PORT: '' } }).PAIRGATE_PORT).toBe(8080);
  });

  it('names the bad key and what is expected', () => {
    const bad = (env: Record<string, string>): ConfigError => {
      try {
        loadConfig(sections, { env });
      } catch (error) {
        return error as ConfigError;
      }
      throw new Error('no error');
    };
    expect(bad({ PAIRGATE_PORT: 'eighty' })).toMatchObject({ key: 'PAIRGATE_PORT', code: 'config_invalid' });
    expect(bad({ PAIRGATE_PORT: 'eighty' }).message).toMatch(/PAIRGATE_PORT: expected a whole number from 0 to 65535, got "eighty"/);
    expect(bad({ PAIRGATE_PORT: '70000' }).key).toBe('PAIRGATE_PORT');
    // A fraction is refused, not truncated (0.5 would have read as 0, "no limit" for some keys).
    expect(bad({ PAIRGATE_WAITS_PER_CLIENT: '0.5' }).message).toMatch(/PAIRGATE_WAITS_PER_CLIENT: expected a whole number of at least 0, got "0.5"/);
    expect(bad({ PAIRGATE_DEVICE_REFRESH_TOKEN_TTL_SECONDS: '1.5' }).key).toBe('PAIRGATE_DEVICE_REFRESH_TOKEN_TTL_SECONDS');
    expect(bad({ PAIRGATE_PORT: '1e3' }).key).toBe('PAIRGATE_PORT');
    expect(loadConfig(sections, { env: { PAIRGATE_PORT: ' 9000 ' } }).PAIRGATE_PORT).toBe(9000);
    expect(bad({ PAIRGATE_LOG_LEVEL: 'loud' }).message).toMatch(/PAIRGATE_LOG_LEVEL: expected one of "fatal"/);
    expect(bad({ PAIRGATE_METRICS: 'maybe' }).key).toBe('PAIRGATE_METRICS');
    const withPassword = bad({ PAIRGATE_DATABASE_URL: 'mysql://app:hunter2@db/pairgate' });
    expect(withPassword.key).toBe('PAIRGATE_DATABASE_URL');
    expect(withPassword.message).not.toContain('hunter2');
    expect(withPassword.message).toContain('mysql://app:[redacted]@db/pairgate');
    // Drivers also read a password from the query string.
    const inQuery = bad({ PAIRGATE_DATABASE_URL: 'mysql://app@db/pairgate?sslmode=require&password=hunter2&sslpassword=s3cr3t' });
    expect(inQuery.message).not.toMatch(/hunter2|s3cr3t/);
    expect(inQuery.message).toContain('?sslmode=require&password=[redacted]&sslpassword=[redacted]');
  });

  it('refuses a public URL that is no http(s) URL, saying in words what it expects', () => {
    for (const bad of ['notaurl', 'ftp://pair.example.com', 'https://pair.example.com/?x=1', 'https://pair example.com']) {
      expect(() => loadConfig(sections, { env: { PAIRGATE_PUBLIC_URL: bad } })).toThrow(/PAIRGATE_PUBLIC_URL: expected an http\(s\) URL .*such as https:\/\/pair\.example\.com/);
    }
    for (const good of ['', 'https://pair.example.com', 'http://127.0.0.1:8080/', 'https://example.com/pairgate', 'https://[::1]:8443']) {
      expect(loadConfig(sections, { env: { PAIRGATE_PUBLIC_URL: good } }).PAIRGATE_PUBLIC_URL).toBe(good);
      expect(() => checkConfig(loadConfig(sections, { env: { PAIRGATE_PUBLIC_URL: good } }), allDoors)).not.toThrow();
    }
    // What the pattern lets through but no URL parser reads: refused at start-up, not served as links.
    for (const bad of ['https://pair.example.com:99999', 'https://[::1']) {
      expect(() => checkConfig(loadConfig(sections, { env: { PAIRGATE_PUBLIC_URL: bad } }), allDoors), bad).toThrow(`PAIRGATE_PUBLIC_URL: ${JSON.stringify(bad)} is not a URL a browser can open (a port above 65535? a bracket not closed?); expected an http(s) URL such as https://pair.example.com`);
    }
  });

  it('refuses a listening host that is not one address or name alone (empty, a URL, a port, brackets), saying what it takes', () => {
    // An empty host listened everywhere and printed "http://:8080"; the others failed a name look-up.
    for (const bad of ['', '0.0.0.0 ', '[::1]', 'http://127.0.0.1', '127.0.0.1:8080', '127.0.0.1,::1']) {
      expect(() => loadConfig(sections, { env: { PAIRGATE_HOST: bad } }), bad).toThrow(`PAIRGATE_HOST: expected one address of this machine (127.0.0.1, ::1, 0.0.0.0 for all of them) or its host name, alone: no brackets, scheme or port (the port is PAIRGATE_PORT), got ${JSON.stringify(bad)}`);
    }
    for (const good of ['127.0.0.1', '0.0.0.0', '::', '::1', 'fe80::1%eth0', 'localhost', 'pair.example.com']) {
      expect(loadConfig(sections, { env: { PAIRGATE_HOST: good } }).PAIRGATE_HOST).toBe(good);
    }
  });

  it('refuses a trusted proxy that is no address or range, naming the key (proxy-addr said "invalid IP address: x" and the start failed as unexpected)', () => {
    const check = (value: string) => () => checkConfig(loadConfig(sections, { env: { PAIRGATE_TRUST_PROXY: value } }), allDoors);
    const takes = 'expected the comma-separated addresses or CIDR ranges of your reverse proxies (127.0.0.1, 10.0.0.0/8, fd00::/8; or loopback, linklocal, uniquelocal), or nothing to believe none';
    expect(check('127.0.0.1, garbage')).toThrow(`PAIRGATE_TRUST_PROXY: "garbage" is not an address or a CIDR range; ${takes}`);
    expect(check('10.0.0.0/33')).toThrow(`PAIRGATE_TRUST_PROXY: "10.0.0.0/33" has a prefix length that is not 0 to 32; ${takes}`);
    expect(check('fd00::/129')).toThrow(/"fd00::\/129" has a prefix length that is not 0 to 128/);
    expect(check('10.0.0.0/8/8')).toThrow(/"10\.0\.0\.0\/8\/8" is not an address or a CIDR range/);
    expect(check('true')).toThrow(`PAIRGATE_TRUST_PROXY: "true" would believe any client: name your proxies instead; ${takes}`);
    for (const good of ['', '127.0.0.1', '127.0.0.1,', '10.0.0.0/8, ::1, fd00::/8', '10.0.0.0/255.0.0.0', 'loopback,uniquelocal']) expect(check(good), good).not.toThrow();
  });

  it('builds an app from a list of proxies with blanks around and a trailing comma (proxy-addr refused the blank entry)', async () => {
    const t = await createTestApp({ PAIRGATE_TRUST_PROXY: ' loopback , ' });
    try {
      expect((await t.app.inject({ url: '/healthz', headers: { 'x-forwarded-for': '203.0.113.9' } })).statusCode).toBe(200);
      expect(trustedProxies(' loopback , ')).toEqual(['loopback']);
      expect(trustedProxies('')).toBe(false);
    } finally {
      await t.close();
    }
  });

  it('lists every key for --help-config, with the values a key of a few choices takes', () => {
    const listing = describeConfig(sections);
    expect(listing).toMatch(/^# .*\(one of "base32", "base20", "digits"\)\nPAIRGATE_GRANTS_CODE_ALPHABET=base32$/m);
    expect(listing).toMatch(/^PAIRGATE_REQUEST_TIMEOUT_SECONDS=30$/m);
  });

  it('--help-config\'s listing saved as a file is a configuration file: every key read back as its default', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'pairgate-help-config-')), 'pairgate.env');
    writeFileSync(file, describeConfig(sections));
    const fromFile = loadConfig(sections, { file, env: {} });
    const defaults = loadConfig(sections, { env: {} });
    expect(fromFile).toEqual(defaults);
    // Every key is in the file; one without a default (its value depends on others) is there empty, which reads as unset.
    const values = readConfigFile(file).values;
    const withoutDefault = Object.keys(values).filter((key) => !(key in defaults));
    expect(withoutDefault).toEqual(['PAIRGATE_SESSION_IDLE_SECONDS', 'PAIRGATE_SUPPORT_MAX_SESSIONS']);
    expect(values.PAIRGATE_SESSION_IDLE_SECONDS).toBe('');
    expect(values.PAIRGATE_SUPPORT_MAX_SESSIONS).toBe('');
    expect(Object.keys(values).length).toBe(Object.keys(defaults).length + withoutDefault.length);
  });

  it('a bad value says where it was set: the file, or the environment', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'pairgate-bad-value-')), 'bad.env');
    writeFileSync(file, 'PAIRGATE_LOG_LEVEL=loud\nPAIRGATE_PORT=eighty\n');
    expect(() => loadConfig(sections, { file, env: { PAIRGATE_PORT: '8081' } })).toThrow(`PAIRGATE_LOG_LEVEL: expected one of "fatal", "error", "warn", "info", "debug", "trace", "silent", got "loud" (set in ${file})`);
    expect(() => loadConfig(sections, { file, env: { PAIRGATE_LOG_LEVEL: 'info' } })).toThrow(`got "eighty" (set in ${file})`);
    expect(() => loadConfig(sections, { env: { PAIRGATE_PORT: 'x' } })).toThrow('got "x" (set in the environment)');
  });

  it('says which file cannot be read', () => {
    expect(() => loadConfig(sections, { file: '/nonexistent/pairgate.config' })).toThrow(/cannot read \/nonexistent\/pairgate.config: there is no such file \(ENOENT\)/);
  });

  it('refuses codes that would break the brute-force budget', () => {
    const config = loadConfig(sections, { env: { PAIRGATE_GRANTS_CODE_LENGTH: '4', PAIRGATE_GRANTS_CODE_ALPHABET: 'digits' } });
    expect(() => checkConfig(config, allDoors)).toThrow(/PAIRGATE_GRANTS_CODE_LENGTH: .* above the budget/);
    expect(() => checkConfig(loadConfig(sections, { env: {} }), allDoors)).not.toThrow();
  });

  it.each([
    'PAIRGATE_METRICS_TOKEN',
    'PAIRGATE_DEVICE_ADMIN_TOKEN',
    'PAIRGATE_DEVICE_INTROSPECTION_SECRET',
    'PAIRGATE_ACCESS_INTROSPECTION_SECRET',
  ])('refuses a guessable bearer secret in %s: short, or with a space; takes a long one or none', (key) => {
    const check = (value: string) => () => checkConfig(loadConfig(sections, { env: { [key]: value } }), allDoors);
    for (const weak of ['secret', 'x'.repeat(31), `${'x'.repeat(20)} ${'y'.repeat(20)}`]) {
      expect(check(weak)).toThrow(ConfigError);
      expect(check(weak)).toThrow(new RegExp(`^${key}: expected a secret of at least 32 characters`));
    }
    expect(check('x'.repeat(32))).not.toThrow();
    expect(check('')).not.toThrow();
  });
});
