import { request as httpRequest } from 'node:http';
import { Agent, request as httpsRequest } from 'node:https';
import { Resolver } from 'node:dns/promises';
import acme from 'acme-client';
import { BadGatewayError, InvalidRequestError } from '../../core/errors.js';

/** What the ACME flow needs to set and remove challenge TXT records (DnsUpdateClient in the SDK). */
export interface TxtUpdater {
  set(name: string, type: 'TXT', value: string, ttl?: number): Promise<unknown>;
  remove(name: string, filter: { type?: 'TXT'; value?: string }): Promise<unknown>;
}

/** Options of obtainCertificate. */
export interface AcmeDns01Options {
  /** ACME directory, e.g. https://acme-v02.api.letsencrypt.org/directory. */
  directoryUrl: string;
  /** Names of the certificate (the first is the main one). */
  names: string[];
  /** Sets and removes `_acme-challenge` TXT records (through the update API). */
  updates: TxtUpdater;
  /** The DNS server asked whether a TXT is visible (host:port, e.g. pairgate's); default: the system resolver. */
  dnsServer?: string;
  /** The ACME account key (PEM); a new one is made when absent (returned so it can be kept). */
  accountKeyPem?: string;
  email?: string;
  /** PEM certificate(s) trusted for the ACME server's own TLS (a test CA such as pebble's). */
  acmeCa?: string;
  /** How long to wait for a TXT to become visible. Default 60 s. */
  propagationTimeoutMs?: number;
  /** Progress lines for a person. */
  log?: (line: string) => void;
}

/** A certificate obtained: key and full chain, PEM. */
export interface ObtainedCertificate {
  keyPem: string;
  chainPem: string;
  accountKeyPem: string;
}

/** TTL of challenge records: short, they live a minute. */
const CHALLENGE_TTL = 60;

/** Resolver codes of an answer that says the record is not there (yet), as opposed to no answer at all. */
const NOT_THERE_YET = new Set(['ENOTFOUND', 'ENODATA']);

/**
 * Waits until `resolver` answers `value` among the TXT values of `name`. When it gives up, it says
 * whether the DNS server answered at all: "did not become visible" alone, for a `--dns-server`
 * nothing listens on, sent people looking at the update API.
 */
export async function waitForTxt(resolver: Resolver | typeof import('node:dns/promises'), name: string, value: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let unanswered: string | undefined;
  for (let delay = 100; ; delay = Math.min(delay * 2, 2000)) {
    try {
      const records = await resolver.resolveTxt(name);
      unanswered = undefined;
      if (records.some((chunks) => chunks.join('') === value)) return;
    } catch (error) {
      // NXDOMAIN / NODATA until the record is there; anything else is a server that does not answer.
      const code = String((error as NodeJS.ErrnoException).code ?? (error as Error).message);
      unanswered = NOT_THERE_YET.has(code) ? undefined : code;
    }
    if (Date.now() + delay > deadline) {
      const why = unanswered ? `: the DNS server asked gave no answer about it (${unanswered}); check --dns-server, the address of the pairgate DNS server` : '';
      throw new Error(`the TXT record ${name} did not become visible within ${Math.round(timeoutMs / 1000)} s${why}`);
    }
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}

/** Node's codes for a server certificate that does not chain to what the client trusts. */
const UNTRUSTED_CERTIFICATE = new Set(['DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_UNTRUSTED', 'CERT_SIGNATURE_FAILURE']);

/** How long the directory check waits for an answer. */
const DIRECTORY_TIMEOUT_MS = 15_000;

/** GET `url` (http or https, trusting `ca` when given): the status and body, or the connection error. */
function getText(url: URL, ca: string | undefined): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const send = url.protocol === 'http:' ? httpRequest : httpsRequest;
    const req = send(url, { ...(ca ? { ca } : {}), agent: false, timeout: DIRECTORY_TIMEOUT_MS, headers: { accept: 'application/json' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
    req.on('error', reject);
    req.end();
  });
}

/**
 * Checks that `directoryUrl` answers an ACME directory before the order starts, and says what is
 * wrong in words when it does not. acme-client answers a server it cannot reach (refused, unknown
 * host, untrusted certificate) with "Cannot read properties of undefined (reading 'config')" after
 * its retries, and the account step before it reported "no ACME account for this key", so a typo in
 * `--acme-directory` or a missing `--acme-ca` read like a crash. Codes: `acme_unreachable` (502),
 * `acme_tls_untrusted` and `acme_not_a_directory` (400: the options are to change).
 */
export async function checkAcmeDirectory(directoryUrl: string, ca?: string): Promise<void> {
  let answer: { status: number; body: string };
  try {
    answer = await getText(new URL(directoryUrl), ca);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    if (UNTRUSTED_CERTIFICATE.has(code)) {
      throw new InvalidRequestError(`The ACME server ${directoryUrl} presented a TLS certificate this machine does not trust (${code}). A test CA such as pebble needs its certificate given with --acme-ca FILE.`, undefined, 'acme_tls_untrusted');
    }
    if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
      throw new InvalidRequestError(`The ACME server's certificate does not name the host of ${directoryUrl}: ${(error as Error).message}`, undefined, 'acme_tls_untrusted');
    }
    throw new BadGatewayError(`Cannot reach the ACME server at ${directoryUrl} (${code}). Check --acme-directory and that the server runs.`, 'acme_unreachable');
  }
  let directory: Record<string, unknown> | undefined;
  try {
    directory = JSON.parse(answer.body) as Record<string, unknown>;
  } catch {
    directory = undefined;
  }
  if (answer.status !== 200 || typeof directory?.newOrder !== 'string' || typeof directory.newNonce !== 'string') {
    throw new InvalidRequestError(`${directoryUrl} answered ${answer.status} without an ACME directory (newNonce, newOrder). Give the directory URL itself with --acme-directory, e.g. https://acme-v02.api.letsencrypt.org/directory (pebble: https://<host>:14000/dir).`, undefined, 'acme_not_a_directory');
  }
}

/**
 * Gets a certificate for `names` by ACME DNS-01 (acme-client): for each challenge it sets
 * `_acme-challenge.<name>` TXT through the update API, waits until the DNS server answers it, lets
 * the CA validate, then removes the TXT (also on failure) and returns the key and the chain.
 */
export async function obtainCertificate(options: AcmeDns01Options): Promise<ObtainedCertificate> {
  const log = options.log ?? (() => undefined);
  await checkAcmeDirectory(options.directoryUrl, options.acmeCa);
  // acme-client has one shared axios instance and no per-client TLS option: trusting a test CA is
  // process-wide (the CLI runs one certificate order per process).
  if (options.acmeCa) acme.axios.defaults.httpsAgent = new Agent({ ca: options.acmeCa });
  const accountKey = options.accountKeyPem ?? (await acme.crypto.createPrivateEcdsaKey('P-256')).toString();
  const certKey = await acme.crypto.createPrivateEcdsaKey('P-256');
  // No common name: a CN is limited to 64 characters and `local.<52-char fp>.<zone>` is longer; the
  // names go in subjectAltName, which is what clients check.
  const [, csr] = await acme.crypto.createCsr({ altNames: options.names }, certKey);
  let resolver: Resolver | typeof import('node:dns/promises');
  if (options.dnsServer) {
    const own = new Resolver({ timeout: 2000, tries: 1 });
    own.setServers([options.dnsServer]);
    resolver = own;
  } else {
    resolver = await import('node:dns/promises');
  }
  const client = new acme.Client({ directoryUrl: options.directoryUrl, accountKey, backoffAttempts: 20, backoffMin: 200, backoffMax: 3000 });
  if (options.accountKeyPem) {
    // A renewal: find the account this key already has. Registering again would answer "exists"
    // and make acme-client send an account update that strict servers refuse (RFC 8555 wants a
    // POST-as-GET). On a server where the key has no account yet, registration below makes one.
    try {
      await client.createAccount({ onlyReturnExisting: true });
      log('using the existing ACME account');
    } catch {
      log('no ACME account for this key on this server yet: registering');
    }
  }
  const chainPem = await client.auto({
    csr,
    ...(options.email ? { email: options.email } : {}),
    termsOfServiceAgreed: true,
    challengePriority: ['dns-01'],
    // acme-client's own check asks the system resolver; we wait on the authoritative server instead.
    skipChallengeVerification: true,
    challengeCreateFn: async (authz, challenge, keyAuthorization) => {
      if (challenge.type !== 'dns-01') throw new Error(`unexpected challenge type ${challenge.type}`);
      const name = `_acme-challenge.${authz.identifier.value}`;
      log(`setting TXT ${name}`);
      await options.updates.set(name, 'TXT', keyAuthorization, CHALLENGE_TTL);
      await waitForTxt(resolver, name, keyAuthorization, options.propagationTimeoutMs ?? 60_000);
      log(`TXT ${name} is visible`);
    },
    challengeRemoveFn: async (authz, _challenge, keyAuthorization) => {
      const name = `_acme-challenge.${authz.identifier.value}`;
      await options.updates.remove(name, { type: 'TXT', value: keyAuthorization });
      log(`removed TXT ${name}`);
    },
  });
  return { keyPem: certKey.toString(), chainPem, accountKeyPem: accountKey };
}
