import { createServer as createHttpsServer, type Server } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Resolver } from 'node:dns/promises';
import { checkAcmeDirectory, waitForTxt } from '../../../src/doors/dns/acme-dns01.js';
import { createSelfSigned } from '../../../src/doors/registry/self-signed.js';
import { freePort as closedPort } from '../../helpers/ports.js';

describe('checkAcmeDirectory: what is wrong with --acme-directory, said before the order (acme-client said "reading \'config\'")', () => {
  let server: Server;
  let base: string;
  let certPem: string;

  beforeAll(async () => {
    const tls = await createSelfSigned({ commonName: 'acme test', altNames: ['127.0.0.1'] });
    certPem = tls.certPem;
    server = createHttpsServer({ key: tls.keyPem, cert: tls.certPem }, (request, response) => {
      response.setHeader('content-type', 'application/json');
      if (request.url === '/dir') response.end(JSON.stringify({ newNonce: `${base}/nonce`, newAccount: `${base}/account`, newOrder: `${base}/order` }));
      else response.writeHead(404).end('{"detail":"not found"}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `https://127.0.0.1:${(server.address() as { port: number }).port}`;
  });

  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('accepts a directory', async () => {
    await expect(checkAcmeDirectory(`${base}/dir`, certPem)).resolves.toBeUndefined();
  });

  it('a server that does not answer: acme_unreachable (502, exit 1), naming the URL and the option', async () => {
    const url = `https://127.0.0.1:${await closedPort()}/dir`;
    await expect(checkAcmeDirectory(url)).rejects.toMatchObject({
      code: 'acme_unreachable',
      status: 502,
      message: `Cannot reach the ACME server at ${url} (ECONNREFUSED). Check --acme-directory and that the server runs.`,
    });
  });

  it('a certificate not trusted: acme_tls_untrusted (400, exit 2), pointing at --acme-ca', async () => {
    await expect(checkAcmeDirectory(`${base}/dir`)).rejects.toMatchObject({ code: 'acme_tls_untrusted', status: 400, message: expect.stringContaining('--acme-ca FILE') });
  });

  it('a URL that is not the directory: acme_not_a_directory (400), with the status and an example', async () => {
    await expect(checkAcmeDirectory(`${base}/directory`, certPem)).rejects.toMatchObject({
      code: 'acme_not_a_directory',
      status: 400,
      message: expect.stringMatching(/answered 404 without an ACME directory .*--acme-directory, e\.g\. https:\/\/acme-v02/),
    });
  });
});

describe('waitForTxt gives up saying whether the DNS server answered at all', () => {
  it('a --dns-server nothing listens on is named as the thing to check', async () => {
    const resolver = new Resolver({ timeout: 200, tries: 1 });
    resolver.setServers([`127.0.0.1:${await closedPort()}`]);
    await expect(waitForTxt(resolver, '_acme-challenge.local.box.example.test', 'x', 300)).rejects.toThrow(
      /^the TXT record _acme-challenge\.local\.box\.example\.test did not become visible within 0 s: the DNS server asked gave no answer about it \((ECONNREFUSED|ETIMEOUT)\); check --dns-server/,
    );
    // A stable code (exit 1 in the CLI), not a bare Error.
    await expect(waitForTxt(resolver, '_acme-challenge.local.box.example.test', 'x', 300)).rejects.toMatchObject({ code: 'acme_txt_not_visible', status: 504 });
  });
});
