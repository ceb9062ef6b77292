import type { KeyObject } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { InvalidRequestError, RateLimitedError, UnauthorizedError } from '../../core/errors.js';
import { addJsonContentTypeParser, jsonBodyParser } from '../../server/json-body.js';
import type { EphemeralStore } from '../../store/ports.js';
import type { DoorContext } from '../door.js';
import { clientKeyRefusal } from '../dns/client-key.js';
import { verifyAnnouncement } from './announce-signature.js';
import { checkAnnouncementBody } from './announcement-check.js';
import type { Announcements } from './announcements.js';
import { fingerprintForm } from '../../core/fingerprint.js';
import { ipv6BlockOfNetwork } from './ipv6-block.js';
import { privateMessage, type NameResolves } from './private-origin.js';
import { registryErrorShape, TooManyBoxesError } from './registry-errors.js';
import { RegisterBody, RegisteredView, RegisterErrors } from './schemas.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The body exactly as received, for routes whose signature covers it. */
    rawBody?: string;
  }
}

/** Settings of the register route. */
export interface RegisterRouteOptions {
  announcements: Announcements;
  perMinute: number;
  maxPerIp: number;
  /** PAIRGATE_REGISTRY_MAX_PER_IPV6_48: boxes on all the /64s of one IPv6 /48 together. */
  maxPerIpv6Block: number;
  /**
   * PAIRGATE_REGISTRY_REGISTER_PER_MINUTE_PER_IPV6_48: signed announcements per IPv6 /48 per minute
   * (the JWS route's; the mutual-TLS route writes no replay memory and has none).
   */
  perMinutePerIpv6Block?: number;
  maxSkewSeconds: number;
  allowLegacy: boolean;
  /** Privacy mode: keep nothing of what the box said about its local addresses. */
  privateMode: boolean;
  /** The DNS zone boxes own names under, for the registry-mediated name in privacy mode. */
  dnsZone: string;
  /** Whether a name of the zone resolves (the DNS door's `zoneNameResolves`); undefined without the DNS door. */
  nameResolves?: NameResolves;
  /** The origins an announcement may be signed for (`announceAudiences`); undefined: any. */
  audiences?: readonly string[];
}

/** `{client, message}` of either body form. */
export function normaliseAnnouncement(body: RegisterBody): { client: string; message: string } {
  if ('client' in body) return { client: body.client, message: body.message };
  return {
    client: body.fingerprint,
    message: JSON.stringify({ local_origin: body.local_origin, tunnel_origin: body.tunnel_origin ?? null, ...(body.name ? { name: body.name } : {}) }),
  };
}

/**
 * The key `POST /register`'s rate limit counts a request under: the caller's network, and apart
 * from it the requests of that network that carry no Authorization header. Any web page a person
 * on the network opens may send /register a simple cross-site POST (text/plain, a form) without
 * being allowed to read the answer, but never one with an Authorization header (that needs a
 * preflight, which no CORS answers): 30 such requests a minute spent the budget every box of the
 * network announces with, and the boxes dropped off `/ping` while the page stayed open.
 */
export function announcementRateKey(request: Pick<FastifyRequest, 'clientNetwork' | 'headers'>): string {
  return request.headers.authorization === undefined ? `${request.clientNetwork}|unsigned` : request.clientNetwork;
}

/**
 * Counts a signed announcement from an IPv6 caller against its /48's budget of `perMinute` a
 * minute (a fixed window in the ephemeral store, so one budget across nodes sharing it), and
 * refuses it, 429 `rate_limited`, beyond. Each signed announcement leaves a replay-memory row (its
 * `jti`) for up to twice the clock skew whatever its outcome, and costs a signature check; the
 * per-network limit alone gave a /48 (free from a tunnel broker) 65,536 budgets of them. Requests
 * without an Authorization header are not counted: they write nothing and fail at once, and a web
 * page open on the network can send them (see `announcementRateKey`). Runs after the per-network
 * limit, so one /64 flooding is stopped there without spending its neighbours' budget.
 */
export async function checkIpv6BlockRate(ephemeral: EphemeralStore, request: Pick<FastifyRequest, 'clientNetwork' | 'headers'>, perMinute: number, now: number): Promise<void> {
  if (request.headers.authorization === undefined) return;
  const block = ipv6BlockOfNetwork(request.clientNetwork);
  if (block === undefined) return;
  const { count, resetAt } = await ephemeral.increment(`registry-rate48|${block}`, 60_000, now);
  if (count <= perMinute) return;
  const seconds = Math.max(1, Math.ceil((resetAt - now) / 1000));
  throw new RateLimitedError(seconds, `Too many announcements from this IPv6 /48. Try again in ${seconds} s.`);
}

/**
 * `POST /register`: a box announces its URLs to the browsers behind the same public IP. The caller's
 * IP is `request.ip`, which honours X-Forwarded-For only from PAIRGATE_TRUST_PROXY.
 */
export function registerRoute(app: FastifyInstance, ctx: DoorContext, options: RegisterRouteOptions): void {
  // The signature covers the exact bytes of the body, so keep them next to the parsed value.
  app.removeContentTypeParser('application/json');
  // The server's JSON parser, so a body poisoning a prototype is refused here as everywhere else.
  const parseJson = jsonBodyParser(app);
  addJsonContentTypeParser(app, (request, body, done) => {
    request.rawBody = body;
    parseJson(request, body, done);
  });
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const { perMinutePerIpv6Block } = options;
  api.post('/register', {
    schema: {
      tags: ['registry'],
      summary: 'A box announces its URLs to the browsers behind the same public IP; signed by the box key (Authorization: JWS ...).',
      body: RegisterBody,
      response: { 200: RegisteredView, ...RegisterErrors },
    },
    config: { rateLimit: { max: options.perMinute, timeWindow: 60_000, keyGenerator: announcementRateKey } },
    preValidation: checkAnnouncementBody,
    ...(perMinutePerIpv6Block === undefined ? {} : {
      preHandler: async (request: FastifyRequest) => checkIpv6BlockRate(ctx.stores.ephemeral, request, perMinutePerIpv6Block, ctx.clock.now()),
    }),
  }, async (request) => {
    const { client, message } = normaliseAnnouncement(request.body);
    const now = ctx.clock.now();
    await verifyAnnouncement({
      authorization: request.headers.authorization,
      rawBody: request.rawBody ?? '',
      client,
      now,
      maxSkewSeconds: options.maxSkewSeconds,
      allowLegacy: options.allowLegacy,
      ephemeral: ctx.stores.ephemeral,
      ...(options.audiences ? { audiences: options.audiences } : {}),
    });
    await storeAnnouncement(options, request.ip, client, message, now);
    return { status: 'registered' as const };
  });
}

/**
 * Stores an authenticated announcement made from `callerIp`, within the caps of boxes per public
 * network and per IPv6 /48: the box claims its places first (exact under concurrency, see
 * `Announcements.claim`; a box holding its places may always refresh its entry).
 */
export async function storeAnnouncement(options: Pick<RegisterRouteOptions, 'announcements' | 'maxPerIp' | 'maxPerIpv6Block' | 'privateMode' | 'dnsZone' | 'nameResolves'>, callerIp: string, client: string, message: string, now: number): Promise<void> {
  const claim = await options.announcements.claim(callerIp, client, { perNetwork: options.maxPerIp, perIpv6Block: options.maxPerIpv6Block }, now);
  if (!claim.ok) {
    const max = claim.level === 'network' ? options.maxPerIp : options.maxPerIpv6Block;
    throw new TooManyBoxesError(max, Math.max(1, Math.ceil(claim.retryAfterMs / 1000)), claim.level);
  }
  await options.announcements.put(callerIp, {
    client,
    message: options.privateMode ? await privateMessage(client, message, options.dnsZone, options.nameResolves) : message,
    timestamp: now,
  }, now);
}

/** The fingerprints of a TLS client certificate (both forms), as the mTLS listener saw them. */
export interface ClientCertificateIds {
  fingerprint: string;
  legacy: string;
}

/** The public key of the connection's TLS client certificate, or undefined when there is none. */
export function peerCertificateKey(request: FastifyRequest): KeyObject | undefined {
  const socket = request.raw.socket as TLSSocket;
  return typeof socket.getPeerX509Certificate === 'function' ? socket.getPeerX509Certificate()?.publicKey : undefined;
}

/**
 * `POST /register` over mutual TLS (the alternative to the JWS): served on the DNS update API's
 * listener, which asks every client for its certificate; `client` must be that certificate's
 * fingerprint (or its legacy SHA-1 form where accepted). The caller's IP is the socket's.
 *
 * The certificate's key must be one an announcement may be signed with (`clientKeyRefusal`, as for
 * the update API's records): the TLS handshake takes any key OpenSSL does, so an RSA-1024 box,
 * whose JWS the other route refuses, was listed here. 401 `client_key_too_weak` (errno 160) or
 * `client_key_unsupported` (161), saying what key to use. `keyOf` reads that key (by default from
 * the TLS connection).
 */
export function registerMtlsRoute(
  app: FastifyInstance,
  options: Omit<RegisterRouteOptions, 'maxSkewSeconds'> & {
    clock: { now(): number };
    certificateOf: (request: FastifyRequest) => ClientCertificateIds | undefined;
    keyOf?: (request: FastifyRequest) => KeyObject | undefined;
  },
): void {
  const keyOf = options.keyOf ?? peerCertificateKey;
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  api.post('/register', {
    schema: { body: RegisterBody, response: { 200: RegisteredView, ...RegisterErrors } },
    config: { errorShape: registryErrorShape, rateLimit: { max: options.perMinute, timeWindow: 60_000 } },
    preValidation: checkAnnouncementBody,
  }, async (request) => {
    const { client, message } = normaliseAnnouncement(request.body);
    const ids = options.certificateOf(request);
    if (!ids) throw new UnauthorizedError('Present the box certificate as a TLS client certificate.', 'client_certificate_required');
    const key = keyOf(request);
    const refusal = key ? clientKeyRefusal(key) : undefined;
    if (refusal) throw refusal;
    const form = fingerprintForm(client);
    if (form === 'legacy-sha1' && !options.allowLegacy) {
      throw new InvalidRequestError('Legacy (SHA-1) fingerprints are not accepted by this registry.', undefined, 'legacy_fingerprint_disabled');
    }
    if (client !== (form === 'legacy-sha1' ? ids.legacy : ids.fingerprint)) {
      throw new UnauthorizedError('The announcement names another box than the client certificate.', 'fingerprint_mismatch');
    }
    await storeAnnouncement(options, request.ip, client, message, options.clock.now());
    return { status: 'registered' as const };
  });
}
