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
 * rejections; resolves once its directory answers (15 s at most). `pickPort` gives its ports (tests of
 * this helper pass a port already taken).
 */
export async function startPebble(dir: string, dnsPort: number, pickPort: () => Promise<number> = freePort): Promise<RunningPebble> {
  // Pebble needs a TLS certificate for its own API: a self-signed one, which clients trust.
  const tls = await createSelfSigned({ commonName: 'pebble test', altNames: ['localhost', '127.0.0.1'] });
  const caFile = join(dir, 'pebble.crt');
  writeFileSync(join(dir, 'pebble.key'), tls.keyPem);
  writeFileSync(caFile, tls.certPem);
  // Pebble takes its ports in its config, never 0: they are reserved beforehand (freePort), and in
  // case something outside the test run took one since, it starts again on fresh ones.
  for (let attempt = 1; ; attempt++) {
    const [apiPort, managementPort] = [await pickPort(), await pickPort()];
    const started = await startPebbleOn(dir, dnsPort, apiPort, managementPort, tls.certPem);
    if (started.child) {
      const child = started.child;
      return { directory: `https://127.0.0.1:${apiPort}/dir`, management: `https://127.0.0.1:${managementPort}`, caPem: tls.certPem, caFile, stop: () => child.kill('SIGTERM') };
    }
    if (!/address already in use/.test(started.stderr) || attempt === 3) throw new Error(`pebble did not start: ${started.stderr.slice(-2000)}`);
  }
}

/** One start of pebble on the given ports: the child once its directory answers, or what it wrote to stderr. */
async function startPebbleOn(dir: string, dnsPort: number, apiPort: number, managementPort: number, caPem: string): Promise<{ child?: ChildProcess; stderr: string }> {
  writeFileSync(join(dir, 'pebble.json'), JSON.stringify({
    pebble: {
      listenAddress: `127.0.0.1:${apiPort}`,
      managementListenAddress: `127.0.0.1:${managementPort}`,
      certificate: join(dir, 'pebble.crt'),
      privateKey: join(dir, 'pebble.key'),
      httpPort: 5002,
      tlsPort: 5001,
      ocspResponderURL: '',
      externalAccountBindingRequired: false,
    },
  }));
  const directory = `https://127.0.0.1:${apiPort}/dir`;
  const child: ChildProcess = spawn('pebble', ['-config', join(dir, 'pebble.json'), '-dnsserver', `127.0.0.1:${dnsPort}`], {
    stdio: ['ignore', 'ignore', 'pipe'],
    // No artificial sleeps; no random nonce rejections (a real CA does not do them).
    env: { ...process.env, PEBBLE_VA_NOSLEEP: '1', PEBBLE_WFE_NONCEREJECT: '0', PEBBLE_VA_ALWAYS_VALID: '0' },
  });
  // Kept short: pebble logs every request to stderr, and only a failed start's last lines matter.
  let stderr = '';
  child.stderr!.on('data', (data) => (stderr = (stderr + String(data)).slice(-8000)));
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      if ((await httpsGet(directory, caPem)).status === 200) return { child, stderr };
    } catch {
      // Not listening yet.
    }
    // Exited (a port taken): no use waiting for the deadline.
    if (child.exitCode !== null || child.signalCode !== null) return { stderr };
    if (Date.now() > deadline) {
      child.kill('SIGTERM');
      return { stderr: `${stderr}\n(no answer within 15 s)` };
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
