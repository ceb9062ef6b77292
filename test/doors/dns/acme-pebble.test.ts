import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BoxIdentity } from '../../../src/doors/registry/box-identity.js';
import { initBoxIdentity } from '../../../src/doors/registry/box-identity.js';
import type { DnsRuntime } from '../../../src/doors/dns/dns-door.js';
import type { TestApp } from '../../helpers/app.js';
import { missingProgram } from '../../helpers/system.js';
import { createDnsApp, resolverFor, ZONE } from './dns-helpers.js';
import { httpsGet, startPebble, type RunningPebble } from '../../helpers/pebble.js';

const cli = join(process.cwd(), 'dist/cli/main.js');
const skip = missingProgram('pebble', 'the ACME DNS-01 test against a real ACME server');

function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('node', [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += String(d)));
    child.stderr.on('data', (d: Buffer) => (stderr += String(d)));
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe.skipIf(Boolean(skip))('pairgate box cert: ACME DNS-01 against pebble pointed at our DNS server', () => {
  let t: TestApp;
  let runtime: DnsRuntime;
  let pebble: RunningPebble | undefined;
  let dir: string;
  let box: BoxIdentity;
  let directory: string;
  let management: string;

  beforeAll(async () => {
    if (!existsSync(cli)) execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
    ({ t, runtime } = await createDnsApp());
    dir = mkdtempSync(join(tmpdir(), 'pairgate-acme-'));
    box = await initBoxIdentity(join(dir, 'box'), { name: 'acme box' });
    writeFileSync(join(dir, 'update-ca.pem'), runtime.updateCertPem!);
    pebble = await startPebble(dir, runtime.dns.port);
    directory = pebble.directory;
    management = pebble.management;
  }, 60_000);

  afterAll(async () => {
    pebble?.stop();
    await t?.close();
  });

  it('sets the challenge TXT through the update API, gets a certificate, removes the TXT; HTTPS with it is trusted via pebble\'s root', async () => {
    const result = await run([
      'box', 'cert',
      '--dir', join(dir, 'box'),
      '--zone', ZONE,
      '--update-api', runtime.updateApi!.url,
      '--update-ca', join(dir, 'update-ca.pem'),
      '--acme-directory', directory,
      '--acme-ca', join(dir, 'pebble.crt'),
      '--dns-server', `127.0.0.1:${runtime.dns.port}`,
      '--labels', 'local,a',
      '--timeout', '20',
    ]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/setting TXT _acme-challenge\.local\./);
    expect(result.stderr).toMatch(/removed TXT _acme-challenge\.local\./);
    const name = `local.${box.fingerprint}.${ZONE}`;
    // Every wait is said before it starts, in order: against a real CA each takes a while.
    const lines = result.stderr.split('\n');
    const at = (line: string) => {
      const index = lines.indexOf(line);
      expect(index, `${line}\n---\n${result.stderr}`).toBeGreaterThanOrEqual(0);
      return index;
    };
    const waiting = at(`waiting for TXT _acme-challenge.${name} to show on 127.0.0.1:${runtime.dns.port} (up to 20 s)`);
    const asking = at(`TXT _acme-challenge.${name} is visible; asking the CA to validate it`);
    const validated = at(`the CA validated ${name}`);
    const issuing = at('every name validated: asking the CA to issue the certificate');
    expect([waiting, asking, validated, issuing]).toEqual([waiting, asking, validated, issuing].sort((x, y) => x - y));
    expect(issuing).toBeGreaterThan(at(`the CA validated a.${box.fingerprint}.${ZONE}`));
    const keyPem = readFileSync(join(dir, 'box', 'cert.key'), 'utf8');
    const chainPem = readFileSync(join(dir, 'box', 'cert.pem'), 'utf8');
    const leaf = new X509Certificate(chainPem);
    expect(leaf.subjectAltName).toContain(`DNS:${name}`);
    expect(leaf.subjectAltName).toContain(`DNS:a.${box.fingerprint}.${ZONE}`);

    // The challenge records are gone.
    const resolver = resolverFor(runtime.dns.port);
    await expect(resolver.resolveTxt(`_acme-challenge.${name}`)).rejects.toMatchObject({ code: 'ENOTFOUND' });

    // Serve HTTPS with the certificate; a client trusting only pebble's root accepts it for the name.
    const root = (await httpsGet(`${management}/roots/0`, pebble!.caPem)).body;
    expect(root).toMatch(/BEGIN CERTIFICATE/);
    const server = createHttpsServer({ key: keyPem, cert: chainPem }, (_req, res) => res.end('hello from the box'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    try {
      const answer = await httpsGet(`https://127.0.0.1:${port}/`, root, name);
      expect(answer).toEqual({ status: 200, body: 'hello from the box' });
      // The same server is not trusted without pebble's root, nor under another name.
      await expect(httpsGet(`https://127.0.0.1:${port}/`, undefined, name)).rejects.toThrow();
      await expect(httpsGet(`https://127.0.0.1:${port}/`, root, `other.${box.fingerprint}.${ZONE}`)).rejects.toThrow(/altnames|Hostname/i);
    } finally {
      server.close();
    }

    // Renewal, as a daily timer runs it: nothing to do while far from the end...
    const certArgs = [
      'box', 'cert', '--dir', join(dir, 'box'), '--zone', ZONE, '--update-api', runtime.updateApi!.url,
      '--update-ca', join(dir, 'update-ca.pem'), '--acme-directory', directory, '--acme-ca', join(dir, 'pebble.crt'),
      '--dns-server', `127.0.0.1:${runtime.dns.port}`, '--labels', 'local,a', '--timeout', '20',
    ];
    const kept = await run([...certArgs, '--renew-within', '1']);
    expect(kept.code, kept.stderr).toBe(0);
    expect(kept.stdout).toMatch(/is valid until .*: nothing to do/);
    expect(readFileSync(join(dir, 'box', 'cert.pem'), 'utf8')).toBe(chainPem);
    // ...a new certificate once within the margin (pebble's lifetime is far below 100 years).
    const renewed = await run([...certArgs, '--renew-within', '36500']);
    expect(renewed.code, renewed.stderr).toBe(0);
    expect(renewed.stderr).toMatch(/renewing: the certificate expires on .*, within 36500 days/);
    const next = readFileSync(join(dir, 'box', 'cert.pem'), 'utf8');
    expect(next).not.toBe(chainPem);
    expect(new X509Certificate(next).subjectAltName).toContain(`DNS:${name}`);
    expect(readFileSync(join(dir, 'box', 'cert.key'), 'utf8')).not.toBe(keyPem);
    // A run stopped between its two renames left a key beside a certificate not its own (here the
    // old key), and a `.new` file left readable by all: renewed (it said "nothing to do" before),
    // and the key written is the certificate's, mode 0600.
    writeFileSync(join(dir, 'box', 'cert.key'), keyPem);
    writeFileSync(join(dir, 'box', 'cert.key.new'), 'left by a stopped run', { mode: 0o644 });
    const repaired = await run([...certArgs, '--renew-within', '1']);
    expect(repaired.code, repaired.stderr).toBe(0);
    expect(repaired.stderr).toMatch(/renewing: the key file does not hold the certificate's key/);
    expect(statSync(join(dir, 'box', 'cert.key')).mode & 0o777).toBe(0o600);
    expect(new X509Certificate(readFileSync(join(dir, 'box', 'cert.pem'), 'utf8')).checkPrivateKey(createPrivateKey(readFileSync(join(dir, 'box', 'cert.key'), 'utf8')))).toBe(true);
    // A bad margin is a clear error, not a new certificate.
    const bad = await run([...certArgs, '--renew-within', 'soon']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--renew-within takes a number of days/);
  }, 180_000);
});


describe.skipIf(Boolean(skip))('pairgate box cert: a CA that cannot see the challenge says which step failed and what to check', () => {
  let t: TestApp;
  let elsewhere: TestApp;
  let runtime: DnsRuntime;
  let pebble: RunningPebble | undefined;
  let dir: string;
  let box: BoxIdentity;
  let directory: string;

  beforeAll(async () => {
    if (!existsSync(cli)) execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
    ({ t, runtime } = await createDnsApp());
    // The DNS server the CA asks is another one, without the box's records: as when the zone is not
    // delegated to pairgate's server, or a firewall keeps the CA from it.
    let other: DnsRuntime;
    ({ t: elsewhere, runtime: other } = await createDnsApp());
    dir = mkdtempSync(join(tmpdir(), 'pairgate-acme-invalid-'));
    box = await initBoxIdentity(join(dir, 'box'), { name: 'acme box' });
    writeFileSync(join(dir, 'update-ca.pem'), runtime.updateCertPem!);
    pebble = await startPebble(dir, other.dns.port);
    directory = pebble.directory;
  }, 60_000);

  afterAll(async () => {
    pebble?.stop();
    await t?.close();
    await elsewhere?.close();
  });

  it('acme_challenge_invalid (exit 1): names the record and the delegation to check, removes the TXT, writes no certificate, keeps the account', async () => {
    const args = [
      'box', 'cert', '--dir', join(dir, 'box'), '--zone', ZONE, '--update-api', runtime.updateApi!.url,
      '--update-ca', join(dir, 'update-ca.pem'), '--acme-directory', directory, '--acme-ca', join(dir, 'pebble.crt'),
      '--dns-server', `127.0.0.1:${runtime.dns.port}`, '--labels', 'local', '--timeout', '20',
    ];
    const result = await run(args);
    const record = `_acme-challenge.local.${box.fingerprint}.${ZONE}`;
    expect(result.code, result.stderr).toBe(1);
    // pairgate's server had it: the step that failed is the CA's look-up, and the message says so.
    expect(result.stderr).toContain(`TXT ${record} is visible`);
    expect(result.stderr).toContain(`pairgate: The ACME server could not validate the challenge ${record}: `);
    expect(result.stderr).toContain(`The DNS server at 127.0.0.1:${runtime.dns.port} answered it before the CA was asked, so the CA, which looks the record up through public DNS, did not reach that server. Check that ${ZONE} is delegated to the pairgate DNS server`);
    expect(result.stderr).toContain(`dig +trace TXT ${record}`);
    expect(result.stderr).toMatch(/\[acme_challenge_invalid\]\n$/);
    expect(result.stderr).not.toMatch(/^\s+at /m);
    expect(result.stderr).toContain(`removed TXT ${record}`);
    await expect(resolverFor(runtime.dns.port).resolveTxt(record)).rejects.toMatchObject({ code: 'ENOTFOUND' });
    expect(existsSync(join(dir, 'box', 'cert.pem'))).toBe(false);
    // The account the CA registered is kept: a retry uses it rather than registering another.
    expect(existsSync(join(dir, 'box', 'acme-account.key'))).toBe(true);
    const again = await run(args);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('using the existing ACME account');
  }, 120_000);
});
