import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DnsUpdateClient } from '../../../src/sdk/dns-update.js';
import { PairgateApiError } from '../../../src/sdk/errors.js';
import { createDnsApp, newBox, updateClient, ZONE } from './dns-helpers.js';

/**
 * GET /docs/json on the update API at 127.0.0.1, the TLS name checked being `servername`: what a box
 * running `--update-api https://<servername>:<port> --update-ca cert.pem` sees, without a DNS entry.
 */
function fetchAs(url: string, servername: string, ca: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/docs/json`, { ca, servername, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the update API\'s self-signed certificate', () => {
  it('names the host of PAIRGATE_PUBLIC_URL, so a box reaching the server by its name is accepted with --update-ca', async () => {
    const { t, runtime } = await createDnsApp({ PAIRGATE_PUBLIC_URL: 'https://pair.example.test', PAIRGATE_DNS_UPDATE_HOST: '0.0.0.0' });
    try {
      const url = `https://127.0.0.1:${new URL(runtime.updateApi!.url).port}`;
      expect(await fetchAs(url, 'pair.example.test', runtime.updateCertPem!)).toBe(200);
      expect(await fetchAs(url, 'localhost', runtime.updateCertPem!)).toBe(200);
      // A name the certificate does not hold is still refused: the check is TLS's own.
      await expect(fetchAs(url, 'elsewhere.example.test', runtime.updateCertPem!)).rejects.toMatchObject({ code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
      expect(t.logs.join('')).not.toContain('does not name');

      // The SDK (and so `pairgate box dns`) tells a TLS refusal from a server that does not answer.
      const box = await newBox();
      const untrusted = await new DnsUpdateClient({ baseUrl: url, box }).list(`${box.fingerprint}.${ZONE}`).catch((error: unknown) => error);
      expect(untrusted).toBeInstanceOf(PairgateApiError);
      expect(untrusted).toMatchObject({ status: 0, code: 'tls_untrusted' });
      expect((untrusted as Error).message).toContain('--update-ca');
      // 127.0.0.2 is this machine too, but not a name of the certificate.
      const otherName = `https://127.0.0.2:${new URL(url).port}`;
      const mismatch = await new DnsUpdateClient({ baseUrl: otherName, box, ca: runtime.updateCertPem! }).list(`${box.fingerprint}.${ZONE}`).catch((error: unknown) => error);
      expect(mismatch).toMatchObject({ status: 0, code: 'tls_name_mismatch' });
      expect((mismatch as Error).message).toContain('--update-api');
      expect(await updateClient(runtime, box).list(`${box.fingerprint}.${ZONE}`)).toEqual([]);
    } finally {
      await t.close();
    }
  });

  it('kept from an earlier start without that name: start-up says so and what to do', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'pairgate-dns-cert-'));
    try {
      const first = await createDnsApp({ PAIRGATE_DATA_DIR: dataDir });
      await first.t.close();
      // The same data folder, now with a public URL the kept certificate does not name.
      const again = await createDnsApp({ PAIRGATE_DATA_DIR: dataDir, PAIRGATE_PUBLIC_URL: 'https://renamed.example.test' });
      try {
        expect(again.runtime.updateCertPem).toBe(first.runtime.updateCertPem);
        const warning = again.t.logs.find((line) => line.includes('does not name renamed.example.test'));
        expect(warning).toContain(`delete ${join(dataDir, 'dns-update-tls')} and restart`);
      } finally {
        await again.t.close();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
