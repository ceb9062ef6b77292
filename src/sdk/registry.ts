import { createPublicKey, randomBytes, createHash, X509Certificate } from 'node:crypto';
import { networkInterfaces } from 'node:os';
import { CompactSign, importPKCS8, type JWK } from 'jose';
import { ANNOUNCE_PURPOSE } from '../doors/registry/announce-signature.js';
import { PairgateApiError, toApiError, unreachable } from './errors.js';

/** The key and certificate of a box, PEM (see `pairgate box init`). */
export interface BoxKeys {
  keyPem: string;
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
 */
export async function signAnnouncement(box: BoxKeys, rawBody: string, options: { withCertificate?: boolean; now?: number; audience?: string } = {}): Promise<string> {
  const jwk = createPublicKey(box.keyPem).export({ format: 'jwk' }) as JWK;
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

/** The first non-internal IPv4 address of this machine (what a box announces as its local address). */
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
  timeoutMs?: number;
  /** A fetch implementation (default: the global one). */
  fetch?: typeof fetch;
}

/** Client of the registry: boxes announce, programs ask which boxes share their public IP. */
export class RegistryClient {
  readonly baseUrl: string;
  private readonly timeoutMs: number;
  private readonly fetchImpl: typeof fetch;

  constructor(options: RegistryClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? 15_000;
    this.fetchImpl = options.fetch ?? fetch;
  }

  private async send<T>(method: string, path: string, body?: string, headers: Record<string, string> = {}): Promise<T> {
    let response: Response;
    try {
      response = await this.fetchImpl(`${this.baseUrl}${path}`, {
        method,
        headers: { accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
        ...(body === undefined ? {} : { body }),
        signal: AbortSignal.timeout(this.timeoutMs),
        redirect: 'manual',
      });
    } catch (error) {
      throw unreachable(this.baseUrl, error, '');
    }
    if (!response.ok) {
      const error = await toApiError(response);
      // The registry's shape is {code, errno, error, message, reason}: the machine code is `reason`.
      const reason = (error.body as { reason?: unknown } | undefined)?.reason;
      throw typeof reason === 'string' ? new PairgateApiError(error.status, reason, error.message, error.body) : error;
    }
    return (await response.json()) as T;
  }

  /** Announces `body`, signed by `box` (POST /register). */
  async announce(box: BoxKeys, body: AnnouncementBody, options: { withCertificate?: boolean } = {}): Promise<{ status: 'registered' }> {
    const raw = JSON.stringify(body);
    return this.send('POST', '/register', raw, { authorization: await signAnnouncement(box, raw, { ...options, audience: new URL(this.baseUrl).origin }) });
  }

  /** The boxes announced behind this caller's public IP (GET /ping). */
  async ping(): Promise<PingEntry[]> {
    return this.send('GET', '/ping');
  }

  /** Like ping, with the URLs read out of each message. */
  async findBoxes(): Promise<FoundBox[]> {
    return (await this.ping()).map(readBoxMessage);
  }
}

/**
 * Announces a box every `intervalMs` (default 60 s, half the registry's 120 s lifetime) and at once
 * when `currentOrigin()` changes (the local IP moved), checked every `checkMs`. Returns a stop
 * function. Failures are reported to `onError` and retried on the next tick.
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
  const tick = async (): Promise<void> => {
    if (busy) return;
    busy = true;
    try {
      const body = announcement();
      const text = JSON.stringify(body);
      if (text !== last || Date.now() - lastAt >= (options.intervalMs ?? 60_000)) {
        await client.announce(box, body);
        last = text;
        lastAt = Date.now();
        options.onAnnounce?.(body);
      }
    } catch (error) {
      options.onError?.(error);
    } finally {
      busy = false;
    }
  };
  void tick();
  const timer = setInterval(() => void tick(), options.checkMs ?? 5_000);
  return () => clearInterval(timer);
}
