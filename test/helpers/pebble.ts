import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { createSelfSigned } from '../../src/doors/registry/self-signed.js';
import { freePort } from './ports.js';

/** A running pebble (Debian's ACME test server). */
export interface RunningPebble {
  /** The ACME directory URL. */
  directory: string;
  /** The management API's base URL (`/roots/0` gives the root the certificates chain to). */
  management: string;
  /** The self-signed certificate of pebble's own API, PEM, and the file holding it (`--acme-ca`). */
  caPem: string;
  caFile: string;
  /** Stops it. */
  stop(): void;
}

/** GET `url` over HTTPS trusting `ca` (and naming `servername` when given): the status and body. */
export function httpsGet(url: string, ca: string | undefined, servername?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ...(ca ? { ca } : {}), ...(servername ? { servername } : {}), agent: false, timeout: 5000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end();
  });
}

/**
 * Starts pebble with its files in `dir`, checking DNS-01 challenges against the DNS server on
 * 127.0.0.1:`dnsPort` (pairgate's own), without pebble's artificial sleeps or random nonce
 * rejections; resolves once its directory answers (15 s at most).
 */
export async function startPebble(dir: string, dnsPort: number): Promise<RunningPebble> {
  // Pebble needs a TLS certificate for its own API: a self-signed one, which clients trust.
  const tls = await createSelfSigned({ commonName: 'pebble test', altNames: ['localhost', '127.0.0.1'] });
  const caFile = join(dir, 'pebble.crt');
  writeFileSync(join(dir, 'pebble.key'), tls.keyPem);
  writeFileSync(caFile, tls.certPem);
  const [apiPort, managementPort] = [await freePort(), await freePort()];
  writeFileSync(join(dir, 'pebble.json'), JSON.stringify({
    pebble: {
      listenAddress: `127.0.0.1:${apiPort}`,
      managementListenAddress: `127.0.0.1:${managementPort}`,
      certificate: caFile,
      privateKey: join(dir, 'pebble.key'),
      httpPort: 5002,
      tlsPort: 5001,
      ocspResponderURL: '',
      externalAccountBindingRequired: false,
    },
  }));
  const directory = `https://127.0.0.1:${apiPort}/dir`;
  const child: ChildProcess = spawn('pebble', ['-config', join(dir, 'pebble.json'), '-dnsserver', `127.0.0.1:${dnsPort}`], {
    stdio: ['ignore', 'ignore', 'ignore'],
    // No artificial sleeps; no random nonce rejections (a real CA does not do them).
    env: { ...process.env, PEBBLE_VA_NOSLEEP: '1', PEBBLE_WFE_NONCEREJECT: '0', PEBBLE_VA_ALWAYS_VALID: '0' },
  });
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      if ((await httpsGet(directory, tls.certPem)).status === 200) break;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      child.kill('SIGTERM');
      throw new Error('pebble did not start');
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { directory, management: `https://127.0.0.1:${managementPort}`, caPem: tls.certPem, caFile, stop: () => child.kill('SIGTERM') };
}
