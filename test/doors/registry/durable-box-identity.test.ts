import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hasBoxIdentity, initBoxIdentity, loadBoxIdentity } from '../../../src/doors/registry/box-identity.js';
import { createSelfSigned, type KeyAndCertificate } from '../../../src/doors/registry/self-signed.js';
import { certificateFingerprints } from '../../../src/core/fingerprint.js';

/**
 * What an interrupted `box init --force` leaves, written by hand: a key and a certificate that
 * are not a pair are never served; the reader says which files, why, and what to do; a
 * replacement that got as far as its new key is finished by `box init`, never lost.
 */

const pair = (name: string): Promise<KeyAndCertificate> => createSelfSigned({ commonName: name });

/** A folder holding `files` (name -> content), the key 0600 as `box init` makes it. */
function folder(files: Record<string, string>): string {
  const dir = join(mkdtempSync(join(tmpdir(), 'pairgate-durable-box-')), 'box');
  mkdirSync(dir, { mode: 0o700 });
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content, { mode: name === 'box.key' ? 0o600 : 0o644 });
  return dir;
}

/** The folder's files and their contents, to show a refusal changed nothing. */
const contents = (dir: string) => Object.fromEntries(readdirSync(dir).sort().map((name) => [name, readFileSync(join(dir, name), 'utf8')]));

describe('a box identity whose key and certificate are not a pair', () => {
  it('a new key beside the old certificate (an older version\'s box init --force stopped between its writes): box_identity_mismatch naming both files and what to do, for box id and box init alike, nothing changed', async () => {
    const [old, next] = [await pair('old'), await pair('next')];
    const dir = folder({ 'box.key': next.keyPem, 'box.crt': old.certPem });
    const before = contents(dir);
    const expected = {
      code: 'box_identity_mismatch',
      status: 409,
      message: `The box identity in ${dir} cannot be used: the key ${join(dir, 'box.key')} is not the key of the certificate ${join(dir, 'box.crt')} (a \`pairgate box init --force\` of an older version interrupted, or files of two identities). Put back box.key and box.crt from the same copy, or run \`pairgate box init --force --dir ${dir}\` to make a new identity (a new fingerprint: DNS names and pins of the old one stop working).`,
    };
    expect(() => loadBoxIdentity(dir)).toThrow(expect.objectContaining(expected));
    // `box init` without --force neither keeps it as it is nor draws a new key over it.
    expect(hasBoxIdentity(dir)).toBe(true);
    await expect(initBoxIdentity(dir)).rejects.toMatchObject(expected);
    expect(contents(dir)).toEqual(before);
    // --force makes a whole new identity, as the message says.
    const made = await initBoxIdentity(dir, { force: true });
    expect(loadBoxIdentity(dir).fingerprint).toBe(made.fingerprint);
  });

  it('a key cut short, a key without its certificate, a certificate without its key: each refused naming the file', async () => {
    const old = await pair('old');
    const cases: [Record<string, string>, string][] = [
      [{ 'box.key': old.keyPem.slice(0, 40), 'box.crt': old.certPem }, 'box.key holds no private key that can be read (empty or cut short?)'],
      [{ 'box.key': '', 'box.crt': old.certPem }, 'box.key holds no private key that can be read'],
      [{ 'box.key': old.keyPem }, 'box.key is there but the certificate '],
      [{ 'box.crt': old.certPem }, 'box.crt is there but the key '],
      [{ 'box.key': old.keyPem, 'box.crt': old.certPem.slice(0, 60) }, 'box.crt holds no certificate that can be read'],
    ];
    for (const [files, words] of cases) {
      const dir = folder(files);
      expect(() => loadBoxIdentity(dir), words).toThrow(expect.objectContaining({ code: 'box_identity_mismatch', message: expect.stringContaining(`${dir}/${words}`) }));
      await expect(initBoxIdentity(dir), words).rejects.toMatchObject({ code: 'box_identity_mismatch' });
      expect(contents(dir)).toEqual(files);
    }
  });
});

describe('a replacement interrupted at each of its steps', () => {
  it('stopped before its key was written (the new certificate staged): the old identity, whole; box init takes the staged file away', async () => {
    const [old, next] = [await pair('old'), await pair('next')];
    const dir = folder({ 'box.key': old.keyPem, 'box.crt': old.certPem, 'box.crt.new': next.certPem });
    const fingerprint = certificateFingerprints(old.certPem).fingerprint;
    expect(loadBoxIdentity(dir)).toMatchObject({ fingerprint, keyPem: old.keyPem, certPem: old.certPem });
    expect((await initBoxIdentity(dir)).fingerprint).toBe(fingerprint);
    expect(readdirSync(dir).sort()).toEqual(['box.crt', 'box.key']);
  });

  it('stopped after its key was written: box_identity_interrupted naming the files and the command that finishes it; box init finishes it, the new identity whole', async () => {
    const [old, next] = [await pair('old'), await pair('next')];
    const dir = folder({ 'box.key': next.keyPem, 'box.crt': old.certPem, 'box.crt.new': next.certPem });
    const fingerprint = certificateFingerprints(next.certPem).fingerprint;
    expect(() => loadBoxIdentity(dir)).toThrow(expect.objectContaining({
      code: 'box_identity_interrupted',
      status: 409,
      message: `The box identity in ${dir} is half replaced: the key ${join(dir, 'box.key')} is not the key of the certificate ${join(dir, 'box.crt')}, and ${join(dir, 'box.crt.new')} holds the certificate of that key (a \`pairgate box init --force\` was interrupted). Run \`pairgate box init --dir ${dir}\` to finish the replacement (it keeps the new key and its fingerprint ${fingerprint}).`,
    }));
    const finished = await initBoxIdentity(dir);
    expect(finished).toMatchObject({ fingerprint, keyPem: next.keyPem, certPem: next.certPem });
    expect(loadBoxIdentity(dir).fingerprint).toBe(fingerprint);
    expect(readdirSync(dir).sort()).toEqual(['box.crt', 'box.key']);
    expect(statSync(join(dir, 'box.crt')).mode & 0o777).toBe(0o644);
  });

  it('a first box init stopped after its key was written (no old certificate): finished the same way, not replaced by a new key', async () => {
    const next = await pair('next');
    const dir = folder({ 'box.key': next.keyPem, 'box.crt.new': next.certPem });
    expect(() => loadBoxIdentity(dir)).toThrow(expect.objectContaining({ code: 'box_identity_interrupted', message: expect.stringContaining(`${join(dir, 'box.key')} is there but the certificate ${join(dir, 'box.crt')} is missing`) }));
    expect((await initBoxIdentity(dir)).keyPem).toBe(next.keyPem);
    expect(existsSync(join(dir, 'box.crt.new'))).toBe(false);
  });

  it('a first box init stopped before its key was written (a staged certificate alone): no identity, and box init makes one', async () => {
    const dir = folder({ 'box.crt.new': (await pair('next')).certPem });
    expect(() => loadBoxIdentity(dir)).toThrow(expect.objectContaining({ code: 'no_box_identity' }));
    const made = await initBoxIdentity(dir);
    expect(loadBoxIdentity(dir).fingerprint).toBe(made.fingerprint);
    expect(readdirSync(dir).sort()).toEqual(['box.crt', 'box.key']);
    expect(statSync(join(dir, 'box.key')).mode & 0o777).toBe(0o600);
  });
});
