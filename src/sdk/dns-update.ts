import { request } from 'node:https';
import { PairgateApiError } from './errors.js';
import type { BoxKeys } from './registry.js';

/** A record as the update API shows it. */
export interface DnsRecordView {
  name: string;
  type: 'A' | 'AAAA' | 'CNAME' | 'TXT';
  value: string;
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
  return new PairgateApiError(0, 'network_error', `Cannot reach ${baseUrl} (${code}).`);
}

/**
 * Client of the DNS update API: HTTPS with the box certificate as client certificate, which is what
 * proves the box owns `<fingerprint>.<zone>`.
 */
export class DnsUpdateClient {
  readonly baseUrl: string;
  constructor(private readonly options: DnsUpdateClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
  }

  private send<T>(method: string, path: string, body?: unknown): Promise<T> {
    const url = new URL(`${this.baseUrl}${path}`);
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise<T>((resolve, reject) => {
      const req = request(url, {
        method,
        key: this.options.box.keyPem,
        cert: this.options.box.certPem,
        ...(this.options.ca ? { ca: this.options.ca } : {}),
        headers: { accept: 'application/json', ...(payload === undefined ? {} : { 'content-type': 'application/json' }) },
        timeout: this.options.timeoutMs ?? 15_000,
        agent: false,
      }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: Record<string, unknown> = {};
          try {
            json = JSON.parse(text) as Record<string, unknown>;
          } catch {
            // not JSON: reported below by status
          }
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) resolve(json as T);
          else reject(new PairgateApiError(status, String(json.reason ?? json.error ?? `http_${status}`), String(json.message ?? text), json));
        });
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', (error) => reject(connectionError(this.baseUrl, error)));
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  }

  /**
   * Sets a record (replacing the A/AAAA/CNAME of the name; adding a TXT value). A CNAME `value` is
   * a full name, its final dot optional; one label alone (`local`) is refused as ambiguous
   * (`cname_target_ambiguous`): give `local.<fp>.<zone>`, or `local.` for the top-level name.
   */
  set(name: string, type: DnsRecordView['type'], value: string, ttl?: number): Promise<DnsRecordView> {
    return this.send('POST', `/v1/dns/${dnsPath(name)}`, { type, value, ...(ttl === undefined ? {} : { ttl }) });
  }

  /** Deletes the records of a name (only of `type`, and `value`, when given). */
  remove(name: string, filter: { type?: DnsRecordView['type']; value?: string } = {}): Promise<{ deleted: number }> {
    const query = new URLSearchParams();
    if (filter.type) query.set('type', filter.type);
    if (filter.value !== undefined) query.set('value', filter.value);
    return this.send('DELETE', `/v1/dns/${dnsPath(name)}${query.size ? `?${query}` : ''}`);
  }

  /**
   * Announces the box to the registry over this mutual-TLS connection (the alternative to a JWS):
   * the client certificate proves the fingerprint.
   */
  register(body: { client: string; message: string } | { fingerprint: string; local_origin: string; tunnel_origin?: string | null; name?: string }): Promise<{ status: 'registered' }> {
    return this.send('POST', '/register', body);
  }

  /** The records at and under `name`. */
  async list(name: string): Promise<DnsRecordView[]> {
    return (await this.send<{ records: DnsRecordView[] }>('GET', `/v1/dns/${dnsPath(name)}`)).records;
  }
}
