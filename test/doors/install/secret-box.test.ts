import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/core/errors.js';
import { loadSecretKey, SECRET_KEY_FILE, SecretBox } from '../../../src/server/secret-box.js';

// src/server/secret-box.ts is shared, but was added with the install door, whose tests hold it.
describe('SecretBox (AES-256-GCM under the server key)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pairgate-box-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('opens what it sealed, only with the same key and context; every seal differs', () => {
    const box = new SecretBox(randomBytes(32));
    const sealed = box.seal('the secret', 'table.column:row1');
    expect(sealed).toMatch(/^v1\.[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(sealed).not.toContain('the secret');
    expect(box.seal('the secret', 'table.column:row1')).not.toBe(sealed);
    expect(box.open(sealed, 'table.column:row1')).toBe('the secret');
    expect(box.open(sealed, 'table.column:row2')).toBeUndefined();
    expect(new SecretBox(randomBytes(32)).open(sealed, 'table.column:row1')).toBeUndefined();
    const [v, nonce, tag, body] = sealed.split('.');
    const flipped = Buffer.from(body!, 'base64url');
    flipped[0]! ^= 1;
    expect(box.open([v, nonce, tag, flipped.toString('base64url')].join('.'), 'table.column:row1')).toBeUndefined();
    for (const junk of ['', 'v1', 'v2.a.b.c', 'v1.a.b.c.d', 'v1...', '....']) expect(box.open(junk, 'x')).toBeUndefined();
  });

  it('a configured key must be 32 bytes; without one a 0600 key file is made once in the data folder', () => {
    expect(() => loadSecretKey('c2hvcnQ=', dir, 'KEY')).toThrow(ConfigError);
    const configured = randomBytes(32);
    expect(loadSecretKey(configured.toString('base64'), dir, 'KEY').equals(configured)).toBe(true);
    const first = loadSecretKey('', dir, 'KEY');
    expect(first.length).toBe(32);
    expect(loadSecretKey('', dir, 'KEY').equals(first)).toBe(true);
    expect(statSync(join(dir, SECRET_KEY_FILE)).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(dir, SECRET_KEY_FILE), 'utf8').trim()).toBe(first.toString('base64'));
  });
});
