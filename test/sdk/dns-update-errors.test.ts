import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { DnsUpdateClient } from '../../src/sdk/dns-update.js';
import { PairgateApiError } from '../../src/sdk/errors.js';
import { createSelfSigned } from '../../src/doors/registry/self-signed.js';
import { freePort } from '../helpers/ports.js';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

/** The error a request of the client ends with. */
async function failure(request: Promise<unknown>): Promise<PairgateApiError> {
  const error = await request.then(() => undefined, (caught: unknown) => caught);
  expect(error).toBeInstanceOf(PairgateApiError);
  return error as PairgateApiError;
}

describe('DnsUpdateClient errors without an answer', () => {
  it('an https:// URL at a plain HTTP port says the port does not speak TLS and what to use (it said "Cannot reach ... (EPROTO)")', async () => {
    // A real plain HTTP server, as pairgate's main listener is: it answers the ClientHello in HTTP.
    let asked = 0;
    const server = createServer((_request, response) => {
      asked += 1;
      response.end('{"status":"ok"}');
    });
    servers.push(server);
    server.on('clientError', (_error, socket) => { asked += 1; socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n'); });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    const baseUrl = `https://127.0.0.1:${port}`;
    const box = await createSelfSigned({ commonName: 'box' });
    const error = await failure(new DnsUpdateClient({ baseUrl, box, timeoutMs: 5000 }).list(`local.${'a'.repeat(52)}.box.example.test`));
    expect(asked).toBeGreaterThan(0); // the server did answer
    expect(error.status).toBe(0);
    expect(error.code).toBe('tls_not_spoken');
    expect(error.message).toBe(`${baseUrl} answered, but not over TLS: port ${port} does not speak TLS (likely the server's plain http:// port). Give --update-api the update API's own https:// address (PAIRGATE_DNS_UPDATE_PORT, 8443 by default; \`pairgate serve\` prints it as "dns update api listening on https://..."), and check the URL.`);
    expect(error.message).not.toMatch(/Cannot reach|EPROTO/);
  });

  it('a port nothing listens on is still "Cannot reach" (network_error)', async () => {
    const baseUrl = `https://127.0.0.1:${await freePort()}`;
    const box = await createSelfSigned({ commonName: 'box' });
    const error = await failure(new DnsUpdateClient({ baseUrl, box, timeoutMs: 5000 }).list(`local.${'a'.repeat(52)}.box.example.test`));
    expect(error.code).toBe('network_error');
    expect(error.message).toBe(`Cannot reach ${baseUrl} (ECONNREFUSED). Check the address, your connection, and that the server runs.`);
  });
});
