import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BoxIdentity } from '../../../src/doors/registry/box-identity.js';
import type { DnsRuntime } from '../../../src/doors/dns/dns-door.js';
import { RegistryClient } from '../../../src/sdk/registry.js';
import { missingProgram } from '../../helpers/system.js';
import type { TestApp } from '../../helpers/app.js';
import { createDnsApp, newBox, updateClient } from './dns-helpers.js';

const skip = missingProgram('dig', 'the DNS case tests (dig shows the question section as answered)');

/** dig's whole answer to `name` `type` on our server. */
async function dig(port: number, name: string, type: string): Promise<string> {
  const { stdout } = await promisify(execFile)('dig', ['@127.0.0.1', '-p', String(port), '+norec', '+tries=1', '+time=2', name, type]);
  return stdout;
}

describe.skipIf(Boolean(skip))('PAIRGATE_DNS_ZONE in any case, with a trailing dot: the zone is served as box.example.test (RFC 4343)', () => {
  let t: TestApp;
  let runtime: DnsRuntime;
  let box: BoxIdentity;
  let base: string;

  beforeAll(async () => {
    // Refused at start-up before ("expected a DNS name in lower case without a trailing dot").
    ({ t, runtime } = await createDnsApp({ PAIRGATE_DNS_ZONE: 'Box.Example.TEST.', PAIRGATE_REGISTRY_PRIVATE: 'true', PAIRGATE_DNS_NS_ADDRESSES: '192.0.2.53', PAIRGATE_DNS_HOSTMASTER: 'DNS-Admin@Example.TEST' }));
    box = await newBox('case');
    base = `${box.fingerprint}.box.example.test`;
    // The update API takes names in any case too.
    await updateClient(runtime, box).set(`LOCAL.${box.fingerprint}.BOX.example.Test`, 'A', '192.168.1.44');
  });
  afterAll(() => t?.close());

  it('answers a mixed-case query, keeping the question\'s case in the answer as DNS servers do', async () => {
    const asked = `LoCaL.${box.fingerprint.toUpperCase()}.bOx.ExAmPlE.tEsT`;
    const out = await dig(runtime.dns.port, asked, 'A');
    expect(out).toMatch(/status: NOERROR/);
    expect(out).toMatch(/flags: qr aa;/);
    expect(out).toMatch(new RegExp(`^;${asked.replace(/\./g, '\\.')}\\.\\s+IN\\s+A$`, 'm'));
    expect(out).toMatch(new RegExp(`^${asked.replace(/\./g, '\\.')}\\.\\s+600\\s+IN\\s+A\\s+192\\.168\\.1\\.44$`, 'm'));
  });

  it('the apex asked in capitals has its SOA under the name as asked, naming the servers in lower case; a name outside stays REFUSED', async () => {
    const soa = await dig(runtime.dns.port, 'BOX.EXAMPLE.TEST', 'SOA');
    expect(soa).toMatch(/status: NOERROR/);
    // The contact written as an e-mail address is the SOA's mailbox name (the @ as the first dot).
    expect(soa).toMatch(/^BOX\.EXAMPLE\.TEST\.\s+\d+\s+IN\s+SOA\s+ns1\.box\.example\.test\. dns-admin\.example\.test\./m);
    expect(await dig(runtime.dns.port, 'EXAMPLE.TEST', 'SOA')).toMatch(/status: REFUSED/);
    // The name server's own address (glue) too, under the name as asked.
    expect(await dig(runtime.dns.port, 'NS1.Box.Example.Test', 'A')).toMatch(/^NS1\.Box\.Example\.Test\.\s+600\s+IN\s+A\s+192\.0\.2\.53$/m);
  });

  it('the registry\'s privacy mode names the box under the zone in lower case', async () => {
    const client = new RegistryClient({ baseUrl: await t.listen() });
    await client.announce(box, { fingerprint: box.fingerprint, local_origin: 'https://192.168.1.44:4443', tunnel_origin: null });
    const [entry] = await client.ping();
    // With the port the box announced (4443): browsers sent to 443 found nothing there.
    expect(JSON.parse(entry!.message)).toEqual({ private: true, origin: `https://local.${base}:4443` });
  });
});
