import { createPublicKey, randomBytes, createHash, X509Certificate } from 'node:crypto';
import { networkInterfaces } from 'node:os';
import { CompactSign, importPKCS8, type JWK } from 'jose';
import { keyRefusal } from '../doors/registry/announce-key.js';
import { ANNOUNCE_PURPOSE } from '../doors/registry/announce-signature.js';
import { abortedCall, PairgateApiError, toApiError, UNREACHABLE_ADVICE } from './errors.js';
import { callJson, type CallOptions } from './http-call.js';
import { monotonicNow } from './long-poll.js';

/** The key and certificate of a box, PEM (see `pairgate box init`). */
export interface BoxKeys {
  /** The box's private key (PKCS#8 PEM). */
  keyPem: string;
  /** The box's certificate (PEM), whose key's fingerprint names the box. */
  certPem: string;
}

/** A box's announcement in Mozilla's shape or the structured one. */
export type AnnouncementBody =
  | { client: string; message: string }
  | { fingerprint: string; local_origin: string; tunnel_origin?: string | null; name?: string };

/** One box the registry lists behind the caller's public IP. */
export interface PingEntry {
  public_ip: string;
  client: string;
  message: string;
  timestamp: number;
}

/** A box found, with the URLs read out of its message. */
export interface FoundBox extends PingEntry {
  localOrigin: string | null;
  tunnelOrigin: string | null;
  name: string | null;
}

/**
 * The `Authorization` value of an announcement: a compact JWS by the box key over the SHA-256 of
 * the exact body bytes, with the public key embedded (`jwk`) and, with `withCertificate`, the
 * certificate (`x5c`, needed for legacy SHA-1 fingerprints); `audience` is the registry's origin
 * (`https://pair.example.com`), which binds the announcement to it (`RegistryClient` sets it).
 * A key no registry takes is refused before signing: PairgateApiError 401 `client_key_too_weak`
 * (RSA under 2048 bits) or `client_key_unsupported` (P-521, Ed448...), saying what key to use.
 */
export async function signAnnouncement(box: BoxKeys, rawBody: string, options: { withCertificate?: boolean; now?: number; audience?: string } = {}): Promise<string> {
  const publicKey = createPublicKey(box.keyPem);
  // A key the registry refuses is said as it would say it, before signing: jose failed on it with
  // "Named curve mismatch" (P-521) or a TypeError (RSA-1024), naming neither the key nor the fix.
  const refusal = keyRefusal(publicKey, 'The box has a key');
  if (refusal) throw new PairgateApiError(refusal.status, refusal.code, refusal.message);
  const jwk = publicKey.export({ format: 'jwk' }) as JWK;
  const alg = jwk.kty === 'EC' ? (jwk.crv === 'P-384' ? 'ES384' : 'ES256') : jwk.kty === 'OKP' ? 'EdDSA' : 'RS256';
  const key = await importPKCS8(box.keyPem, alg);
  const payload = {
    purpose: ANNOUNCE_PURPOSE,
    sha256: createHash('sha256').update(rawBody, 'utf8').digest('base64url'),
    iat: Math.floor((options.now ?? Date.now()) / 1000),
    jti: randomBytes(16).toString('base64url'),
    // The registry it is for: another one refuses it (a captured announcement replayed there).
    ...(options.audience !== undefined ? { aud: options.audience } : {}),
  };
  const header: Record<string, unknown> = { alg, jwk };
  if (options.withCertificate) header.x5c = [new X509Certificate(box.certPem).raw.toString('base64')];
  const jws = await new CompactSign(new TextEncoder().encode(JSON.stringify(payload))).setProtectedHeader(header as never).sign(key);
  return `JWS ${jws}`;
}

/** Reads local_origin, tunnel_origin and name out of a message that is JSON (or not). */
export function readBoxMessage(entry: PingEntry): FoundBox {
  let parsed: Record<string, unknown> = {};
  try {
    const value: unknown = JSON.parse(entry.message);
    if (value && typeof value === 'object') parsed = value as Record<string, unknown>;
  } catch {
    // An opaque message: the box is listed without URLs.
  }
  const text = (value: unknown): string | null => (typeof value === 'string' ? value : null);
  // A message is whatever the box said: only plain http(s) URLs are handed on as origins.
  const origin = (value: unknown): string | null => {
    if (typeof value !== 'string') return null;
    try {
      const url = new URL(value);
      return url.protocol === 'https:' || url.protocol === 'http:' ? url.origin : null;
    } catch {
      return null;
    }
  };
  return { ...entry, localOrigin: origin(parsed.local_origin) ?? origin(parsed.origin), tunnelOrigin: origin(parsed.tunnel_origin), name: text(parsed.name) };
}

export { boxLocalIPv4 } from '../doors/registry/box-address.js';

/**
 * The first non-internal IPv4 address in this machine's interface list.
 *
 * @deprecated A Docker bridge or a VPN's interface often comes first in that list, an address only
 * this machine reaches. Use {@link boxLocalIPv4}, what `pairgate box announce` announces: the
 * address the system sends from toward the internet when an interface holds it.
 */
export function localIPv4(): string | undefined {
  for (const addresses of Object.values(networkInterfaces())) {
    for (const address of addresses ?? []) if (address.family === 'IPv4' && !address.internal) return address.address;
  }
  return undefined;
}

/** Options of the registry client. */
export interface RegistryClientOptions {
  /** Base URL of the registry, e.g. `https://pair.example.com`. */
  baseUrl: string;
  /** Timeout of each call in milliseconds, its answer's body included. Default 15 s. */
  timeoutMs?: number;
  /** A fetch implementation (default: the global one). */
  fetch?: typeof fetch;
}

/**
 * Client of the registry: boxes announce, programs ask which boxes share their public IP. Every
 * call takes a `signal` (code `aborted`); errors are PairgateApiError with the registry's code.
 */
export class RegistryClient {
  /** The registry's base URL, without a trailing slash. */
  readonly baseUrl: string;
  private readonly timeoutMs: number;
  private readonly fetchImpl: typeof fetch;

  constructor(options: RegistryClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? 15_000;
    this.fetchImpl = options.fetch ?? fetch;
  }

  /**
   * Sends a request and parses its JSON answer; throws PairgateApiError: the registry's refusal
   * (its `reason` as the code), `network_error` when no whole answer came (none, or one cut or
   * stalled halfway) within the timeout, `not_pairgate` for a whole answer that is not JSON,
   * `aborted` when `signal` cancelled it.
   */
  private send<T>(method: string, path: string, body?: string, headers: Record<string, string> = {}, signal?: AbortSignal): Promise<T> {
    return callJson<T>({
      origin: this.baseUrl,
      url: `${this.baseUrl}${path}`,
      method,
      headers: { accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      ...(body === undefined ? {} : { body }),
      timeoutMs: this.timeoutMs,
      ...(signal ? { signal } : {}),
      // The registry is a pairgate server too: said of it as of every other one.
      advice: UNREACHABLE_ADVICE,
      fetch: this.fetchImpl,
      refusal: registryRefusal,
    });
  }

  /** Announces `body`, signed by `box` (POST /register). */
  async announce(box: BoxKeys, body: AnnouncementBody, options: { withCertificate?: boolean } & CallOptions = {}): Promise<{ status: 'registered' }> {
    if (options.signal?.aborted) throw abortedCall(options.signal);
    const raw = JSON.stringify(body);
    const authorization = await signAnnouncement(box, raw, { ...(options.withCertificate === undefined ? {} : { withCertificate: options.withCertificate }), audience: new URL(this.baseUrl).origin });
    return this.send('POST', '/register', raw, { authorization }, options.signal);
  }

  /** The boxes announced behind this caller's public IP (GET /ping). */
  async ping(options: CallOptions = {}): Promise<PingEntry[]> {
    return this.send('GET', '/ping', undefined, {}, options.signal);
  }

  /** Like ping, with the URLs read out of each message. */
  async findBoxes(options: CallOptions = {}): Promise<FoundBox[]> {
    return (await this.ping(options)).map(readBoxMessage);
  }
}

/** A registry refusal: its shape is {code, errno, error, message, reason}, the machine code is `reason`. */
async function registryRefusal(response: Response): Promise<PairgateApiError> {
  const error = await toApiError(response);
  const reason = (error.body as { reason?: unknown } | undefined)?.reason;
  return typeof reason === 'string' ? new PairgateApiError(error.status, reason, error.message, error.body, error.retryAfterSeconds) : error;
}

/**
 * Announces a box every `intervalMs` (default 60 s, half the registry's 120 s lifetime) and at once
 * when `currentOrigin()` changes (the local IP moved), checked every `checkMs`. Returns a stop
 * function, which also cancels an announcement under way (nothing is reported of it). Failures
 * are reported to `onError` and retried on the next tick. The period is measured on the monotonic
 * clock: a step of the wall clock neither skips announcements nor sends them in a burst.
 */
export function keepAnnouncing(
  client: RegistryClient,
  box: BoxKeys,
  announcement: () => AnnouncementBody,
  options: { intervalMs?: number; checkMs?: number; onAnnounce?: (body: AnnouncementBody) => void; onError?: (error: unknown) => void } = {},
): () => void {
  let last = '';
  let lastAt = 0;
  let busy = false;
  const stopped = new AbortController();
  const tick = async (): Promise<void> => {
    if (busy || stopped.signal.aborted) return;
    busy = true;
    try {
      const body = announcement();
      const text = JSON.stringify(body);
      if (text !== last || monotonicNow() - lastAt >= (options.intervalMs ?? 60_000)) {
        await client.announce(box, body, { signal: stopped.signal });
        last = text;
        lastAt = monotonicNow();
        options.onAnnounce?.(body);
      }
    } catch (error) {
      if (!stopped.signal.aborted) options.onError?.(error);
    } finally {
      busy = false;
    }
  };
  void tick();
  const timer = setInterval(() => void tick(), options.checkMs ?? 5_000);
  return () => {
    clearInterval(timer);
    stopped.abort();
  };
}
