import 'reflect-metadata';
import { randomBytes, webcrypto } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, runCli } from '../helpers/cli.js';
import { freePort as closedPort } from '../helpers/ports.js';

beforeAll(ensureBuilt, 120_000);

const DAY = 86_400_000;
const ZONE = 'box.example.test';

/** A self-signed certificate for `names` that ends `daysLeft` days from now, with its key, as PEM. */
async function certificate(names: string[], daysLeft: number): Promise<{ certPem: string; keyPem: string }> {
  const algorithm = { name: 'ECDSA', namedCurve: 'P-256' };
  const keys = await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: `01${randomBytes(8).toString('hex')}`,
    name: 'CN=box cert times test',
    notBefore: new Date(Date.now() - DAY),
    notAfter: new Date(Date.now() + daysLeft * DAY),
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    keys: keys as unknown as Parameters<typeof x509.X509CertificateGenerator.createSelfSigned>[0]['keys'],
    extensions: [new x509.SubjectAlternativeNameExtension(names.map((value) => ({ type: 'dns' as const, value })))],
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)).toString('base64');
  return { certPem: cert.toString('pem'), keyPem: `-----BEGIN PRIVATE KEY-----\n${pkcs8.replace(/(.{64})/g, '$1\n')}\n-----END PRIVATE KEY-----\n` };
}

/** A box identity and, in its folder, a certificate for its default names that ends in `daysLeft` days. */
async function boxWithCertificate(daysLeft: number): Promise<string> {
  const dir = join(mkdtempSync(join(tmpdir(), 'pairgate-cert-times-')), 'box');
  const init = await runCli(['box', 'init', '--dir', dir]);
  expect(init.status, init.stderr).toBe(0);
  const fingerprint = init.stdout.trim();
  const { certPem, keyPem } = await certificate(['local', 'a', 'b'].map((label) => `${label}.${fingerprint}.${ZONE}`), daysLeft);
  writeFileSync(join(dir, 'cert.pem'), certPem);
  writeFileSync(join(dir, 'cert.key'), keyPem, { mode: 0o600 });
  return dir;
}

/** A time as `whenWords` says it: the local time of day, the date before it when not today, how far off. */
const LOCAL_TIME = String.raw`(?:\d{4}-\d{2}-\d{2} )?\d{2}:\d{2}:\d{2}`;
/** An ISO time as `toISOString` writes it, which the text output no longer shows. */
const ISO_TIME = /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z/;

describe('pairgate box cert --renew-within: the certificate\'s end in local time with how far off', () => {
  it('a certificate kept: "valid until <local time> (in 60 days)", no ISO time', async () => {
    const dir = await boxWithCertificate(60);
    const nothing = `https://127.0.0.1:${await closedPort()}`;
    const kept = await runCli(['box', 'cert', '--dir', dir, '--zone', ZONE, '--update-api', nothing, '--acme-directory', `${nothing}/dir`, '--renew-within', '30']);
    expect(kept.status, kept.stderr).toBe(0);
    expect(kept.stdout).toMatch(new RegExp(`^certificate ${join(dir, 'cert.pem')} is valid until ${LOCAL_TIME} \\(in 60 days\\), more than 30 days: nothing to do\\n$`));
    expect(kept.stdout).not.toMatch(ISO_TIME);
  }, 60_000);

  it('a certificate renewed: "renewing: the certificate expires on <local time> (in 5 days), within 30 days", no ISO time', async () => {
    const dir = await boxWithCertificate(5);
    const nothing = `https://127.0.0.1:${await closedPort()}`;
    // The renewal then fails at the update API nobody listens on: only its first line is looked at.
    const renewing = await runCli(['box', 'cert', '--dir', dir, '--zone', ZONE, '--update-api', nothing, '--acme-directory', `${nothing}/dir`, '--renew-within', '30']);
    const [first] = renewing.stderr.split('\n');
    expect(first).toMatch(new RegExp(`^renewing: the certificate expires on ${LOCAL_TIME} \\(in 5 days\\), within 30 days$`));
    expect(first).not.toMatch(ISO_TIME);
  }, 60_000);
});
