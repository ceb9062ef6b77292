import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent, request as httpsRequest } from 'node:https';
import { Resolver } from 'node:dns/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import acme from 'acme-client';
import { BadGatewayError, InvalidRequestError, isPairgateError, PairgateError } from '../../core/errors.js';

/** What the ACME flow needs to set and remove challenge TXT records (DnsUpdateClient in the SDK). */
export interface TxtUpdater {
  set(name: string, type: 'TXT', value: string, ttl?: number, options?: { signal?: AbortSignal }): Promise<unknown>;
  remove(name: string, filter: { type?: 'TXT'; value?: string }, options?: { signal?: AbortSignal }): Promise<unknown>;
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
  /** The zone the names are under, named in what to check when the CA cannot see a challenge. */
  zone?: string;
  /**
   * Called with a new account key once the CA has registered it, before the order: kept then, a
   * retry after a failed order uses the same account instead of registering another (CAs limit
   * new accounts per address: Let's Encrypt 10 per 3 hours).
   */
  onAccountKey?: (accountKeyPem: string) => void;
  /** Run once the directory answered, before the account and the order (e.g. the update API's own check). */
  beforeOrder?: () => Promise<void>;
  /**
   * Ends every wait at once (Ctrl-C): the order is given up with the error {@link abortedOrder}
   * makes, and the challenge records already set (or being set) are left to the caller, who
   * removes them within its own bound (the person is waiting). A pending authorization is still
   * given up, as on any failure; nothing more is logged.
   */
  signal?: AbortSignal;
}

/** The error of an order given up because its signal was aborted: code `aborted`. */
export function abortedOrder(): PairgateError {
  return new PairgateError('aborted', 499, 'The certificate order was stopped (its signal was aborted); no certificate was written.');
}

/**
 * `work`'s outcome, or {@link abortedOrder}'s error as soon as `signal` is aborted: acme-client
 * and the system resolver take no signal, so what they were doing goes on unheard until the
 * process ends.
 */
function unlessAborted<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return work;
  if (signal.aborted) {
    work.catch(() => undefined);
    return Promise.reject(abortedOrder());
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(abortedOrder());
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** A certificate obtained: key and full chain, PEM. */
export interface ObtainedCertificate {
  keyPem: string;
  chainPem: string;
  accountKeyPem: string;
}

/** Retries of an ACME request without an answer (or with a 5xx), and the first delay (then twice, three times...). */
const ACME_RETRIES = 3;
const ACME_RETRY_DELAY_S = 2;
/** How long one ACME request may take. */
const ACME_REQUEST_TIMEOUT_MS = 30_000;

/** TTL of challenge records: short, they live a minute. */
const CHALLENGE_TTL = 60;

/** Resolver codes of an answer that says the record is not there (yet), as opposed to no answer at all. */
const NOT_THERE_YET = new Set(['ENOTFOUND', 'ENODATA']);

/**
 * Waits until `resolver` answers `value` among the TXT values of `name`. When it gives up, it says
 * whether the DNS server answered at all: "did not become visible" alone, for a `--dns-server`
 * nothing listens on, sent people looking at the update API.
 */
export async function waitForTxt(resolver: Resolver | typeof import('node:dns/promises'), name: string, value: string, timeoutMs: number, signal?: AbortSignal): Promise<void> {
  // On the monotonic clock: on the wall clock, one stepped forward gave up at the next try (the
  // certificate not renewed), and one stepped back kept asking for the step's length.
  const deadline = performance.now() + timeoutMs;
  let unanswered: string | undefined;
  for (let delay = 100; ; delay = Math.min(delay * 2, 2000)) {
    try {
      const records = await unlessAborted(resolver.resolveTxt(name), signal);
      unanswered = undefined;
      if (records.some((chunks) => chunks.join('') === value)) return;
    } catch (error) {
      if (signal?.aborted) throw abortedOrder();
      // NXDOMAIN / NODATA until the record is there; anything else is a server that does not answer.
      const code = String((error as NodeJS.ErrnoException).code ?? (error as Error).message);
      unanswered = NOT_THERE_YET.has(code) ? undefined : code;
    }
    if (performance.now() + delay > deadline) {
      const why = unanswered
        ? `: the DNS server asked gave no answer about it (${unanswered}); check --dns-server, the address of the pairgate DNS server`
        : ': check that --update-api and --dns-server (or the system resolver, without it) are the same pairgate server, or give it longer with --timeout';
      // Nothing was asked of the CA yet: the order is given up, and no certificate written.
      throw new PairgateError('acme_txt_not_visible', 504, `the TXT record ${name} did not become visible within ${Math.round(timeoutMs / 1000)} s${why}.`);
    }
    await sleep(delay, undefined, signal ? { signal } : {}).catch(() => undefined);
    if (signal?.aborted) throw abortedOrder();
  }
}

/** Node's codes for a server certificate that does not chain to what the client trusts. */
const UNTRUSTED_CERTIFICATE = new Set(['DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_UNTRUSTED', 'CERT_SIGNATURE_FAILURE']);

/** How long the directory check waits for an answer. */
const DIRECTORY_TIMEOUT_MS = 15_000;

/** GET `url` (http or https, trusting `ca` when given): the status and body, or the connection error. */
function getText(url: URL, ca: string | undefined, signal?: AbortSignal): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const send = url.protocol === 'http:' ? httpRequest : httpsRequest;
    const req = send(url, { ...(ca ? { ca } : {}), ...(signal ? { signal } : {}), agent: false, timeout: DIRECTORY_TIMEOUT_MS, headers: { accept: 'application/json' } }, (res) => {
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
export async function checkAcmeDirectory(directoryUrl: string, ca?: string, signal?: AbortSignal): Promise<void> {
  let answer: { status: number; body: string };
  try {
    answer = await getText(new URL(directoryUrl), ca, signal);
  } catch (error) {
    if (signal?.aborted) throw abortedOrder();
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

/** The steps of an order, as a person is told which one failed. */
type AcmeStep = 'account' | 'order' | 'challenge' | 'finalize';

/** Per step: the machine code of a refusal, what was being done (for the message), and what to do. */
const STEP_WORDS: Record<AcmeStep, { code: string; doing: string; refused: string; advice: string }> = {
  account: { code: 'acme_account_refused', doing: 'registering the ACME account', refused: 'refused to register the ACME account', advice: 'Check --email and the CA\'s terms; a CA that needs external account binding is not supported.' },
  order: { code: 'acme_order_refused', doing: 'placing the order', refused: 'refused the order', advice: 'Check --zone and --labels: the CA must accept every name (a public CA refuses names under a zone that is not a real, delegated domain), and it may limit how many certificates a name gets per week.' },
  challenge: { code: 'acme_challenge_invalid', doing: 'validating the challenge', refused: 'could not validate the challenge', advice: '' },
  finalize: { code: 'acme_finalize_refused', doing: 'issuing the certificate', refused: 'refused to issue the certificate', advice: 'Run the command again; if it fails again, the reason the CA gave says what to change.' },
};

/** Codes of a request that got no answer (Node, axios). */
const NO_ANSWER = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ECONNABORTED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'ERR_SOCKET_CONNECTION_TIMEOUT']);

/**
 * acme-client's error for a step, in words: which step failed, the CA's own reason, and what to do.
 * acme-client throws bare Errors carrying the CA's detail ("Error retrieving TXT records for DNS
 * challenge ...") or axios's ("connect ECONNREFUSED ..."), which named neither the step nor a fix.
 * Errors already told in words (the update API's, a record that never showed) pass as they are.
 * All are 502 (exit 1): the CA, not the command line, said no.
 */
function acmeStepError(step: AcmeStep, error: unknown, directoryUrl: string, watch: NoAnswerWatch, detail = '', advice = STEP_WORDS[step].advice): unknown {
  if (isPairgateError(error) || toldInWords(error)) return error;
  const words = STEP_WORDS[step];
  // After its last retry of a request without an answer, acme-client throws a TypeError ("reading
  // 'config'") that has lost the reason: the watch on the connections kept it.
  const lost = error instanceof TypeError && /reading 'config'/.test(error.message);
  const code = lost ? watch.lastFailure : (error as { code?: unknown }).code;
  const answered = (error as { response?: unknown }).response !== undefined;
  if (lost || (!answered && typeof code === 'string' && NO_ANSWER.has(code))) {
    return new BadGatewayError(`The ACME server ${directoryUrl} stopped answering while ${words.doing}${detail} (${String(code ?? 'no answer')}). Check that it runs and that this machine reaches it, then run the command again; no certificate was written.`, 'acme_unreachable');
  }
  const reason = (error instanceof Error ? error.message : String(error)).replace(/\.$/, '') || 'no reason given';
  return new BadGatewayError(`The ACME server ${words.refused}${detail}: ${reason}. ${advice}`.trim(), words.code);
}

/** An error of the update API's client (the SDK's PairgateApiError), which says what went wrong itself. */
function toldInWords(error: unknown): error is Error & { code: string } {
  return error instanceof Error && error.name === 'PairgateApiError';
}

/** Runs one step, turning its failure into acmeStepError's. */
async function step<T>(name: AcmeStep, directoryUrl: string, watch: NoAnswerWatch, run: () => Promise<T>, detail = '', advice?: string): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw acmeStepError(name, error, directoryUrl, watch, detail, advice);
  }
}

/** The last connection failure (ECONNREFUSED, ENOTFOUND...) of a request to the ACME server. */
interface NoAnswerWatch {
  lastFailure: string | undefined;
}

/**
 * Gives acme-client's axios agents that note why a connection failed (trusting `ca` for HTTPS
 * when given). acme-client has one shared axios instance and no per-client TLS option, so this is
 * process-wide: the CLI runs one certificate order per process.
 */
function watchNoAnswer(ca: string | undefined): NoAnswerWatch {
  const watch: NoAnswerWatch = { lastFailure: undefined };
  const note = <T extends { once(event: 'error', listener: (error: NodeJS.ErrnoException) => void): unknown }>(socket: T): T => {
    socket.once('error', (error) => (watch.lastFailure = error.code ?? error.message));
    return socket;
  };
  class WatchedHttpAgent extends HttpAgent {
    override createConnection(...args: Parameters<HttpAgent['createConnection']>): ReturnType<HttpAgent['createConnection']> {
      return note(super.createConnection(...args)!);
    }
  }
  class WatchedHttpsAgent extends Agent {
    override createConnection(...args: Parameters<Agent['createConnection']>): ReturnType<Agent['createConnection']> {
      return note(super.createConnection(...args)!);
    }
  }
  acme.axios.defaults.httpAgent = new WatchedHttpAgent();
  acme.axios.defaults.httpsAgent = new WatchedHttpsAgent(ca ? { ca } : {});
  return watch;
}

/**
 * What to do when the CA could not validate `record`: the record was there (waitForTxt saw it on
 * `dnsServer`, pairgate's own server as a rule), so the CA, which asks public DNS from its own
 * network, did not reach it there.
 */
function challengeAdvice(record: string, zone: string | undefined, dnsServer: string | undefined): string {
  const where = zone ?? 'the zone';
  const checked = dnsServer ? `The DNS server at ${dnsServer} answered it` : 'The system resolver answered it';
  return `${checked} before the CA was asked, so the CA, which looks the record up through public DNS, did not reach that server. Check that ${where} is delegated to the pairgate DNS server (NS records for ${where} in its parent zone naming that server, and its address as glue when its name is inside the zone), that the server is reachable from the Internet on port 53, UDP and TCP, and that \`dig +trace TXT ${record}\` finds the record; then run the command again.`;
}

/**
 * Gets a certificate for `names` by ACME DNS-01 (acme-client's steps, each named when it fails):
 * registers or finds the account, places the order, and for each name sets
 * `_acme-challenge.<name>` TXT through the update API, waits until the DNS server answers it, lets
 * the CA validate, then removes the TXT (also on failure); finally has the order issued and
 * returns the key and the chain.
 */
export async function obtainCertificate(options: AcmeDns01Options): Promise<ObtainedCertificate> {
  const { signal } = options;
  // Once stopped, not a word more: the caller says in one line what became of the order.
  const log = (line: string): void => {
    if (!signal?.aborted) options.log?.(line);
  };
  const directoryUrl = options.directoryUrl;
  await checkAcmeDirectory(directoryUrl, options.acmeCa, signal);
  await unlessAborted(options.beforeOrder?.() ?? Promise.resolve(), signal);
  const watch = watchNoAnswer(options.acmeCa);
  // acme-client retries a request that got no answer (or a 5xx) 5 times, 5 to 25 s apart, and has
  // no timeout: a CA gone mid-order kept the command silent for over a minute, or for ever. Fewer,
  // shorter retries (a Retry-After the CA sends still wins) and a deadline per request.
  const defaults = acme.axios.defaults as typeof acme.axios.defaults & { acmeSettings?: Record<string, unknown> };
  defaults.acmeSettings = { ...defaults.acmeSettings, retryMaxAttempts: ACME_RETRIES, retryDefaultDelay: ACME_RETRY_DELAY_S };
  acme.axios.defaults.timeout = ACME_REQUEST_TIMEOUT_MS;
  const accountKey = options.accountKeyPem ?? (await acme.crypto.createPrivateEcdsaKey('P-256')).toString();
  const certKey = await acme.crypto.createPrivateEcdsaKey('P-256');
  // No common name: a CN is limited to 64 characters and `local.<52-char fp>.<zone>` is longer; the
  // names go in subjectAltName, which is what clients check.
  const [, csr] = await acme.crypto.createCsr({ altNames: options.names }, certKey);
  let resolver: Resolver | typeof import('node:dns/promises');
  if (options.dnsServer) {
    const own = new Resolver({ timeout: 2000, tries: 1 });
    own.setServers([options.dnsServer]);
    signal?.addEventListener('abort', () => own.cancel(), { once: true });
    resolver = own;
  } else {
    resolver = await import('node:dns/promises');
  }
  const client = new acme.Client({ directoryUrl, accountKey, backoffAttempts: 20, backoffMin: 200, backoffMax: 3000 });
  await step('account', directoryUrl, watch, () => unlessAborted(account(client, options, log), signal));
  if (!options.accountKeyPem) options.onAccountKey?.(accountKey);
  log(`ordering a certificate for ${options.names.join(', ')}`);
  const order = await step('order', directoryUrl, watch, () => unlessAborted(client.createOrder({ identifiers: options.names.map((value) => ({ type: 'dns', value })) }), signal));
  const authorizations = await step('order', directoryUrl, watch, () => unlessAborted(client.getAuthorizations(order), signal));
  const challenges = authorizations.map((authz) => satisfy(client, authz, options, resolver, watch, log));
  const settled = await Promise.allSettled(challenges);
  if (signal?.aborted) throw abortedOrder();
  const failed = settled.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failed) throw failed.reason;
  log('every name validated: asking the CA to issue the certificate');
  const finalized = await step('finalize', directoryUrl, watch, () => unlessAborted(client.finalizeOrder(order, csr), signal));
  const chainPem = await step('finalize', directoryUrl, watch, () => unlessAborted(client.getCertificate(finalized), signal));
  return { keyPem: certKey.toString(), chainPem, accountKeyPem: accountKey };
}

/**
 * Finds the account of a kept key, or registers one. Registering a kept key again would answer
 * "exists" and make acme-client send an account update that strict servers refuse (RFC 8555 wants
 * a POST-as-GET); on a server where the key has no account yet, registration makes one.
 */
async function account(client: acme.Client, options: AcmeDns01Options, log: (line: string) => void): Promise<void> {
  if (!options.accountKeyPem) {
    log(`registering an ACME account with ${options.directoryUrl}`);
  } else {
    try {
      await client.createAccount({ onlyReturnExisting: true });
      log('using the existing ACME account');
      return;
    } catch (error) {
      // A CA that does not answer is no answer about the account: said as such by the caller.
      if (error instanceof TypeError || NO_ANSWER.has(String((error as { code?: unknown }).code))) throw error;
      log('no ACME account for this key on this server yet: registering');
    }
  }
  await client.createAccount({ termsOfServiceAgreed: true, ...(options.email ? { contact: [`mailto:${options.email}`] } : {}) });
}

/**
 * Satisfies one authorization by DNS-01: sets the TXT, waits until it is visible, has the CA
 * validate it, and removes the TXT whatever happened (a failure to remove is only logged: the
 * server deletes challenge records an hour after they were written).
 */
async function satisfy(client: acme.Client, authz: acme.Authorization, options: AcmeDns01Options, resolver: Resolver | typeof import('node:dns/promises'), watch: NoAnswerWatch, log: (line: string) => void): Promise<void> {
  if (authz.status === 'valid') return;
  const name = `_acme-challenge.${authz.identifier.value}`;
  const challenge = authz.challenges.find((c) => c.type === 'dns-01');
  if (!challenge) {
    throw new BadGatewayError(`The ACME server offers no DNS-01 challenge for ${authz.identifier.value} (only ${authz.challenges.map((c) => c.type).join(', ') || 'none'}); pairgate box cert proves names by DNS-01 only: use a CA that offers it.`, 'acme_no_dns_challenge');
  }
  const keyAuthorization = await client.getChallengeKeyAuthorization(challenge);
  const { signal } = options;
  let completed = false;
  try {
    log(`setting TXT ${name}`);
    try {
      await options.updates.set(name, 'TXT', keyAuthorization, CHALLENGE_TTL, signal ? { signal } : {});
    } catch (error) {
      if (signal?.aborted) throw abortedOrder();
      // Its code and status stay the update API's; the message says which step it was.
      if (toldInWords(error)) error.message = `Setting the challenge record ${name} through the update API failed: ${error.message}`;
      throw error;
    }
    const timeoutMs = options.propagationTimeoutMs ?? 60_000;
    // Each wait is said before it starts: against a real CA these take seconds to minutes, and a
    // silent command looks hung.
    log(`waiting for TXT ${name} to show on ${options.dnsServer ?? 'the system resolver'} (up to ${Math.round(timeoutMs / 1000)} s)`);
    await waitForTxt(resolver, name, keyAuthorization, timeoutMs, signal);
    log(`TXT ${name} is visible; asking the CA to validate it`);
    await step('challenge', options.directoryUrl, watch, () => unlessAborted((async () => {
      await client.completeChallenge(challenge);
      completed = true;
      await client.waitForValidStatus(challenge);
    })(), signal), ` ${name}`, challengeAdvice(name, options.zone, options.dnsServer));
    log(`the CA validated ${authz.identifier.value}`);
  } finally {
    // Stopped: the record is the caller's to remove (see `signal`), within its own bound.
    if (!signal?.aborted) {
      try {
        await options.updates.remove(name, { type: 'TXT', value: keyAuthorization });
        log(`removed TXT ${name}`);
      } catch (error) {
        log(`could not remove TXT ${name} (${error instanceof Error ? error.message : String(error)}); the server deletes it within an hour`);
      }
    }
    // An authorization left pending would be reused, half done, by the next order: give it up.
    if (!completed) await client.deactivateAuthorization(authz).catch(() => undefined);
  }
}
