import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readConfiguredTls } from '../../../src/doors/dns/configured-tls.js';
import { dnsConfigSchema } from '../../../src/doors/dns/config.js';
import { dnsDoor, zoneSettings } from '../../../src/doors/dns/dns-door.js';
import { createSelfSigned } from '../../../src/doors/registry/self-signed.js';
import { loadConfig } from '../../../src/server/config.js';

describe('PAIRGATE_DNS_ZONE refused in words', () => {
  it.each(['bad zone!', 'box..example.com', '-box.example.com'])('%s: says what to write, not the regular expression', (zone) => {
    expect(() => loadConfig([dnsConfigSchema], { env: { PAIRGATE_DNS_ZONE: zone } })).toThrow(
      `PAIRGATE_DNS_ZONE: expected a DNS name such as box.example.com (or nothing, to turn DNS off), got ${JSON.stringify(zone)}`,
    );
  });

  it.each(['box.example.com.', 'Box.Example.Com', 'BOX.EXAMPLE.COM.'])('%s is box.example.com: DNS names are case-insensitive, and zone files end them with a dot', (zone) => {
    const config = loadConfig([dnsConfigSchema], { env: { PAIRGATE_DNS_ZONE: zone } });
    expect(() => dnsDoor.checkConfig!(config)).not.toThrow();
    expect(zoneSettings(config)).toMatchObject({ zone: 'box.example.com', nameServers: ['ns1.box.example.com'], hostmaster: 'hostmaster.box.example.com' });
  });
});

describe('PAIRGATE_DNS_NS_ADDRESSES (glue for the zone\'s name servers) checked at start-up', () => {
  const config = (addresses: string) => loadConfig([dnsConfigSchema], { env: { PAIRGATE_DNS_ZONE: 'box.example.com', PAIRGATE_DNS_NS_ADDRESSES: addresses } });
  it('takes IPv4 and IPv6 addresses, and refuses anything else naming the value', () => {
    expect(() => dnsDoor.checkConfig!(config('192.0.2.53, 2001:db8::53'))).not.toThrow();
    expect(() => dnsDoor.checkConfig!(config('192.0.2.53,notanip'))).toThrow(
      expect.objectContaining({ code: 'config_invalid', message: expect.stringContaining('PAIRGATE_DNS_NS_ADDRESSES: expected comma-separated IPv4 or IPv6 addresses, such as 192.0.2.53,2001:db8::53; "notanip" is not one') }),
    );
  });
});

describe('readConfiguredTls: PAIRGATE_DNS_UPDATE_TLS_CERT and _KEY checked at start-up, naming the key at fault', () => {
  let dir: string;
  let cert: string;
  let key: string;
  let otherKey: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pairgate-dns-tls-'));
    const pair = await createSelfSigned({ commonName: 'update api', altNames: ['localhost'] });
    const other = await createSelfSigned({ commonName: 'other', altNames: ['localhost'] });
    [cert, key, otherKey] = [join(dir, 'cert.pem'), join(dir, 'key.pem'), join(dir, 'other-key.pem')];
    writeFileSync(cert, pair.certPem);
    writeFileSync(key, pair.keyPem);
    writeFileSync(otherKey, other.keyPem);
  });

  it('reads a matching pair', () => {
    expect(readConfiguredTls(cert, key)).toMatchObject({ cert: expect.stringContaining('BEGIN CERTIFICATE'), key: expect.stringContaining('PRIVATE KEY') });
  });

  it('a missing file or a folder', () => {
    expect(() => readConfiguredTls(join(dir, 'nope.pem'), key)).toThrow(`PAIRGATE_DNS_UPDATE_TLS_CERT: cannot read ${join(dir, 'nope.pem')}: there is no such file (ENOENT)`);
    expect(() => readConfiguredTls(cert, dir)).toThrow(`PAIRGATE_DNS_UPDATE_TLS_KEY: cannot read ${dir}: it is a folder, not a file (EISDIR)`);
  });

  it('the two swapped, or a key of another certificate (config_invalid: exit 2)', () => {
    expect(() => readConfiguredTls(key, cert)).toThrow(`PAIRGATE_DNS_UPDATE_TLS_CERT: ${key} is not a PEM certificate: it holds a private key (are the certificate and the key swapped?)`);
    expect(() => readConfiguredTls(cert, cert)).toThrow(`PAIRGATE_DNS_UPDATE_TLS_KEY: ${cert} is not a PEM private key: it holds a certificate (are the certificate and the key swapped?)`);
    expect(() => readConfiguredTls(cert, otherKey)).toThrow(expect.objectContaining({
      code: 'config_invalid',
      message: `PAIRGATE_DNS_UPDATE_TLS_KEY: ${otherKey} is not the key of the certificate ${cert} (PAIRGATE_DNS_UPDATE_TLS_CERT)`,
    }));
  });
});

describe('PAIRGATE_DNS_HOSTMASTER as the e-mail address people write, or as a name', () => {
  const config = (hostmaster: string) => loadConfig([dnsConfigSchema], { env: { PAIRGATE_DNS_ZONE: 'box.example.com', PAIRGATE_DNS_HOSTMASTER: hostmaster } });
  it.each(['hostmaster@example.com', 'Hostmaster@Example.COM', 'hostmaster.example.com.'])('%s is the SOA RNAME hostmaster.example.com (an @ went into the SOA as it was)', (hostmaster) => {
    expect(() => dnsDoor.checkConfig!(config(hostmaster))).not.toThrow();
    expect(zoneSettings(config(hostmaster)).hostmaster).toBe('hostmaster.example.com');
  });
  it.each(['first.last@example.com', 'a@b@example.com', 'not a mailbox'])('%s is refused naming the key and both forms (config_invalid)', (hostmaster) => {
    expect(() => dnsDoor.checkConfig!(config(hostmaster))).toThrow(expect.objectContaining({
      code: 'config_invalid',
      message: expect.stringContaining(`PAIRGATE_DNS_HOSTMASTER: expected the zone's contact as an e-mail address without a dot before the @ (hostmaster@example.com) or as a name (hostmaster.example.com); ${JSON.stringify(hostmaster)} is neither`),
    }));
  });
});
