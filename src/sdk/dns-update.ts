import { request, type RequestOptions } from 'node:https';
import type { IncomingMessage } from 'node:http';
import { abortedCall, answerTooLarge, cutOff, MAX_ANSWER_BYTES, MAX_LIST_ANSWER_BYTES, networkFailureOf, NOT_PAIRGATE_CODE, PairgateApiError, retryAfterOf, UNREACHABLE_ADVICE } from './errors.js';
import type { CallOptions } from './http-call.js';
import type { BoxKeys } from './registry.js';

/** A record as the update API shows it. */
export interface DnsRecordView {
  /** The record's full name, without the final dot. */
  name: string;
  /** The record's type. */
  type: 'A' | 'AAAA' | 'CNAME' | 'TXT';
  /** Its value: an address, a full name (CNAME) or a text (TXT). */
  value: string;
  /** Its time to live in seconds. */
  ttl: number;
}

/** Options of the DNS update client. */
export interface DnsUpdateClientOptions {
  /** Base URL of the update API, e.g. `https://dns.example.com:8443`. */
  baseUrl: string;
  /** The box key and certificate, presented as the TLS client certificate. */
  box: BoxKeys;
  /** PEM certificate(s) to trust for the server (default: the system roots). */
  ca?: string;
  /**
   * Timeout of each call in milliseconds, from sending to the answer's last byte (a server
   * trickling its answer does not hold the call longer). Default 15 s.
   */
  timeoutMs?: number;
}

/** The reversed-labels path of a name: `local.<fp>.box.example.test` -> `test/example/box/<fp>/local`. */
export function dnsPath(name: string): string {
  return name.toLowerCase().replace(/\.$/, '').split('.').reverse().map(encodeURIComponent).join('/');
}

/** Node's codes for a server certificate that does not chain to what the client trusts. */
const UNTRUSTED_CERTIFICATE = new Set(['DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_UNTRUSTED', 'CERT_SIGNATURE_FAILURE']);

/**
 * OpenSSL's words when the first bytes back are not a TLS record (a plain HTTP server answers the
 * ClientHello with "HTTP/1.1 400"): "wrong version number" (OpenSSL 1.1 and 3), "packet length too
 * long" and "record layer failure" (other versions). Node reports them all as EPROTO.
 */
const PLAIN_ANSWER = /wrong version number|packet length too long|record layer failure/i;

/** The port of a URL, written or implied by its scheme ('' when the URL cannot be read). */
function portOf(url: string): string {
  try {
    const parsed = new URL(url);
    return parsed.port || (parsed.protocol === 'https:' ? '443' : parsed.protocol === 'http:' ? '80' : '');
  } catch {
    return '';
  }
}

/**
 * The error for a request that got no answer. A TLS refusal is told apart from a server that does
 * not answer, with what to do about it: the update API usually has a self-signed certificate, so
 * the first try without `--update-ca` fails this way, and "Cannot reach" sent people looking at
 * the network. Codes: `tls_untrusted`, `tls_name_mismatch`, `tls_not_spoken` (something answered, not in TLS),
 * else `network_error` (status 0 for all).
 */
function connectionError(baseUrl: string, error: Error): PairgateApiError {
  const code = (error as NodeJS.ErrnoException).code ?? error.message;
  if (UNTRUSTED_CERTIFICATE.has(code)) {
    return new PairgateApiError(0, 'tls_untrusted', `${baseUrl} presented a TLS certificate this client does not trust (${code}). Trust the update API's certificate (--update-ca FILE; a pairgate server without PAIRGATE_DNS_UPDATE_TLS_CERT keeps its self-signed one in <data dir>/dns-update-tls/cert.pem).`);
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return new PairgateApiError(0, 'tls_name_mismatch', `${baseUrl}: ${error.message} Use a name the certificate holds in --update-api, or give the server a certificate for this name.`);
  }
  if (code === 'EPROTO' && PLAIN_ANSWER.test(error.message)) {
    // Something answered, only not in TLS: most often the server's plain http:// port given as
    // https://. "Cannot reach" sent people checking a network that works.
    const port = portOf(baseUrl);
    return new PairgateApiError(0, 'tls_not_spoken', `${baseUrl} answered, but not over TLS: ${port ? `port ${port}` : 'this port'} does not speak TLS (likely the server's plain http:// port). Give --update-api the update API's own https:// address (PAIRGATE_DNS_UPDATE_PORT, 8443 by default; \`pairgate serve\` prints it as "dns update api listening on https://..."), and check the URL.`);
  }
  // With what to check, in the words every client of a pairgate server uses.
  return new PairgateApiError(0, 'network_error', `Cannot reach ${baseUrl} (${code}). ${UNREACHABLE_ADVICE}`, undefined, undefined, networkFailureOf(error));
}

/** The error a call ended by its timeout is destroyed with: named so `networkFailureReason` says "timed out". */
function timedOut(): Error {
  const error = new Error('timed out');
  error.name = 'TimeoutError';
  return error;
}

/**
 * Reads an answer of the update API whole into its result: a 2xx's JSON, or the refusal
 * (`reason`, else `error`, as the code; Retry-After kept); a 2xx whose whole body is not JSON is
 * `not_pairgate`.
 */
function answerOf<T>(baseUrl: string, method: string, path: string, res: IncomingMessage, text: string): T {
  let json: Record<string, unknown> | undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed !== null && typeof parsed === 'object') json = parsed as Record<string, unknown>;
  } catch {
    // not JSON: said below by the status
  }
  const status = res.statusCode ?? 0;
  if (status >= 200 && status < 300) {
    if (json) return json as T;
    const type = res.headers['content-type']?.split(';')[0] ?? 'no content type';
    throw new PairgateApiError(status, NOT_PAIRGATE_CODE, `${baseUrl} answered ${method} ${path.split('?')[0]} with ${type}, not the update API's JSON: check that --update-api is the update API's address.`);
  }
  const body = json ?? {};
  throw new PairgateApiError(status, String(body.reason ?? body.error ?? `http_${status}`), String(body.message ?? text), body, retryAfterOf(res.headers['retry-after']));
}

/**
 * Client of the DNS update API: HTTPS with the box certificate as client certificate, which is what
 * proves the box owns `<fingerprint>.<zone>`. Every call takes a `signal` (code `aborted`, the
 * connection closed at once); errors are PairgateApiError (status 0 and `network_error` when no
 * whole answer came within the timeout, the connection cut or stalled halfway included;
 * `answer_too_large` for an answer beyond {@link MAX_ANSWER_BYTES}, {@link MAX_LIST_ANSWER_BYTES}
 * for `list`, the connection closed).
 */
export class DnsUpdateClient {
  /** The update API's base URL, without a trailing slash. */
  readonly baseUrl: string;
  constructor(private readonly options: DnsUpdateClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
  }

  private send<T>(method: string, path: string, body?: unknown, signal?: AbortSignal, maxAnswerBytes = MAX_ANSWER_BYTES): Promise<T> {
    if (signal?.aborted) return Promise.reject(abortedCall(signal));
    const url = new URL(`${this.baseUrl}${path}`);
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const requestOptions: RequestOptions = {
      method,
      key: this.options.box.keyPem,
      cert: this.options.box.certPem,
      ...(this.options.ca ? { ca: this.options.ca } : {}),
      headers: { accept: 'application/json', ...(payload === undefined ? {} : { 'content-type': 'application/json' }) },
      agent: false,
    };
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const settle = (outcome: () => T): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        try {
          resolve(outcome());
        } catch (error) {
          reject(error);
        }
      };
      const fail = (error: PairgateApiError): void => settle(() => {
        throw error;
      });
      let answered = false;
      const req = request(url, requestOptions, (res) => {
        answered = true;
        // Read up to the cap only: a server (or an --update-api pointed at a large file) had the
        // whole answer held in memory until the timeout.
        const tooLarge = (): void => {
          fail(answerTooLarge(this.baseUrl, method, path, res.statusCode ?? 0, maxAnswerBytes));
          req.destroy();
        };
        if (Number(res.headers['content-length']) > maxAnswerBytes) return tooLarge();
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > maxAnswerBytes) tooLarge();
          else chunks.push(chunk);
        });
        res.on('end', () => settle(() => answerOf<T>(this.baseUrl, method, path, res, Buffer.concat(chunks).toString('utf8'))));
        // Cut or stalled halfway (the timeout destroys the request): the network's doing, not a
        // sign that something other than the update API answered.
        res.on('error', (error) => lost(error));
        res.on('close', () => {
          if (!res.complete) lost(new Error('the connection closed'));
        });
      });
      /** Why the call ended: its timeout's error when it was that, else what the socket said. */
      let lastError: Error | undefined;
      const lost = (error: Error): void => fail(signal?.aborted ? abortedCall(signal) : cutOff(this.baseUrl, lastError ?? error));
      const onAbort = (): void => {
        fail(abortedCall(signal!));
        req.destroy();
      };
      const timer = setTimeout(() => {
        lastError = timedOut();
        req.destroy(lastError);
      }, this.options.timeoutMs ?? 15_000);
      signal?.addEventListener('abort', onAbort, { once: true });
      req.on('error', (error) => {
        if (answered) lost(error);
        else fail(signal?.aborted ? abortedCall(signal) : connectionError(this.baseUrl, lastError ?? error));
      });
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  }

  /**
   * Sets a record (replacing the A/AAAA/CNAME of the name; adding a TXT value). A CNAME `value` is
   * a full name, its final dot optional; one label alone (`local`) is refused as ambiguous
   * (`cname_target_ambiguous`): give `local.<fp>.<zone>`, or `local.` for the top-level name.
   */
  set(name: string, type: DnsRecordView['type'], value: string, ttl?: number, options: CallOptions = {}): Promise<DnsRecordView> {
    return this.send('POST', `/v1/dns/${dnsPath(name)}`, { type, value, ...(ttl === undefined ? {} : { ttl }) }, options.signal);
  }

  /** Deletes the records of a name (only of `type`, and `value`, when given). */
  remove(name: string, filter: { type?: DnsRecordView['type']; value?: string } = {}, options: CallOptions = {}): Promise<{ deleted: number }> {
    const query = new URLSearchParams();
    if (filter.type) query.set('type', filter.type);
    if (filter.value !== undefined) query.set('value', filter.value);
    return this.send('DELETE', `/v1/dns/${dnsPath(name)}${query.size ? `?${query}` : ''}`, undefined, options.signal);
  }

  /**
   * Announces the box to the registry over this mutual-TLS connection (the alternative to a JWS):
   * the client certificate proves the fingerprint.
   */
  register(body: { client: string; message: string } | { fingerprint: string; local_origin: string; tunnel_origin?: string | null; name?: string }, options: CallOptions = {}): Promise<{ status: 'registered' }> {
    return this.send('POST', '/register', body, options.signal);
  }

  /** The records at and under `name`. */
  async list(name: string, options: CallOptions = {}): Promise<DnsRecordView[]> {
    return (await this.send<{ records: DnsRecordView[] }>('GET', `/v1/dns/${dnsPath(name)}`, undefined, options.signal, MAX_LIST_ANSWER_BYTES)).records;
  }
}
