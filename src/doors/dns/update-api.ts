import type { TLSSocket } from 'node:tls';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyRequest } from 'fastify';
import { X509Certificate } from 'node:crypto';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Clock } from '../../core/clock.js';
import { InvalidRequestError, RateLimitedError, UnauthorizedError } from '../../core/errors.js';
import { claimEveryPath, installErrorHandlers, schemaErrorFormatter, sendFrameworkError } from '../../server/error-handler.js';
import { requestTimeouts } from '../../server/request-timeouts.js';
import { clientErrorHandler } from '../../server/client-errors.js';
import { installMachineSecurityHeaders } from '../../server/security-headers.js';
import { pairgateErrorShape } from '../../server/error-shapes.js';
import { installJsonBodyParser } from '../../server/json-body.js';
import { addSharedResponses, errorView } from '../../server/openapi-responses.js';
import { packageVersion } from '../../server/version.js';
import { decorateClientNetwork } from '../../server/public-network.js';
import { installRequestFraming, LET_MISSING_HOST_THROUGH } from '../../server/request-framing.js';
import { sharedRateLimitOptions } from '../../server/ephemeral-rate-limit-store.js';
import type { Stores } from '../../store/ports.js';
import { legacyFingerprint, spkiFingerprint } from '../../core/fingerprint.js';
import type { DnsRecords } from './dns-records.js';
import { inZone, nameFromReversedLabels, nameProblem, ownerOf } from './dns-names.js';
import { checkRecordFits, recordValue } from './record-validation.js';
import { updateValidationError } from './update-validation.js';
import { limitUpdateConnections } from './update-connections.js';
import { clientKeyRefusal } from './client-key.js';
import type { ConnectionRefusal } from '../../server/metrics.js';

/** Settings of the update API. */
export interface UpdateApiOptions {
  host: string;
  port: number;
  tls: { key: string; cert: string };
  zone: string;
  records: DnsRecords;
  clock: Clock;
  logger: FastifyBaseLogger;
  perMinute: number;
  maxRecordsPerBox: number;
  /** Records the boxes writing from one network (IPv4 address, IPv6 /64) may hold in all. */
  maxRecordsPerNetwork: number;
  /** Days after which a record not written again is removed (PAIRGATE_DNS_RECORD_LIFETIME_DAYS; 0 or absent = never): said in the cap's refusal. */
  recordLifetimeDays?: number;
  defaultTtl: number;
  minTtl: number;
  /**
   * The time a client has to send a whole request, headers and body (the main server's
   * PAIRGATE_REQUEST_TIMEOUT_SECONDS); a slower one gets 408 `request_timeout` and is disconnected.
   * It bounds the TLS handshake too (at most Node's 120 s).
   */
  requestTimeoutSeconds: number;
  /** Connections held at once, at most (`limitUpdateConnections`); default 256. */
  maxConnections?: number;
  /** Counts each connection refused (the server's `pairgate_connections_refused_total`). */
  countRefused?: (reason: ConnectionRefusal) => void;
  /**
   * The stores whose rate-limit counts this listener shares (`Stores.rateLimit`, as the main server
   * uses them). Absent, or without `rateLimit`: counted in process memory (one node).
   */
  stores?: Pick<Stores, 'rateLimit' | 'ephemeral'>;
  /** Further routes on this listener (e.g. the registry's mutual-TLS POST /register). */
  extraRoutes?: (app: FastifyInstance) => void;
}

/** A running update API. */
export interface RunningUpdateApi {
  url: string;
  port: number;
  close(): Promise<void>;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Fingerprint of the client certificate of this TLS connection (the box calling). */
    boxFingerprint?: string;
    /** Why the client certificate's key is refused (`clientKeyRefusal`), when it is. */
    boxKeyRefusal?: UnauthorizedError;
  }
}

/** Node's own bound on a TLS handshake (tls.Server `handshakeTimeout`), never loosened. */
const NODE_HANDSHAKE_TIMEOUT_MS = 120_000;

/** Prefix of the update API's rate-limit keys, apart from the main server's in a shared store. */
const RATE_KEY_PREFIX = 'dns-update:';

/**
 * The key the update API's rate limit counts a request under: the caller's network, and apart from
 * it that network's requests that present no box certificate. A web page open on the network can
 * have the browser send this listener requests (a form post, an image) but never with a box's key,
 * so, counted together, a page left open spent every box of the network its record updates and
 * mutual-TLS announcements (the registry's POST /register here).
 */
export function updateRateKey(request: Pick<FastifyRequest, 'clientNetwork' | 'boxFingerprint'>): string {
  return `${RATE_KEY_PREFIX}${request.clientNetwork}${request.boxFingerprint === undefined ? '|anonymous' : ''}`;
}

const RecordBody = Type.Object(
  {
    type: Type.Union([Type.Literal('A'), Type.Literal('AAAA'), Type.Literal('CNAME'), Type.Literal('TXT')]),
    value: Type.String({ minLength: 1, maxLength: 1000 }),
    ttl: Type.Optional(Type.Integer({ minimum: 0, maximum: 86400 })),
  },
  { additionalProperties: false },
);
// Closed, as the body is: a filter misspelled (`?Type=TXT`) and ignored would delete every record
// at the name (update-validation.ts words the refusal).
const DeleteQuery = Type.Object(
  {
    type: Type.Optional(Type.Union([Type.Literal('A'), Type.Literal('AAAA'), Type.Literal('CNAME'), Type.Literal('TXT')])),
    value: Type.Optional(Type.String({ maxLength: 1000, description: 'Only the records holding this value: an address in any spelling (2001:0DB8::1 is 2001:db8::1), a CNAME target with or without its final dot, a TXT value exactly.' })),
  },
  { additionalProperties: false },
);
/** GET and POST read no query: a parameter sent to them (`?ttl=60` on a POST) is refused, not silently ignored. */
const NoQuery = Type.Object({}, { additionalProperties: false });
const RecordView = Type.Object({ name: Type.String(), type: Type.String(), value: Type.String(), ttl: Type.Integer() });
const PathParams = Type.Object({ '*': Type.String({ maxLength: 300 }) });

const BAD_NAME = '`invalid_name`: the path is not a DNS name (its labels reversed, separated by /)';
/** The documented answers of the record routes. */
const Answers = {
  list: Type.Object({ records: Type.Array(RecordView) }, { description: 'The box\'s records at this name and under it, each with its name, type, value and TTL.' }),
  written: Type.Object(RecordView.properties, { description: 'The record as written (an A, AAAA or CNAME record replaced the one of its type at the name).' }),
  deleted: Type.Object({ deleted: Type.Integer() }, { description: 'How many records were removed: 0 when none matched.' }),
  list400: errorView(`${BAD_NAME}; \`validation_failed\`: a query parameter (this operation takes none).`),
  put400: errorView(`${BAD_NAME}; \`invalid_ttl\` (under the zone's minimum TTL), \`invalid_ip\` (an A or AAAA value that is no such address), \`invalid_txt\`, \`txt_too_long\`, \`invalid_cname\`, \`cname_target_ambiguous\`, \`cname_loop\`, \`cname_chain_too_long\`, \`cname_conflict\` (a CNAME beside other records at a name, or a record beside a CNAME), \`too_many_records\` (the box's cap, or a name's), \`too_many_records_from_network\` (the cap of this network's boxes together); \`validation_failed\` (a field or query parameter the schema refuses), \`invalid_json\`.`),
  delete400: errorView(`${BAD_NAME}; \`validation_failed\`: a type or value the query refuses.`),
  unauthorized: errorView('`client_certificate_required` (no TLS client certificate), `client_key_too_weak` (an RSA key under 2048 bits), `client_key_unsupported` (a key the registry does not take either: EC keys other than P-256 and P-384, DSA, Ed448), `name_outside_zone` (the zone\'s apex, or a name outside the zone), `not_owner` (a name under another box\'s fingerprint).'),
};

/** Connections the update listener holds at once by default (PAIRGATE_DNS_UPDATE_MAX_CONNECTIONS). */
export const DEFAULT_UPDATE_MAX_CONNECTIONS = 256;

/** How long an idle connection to the update listener is kept open. */
const UPDATE_KEEP_ALIVE_MS = 10_000;

/**
 * The connection's client certificate, or undefined when there is none. The TLS handshake proved
 * the client holds its key (CertificateVerify), even though the chain is not checked: a self-signed
 * box certificate is its whole identity.
 */
function peerCertificate(request: FastifyRequest): X509Certificate | undefined {
  const socket = request.raw.socket as TLSSocket;
  return typeof socket.getPeerX509Certificate === 'function' ? socket.getPeerX509Certificate() : undefined;
}

/** Both fingerprints of the connection's client certificate (for the mutual-TLS registry route). */
export function clientCertificateIds(request: FastifyRequest): { fingerprint: string; legacy: string } | undefined {
  const cert = peerCertificate(request);
  if (!cert) return undefined;
  return { fingerprint: spkiFingerprint(cert.publicKey.export({ type: 'spki', format: 'der' })), legacy: legacyFingerprint(cert.raw) };
}

/**
 * The update API: HTTPS that asks for a client certificate (self-signed included, of a key the registry takes: `clientKeyRefusal`); the
 * certificate's fingerprint owns `<fp>.<zone>` and everything under it. Mozilla-compatible paths
 * name a record by its labels reversed: `POST /v1/dns/test/example/box/<fp>/local` with
 * `{type, value}` sets it, `DELETE` the same path removes it, `GET` lists the records at and under it.
 */
export async function startUpdateApi(options: UpdateApiOptions): Promise<RunningUpdateApi> {
  const { zone, records, clock } = options;
  // As on the main server (requestTimeouts): Fastify turns Node's request timeout off, so a client
  // past the handshake (anyone: a certificate is asked for, not required) that sent a body a byte
  // at a time held a connection for ever, and one silent or halfway through its headers for up to
  // 90 s (Node's 60 s headers timeout, checked every 30 s). With HTTPS, Fastify hands Node only the
  // `https` options, so the header timeout and the check interval go there.
  const timeouts = requestTimeouts(options.requestTimeoutSeconds);
  const app = Fastify({
    https: {
      key: options.tls.key,
      cert: options.tls.cert,
      requestCert: true,
      rejectUnauthorized: false,
      minVersion: 'TLSv1.2',
      ...timeouts.http,
      // A connection that never finishes its handshake was held Node's 120 s.
      handshakeTimeout: Math.min(timeouts.requestTimeout, NODE_HANDSHAKE_TIMEOUT_MS),
      // A request without Host is refused in the API's shape, not by Node (installRequestFraming below).
      ...LET_MISSING_HOST_THROUGH,
    },
    requestTimeout: timeouts.requestTimeout,
    // Boxes send a request or two and go: an idle connection kept 10 s, not Fastify's 72 s (its
    // default for servers behind a load balancer), is one fewer held by someone else.
    keepAliveTimeout: UPDATE_KEEP_ALIVE_MS,
    // What Node's parser cannot read (a malformed request line, headers too large) or did not
    // receive in time is answered in pairgate's shape (`malformed_request`, `request_timeout`), not
    // Fastify's `{"error":"Bad Request","message":"Client Error"}`.
    clientErrorHandler,
    loggerInstance: options.logger,
    bodyLimit: 8 * 1024,
    requestIdHeader: false,
    forceCloseConnections: true,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } },
    schemaErrorFormatter,
    // What the router refuses before any route (a malformed %-escape in the path) is answered as
    // on the main server, `{error: "bad_url", message}`, not in Fastify's own body.
    frameworkErrors: sendFrameworkError,
  }).withTypeProvider<TypeBoxTypeProvider>();
  // Every answer is for a program: the machine headers (`cache-control: no-store`, ...) on all of
  // them, set before the hooks below may refuse a request. Only the router's refusals and unknown
  // addresses under /v1/dns had them; a record listed, a 401, /register and /docs/json had none.
  installMachineSecurityHeaders(app);
  installErrorHandlers(app);
  // As on the main server: an HTTP/1.1 request without Host is 400 `missing_host`, the target `*`
  // with another method than OPTIONS 400 `invalid_request_target`, in the API's JSON shape (Node
  // answered the first with an empty 400, and the router read `*` as `/`).
  installRequestFraming(app);
  // Boxes are programs: what no route answers on this listener, under /v1/dns or anywhere else (an
  // unknown address, a malformed %-escape), is JSON with the machine headers, never the error page
  // a browser would get on the main server.
  claimEveryPath(app, pairgateErrorShape);
  // JSON only: a text body was read as a string and refused as "body must be object"; a 415 says
  // what to send instead.
  app.removeContentTypeParser('text/plain');
  // The main server's JSON parser: a body with a "__proto__" key is told so (body_forbidden_key),
  // not "not valid JSON", and one that is not UTF-8 is refused (body_not_utf8).
  installJsonBodyParser(app);
  // This listener is a Fastify instance of its own, without the main app's decorations: without
  // this, `request.clientNetwork` was undefined and every caller shared one rate-limit bucket, so
  // one client could lock every box out of its records.
  decorateClientNetwork(app);
  app.addHook('onRequest', async (request) => {
    const cert = peerCertificate(request);
    if (!cert) return;
    // A key the registry would refuse (RSA-1024) owns no names here either; refused when a route
    // needs the owner (ownedName), so /docs/json still answers.
    const refusal = clientKeyRefusal(cert.publicKey);
    if (refusal) request.boxKeyRefusal = refusal;
    else request.boxFingerprint = spkiFingerprint(cert.publicKey.export({ type: 'spki', format: 'der' }));
  });
  // Its own OpenAPI document, at /docs/json on this listener: the routes live here, not on the main
  // server, so the main /docs cannot show them.
  await app.register(swagger, {
    // The answers every route of this listener can give besides its own (400, 413, 429, 503), as
    // on the main server.
    transform: addSharedResponses,
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'pairgate DNS update API',
        version: packageVersion(),
        description: `Records under ${zone}, set by the boxes that own them. Present the box certificate as the TLS client certificate: its SPKI fingerprint <fp> owns <fp>.${zone} and every name under it. A, AAAA and CNAME replace the name's value; TXT records add up (up to 8). A CNAME value is a full name, its final dot optional; one label alone (local) is refused as ambiguous (cname_target_ambiguous): write local.<fp>.${zone}, or local. for the top-level name. Paths name a record by its labels reversed (Mozilla's convention): /v1/dns/${zone.split('.').reverse().join('/')}/<fp>/local is local.<fp>.${zone}.`,
      },
      tags: [{ name: 'dns', description: 'records of a box' }],
    },
  });
  app.get('/docs/json', { schema: { hide: true } }, async () => app.swagger());
  await app.register(rateLimit, {
    max: options.perMinute,
    timeWindow: 60_000,
    // Per address, not per certificate: anyone can make new keys, nobody many addresses. Under a
    // prefix of its own, as the counts may be the main server's store: its limit is another.
    keyGenerator: updateRateKey,
    errorResponseBuilder: (_request, context) => new RateLimitedError(Math.max(1, Math.ceil(context.ttl / 1000))),
    // Counted where the main server counts (Redis, or the ephemeral store), so the limit holds
    // across every node: in process memory, each node allowed `perMinute` on its own.
    ...sharedRateLimitOptions(options.stores, clock),
  });

  /** The record name of the path, checked to be in the caller's subtree. */
  const ownedName = (request: { boxFingerprint?: string; boxKeyRefusal?: UnauthorizedError; params: { '*': string } }): { name: string; owner: string } => {
    const owner = request.boxFingerprint;
    if (request.boxKeyRefusal) throw request.boxKeyRefusal;
    if (!owner) throw new UnauthorizedError('Present the box certificate as a TLS client certificate.', 'client_certificate_required');
    const name = nameFromReversedLabels(request.params['*']);
    const problem = nameProblem(name);
    if (problem !== undefined) throw new InvalidRequestError(`The path is not a valid DNS name (labels reversed, separated by /): ${problem}.`, undefined, 'invalid_name');
    // Outside the zone is outside the caller's subtree too: 401 as for another box's names (the
    // spec's rule), with a code of its own saying which.
    if (name === zone) throw new UnauthorizedError(`The name ${name} is the zone's apex, which belongs to the server, not to a box; this certificate owns only ${owner}.${zone} and the names under it.`, 'name_outside_zone');
    if (!inZone(name, zone)) throw new UnauthorizedError(`The name ${name} is not under the zone ${zone}; this certificate owns only ${owner}.${zone} and the names under it.`, 'name_outside_zone');
    if (ownerOf(name, zone) !== owner) throw new UnauthorizedError(`The name ${name} is not this box's: this certificate owns only ${owner}.${zone} and the names under it.`, 'not_owner');
    return { name, owner };
  };
  const view = (r: { name: string; type: string; value: string; ttl: number }) => ({ name: r.name, type: r.type, value: r.value, ttl: r.ttl });

  app.get('/v1/dns/*', {
    schemaErrorFormatter: updateValidationError,
    schema: { tags: ['dns'], summary: 'List the records at this name and under it.', params: PathParams, querystring: NoQuery, response: { 200: Answers.list, 400: Answers.list400, 401: Answers.unauthorized } },
  }, async (request) => {
    const { name, owner } = ownedName(request);
    const all = await records.ofOwner(owner);
    return { records: all.filter((r) => r.name === name || r.name.endsWith(`.${name}`)).map(view) };
  });

  app.post('/v1/dns/*', {
    schemaErrorFormatter: updateValidationError,
    schema: { tags: ['dns'], summary: 'Set a record at this name (A, AAAA and CNAME replace the value there; TXT records add up).', params: PathParams, querystring: NoQuery, body: RecordBody, response: { 200: Answers.written, 400: Answers.put400, 401: Answers.unauthorized } },
  }, async (request) => {
    const { name, owner } = ownedName(request);
    const { type } = request.body;
    const ttl = request.body.ttl ?? options.defaultTtl;
    if (ttl < options.minTtl) throw new InvalidRequestError(`The TTL must be at least ${options.minTtl} s.`, undefined, 'invalid_ttl');
    const value = recordValue(zone, name, type, request.body.value);
    // Checked inside the write, on the rows as they are after its locks (`DnsRecords.put`): checked
    // before it, on a node's cached look-ups, two nodes let a CNAME in beside an A record and a
    // burst through the caps.
    const written = await records.put({ name, type, value, ttl, owner, network: request.clientNetwork }, clock.now(), async (held) => {
      await checkRecordFits(held, zone, name, type, value);
      const ofOwner = await held.ofOwner(owner);
      const replaces = ofOwner.some((r) => r.name === name && r.type === type && (type !== 'TXT' || r.value === value));
      if (!replaces && ofOwner.length >= options.maxRecordsPerBox) {
        throw new InvalidRequestError(`A box holds at most ${options.maxRecordsPerBox} records.`, undefined, 'too_many_records');
      }
      // Keys are free, so the cap per box bounds nothing alone: the records written from one network
      // are capped too. A record replaced in place adds nothing to the network it was written from,
      // so a box may always update its own there; written from another network, it moves to that
      // one (the row keeps where it was last written from) and counts there like a new one. Exempt
      // too, two networks held any number: one wrote up to the cap, the other rewrote those records
      // to take them over unchecked, and the first had its whole cap again.
      const replacesHere = replaces && (await held.writtenFrom(request.clientNetwork, name, type, type === 'TXT' ? value : undefined));
      if (!replacesHere && (await held.countFromNetwork(request.clientNetwork)) >= options.maxRecordsPerNetwork) {
        const expiry = options.recordLifetimeDays ? `, or wait: a record not written again for ${options.recordLifetimeDays} days is removed` : '';
        throw new InvalidRequestError(`The boxes of this network hold ${options.maxRecordsPerNetwork} records, the most they may; delete some first${expiry}.`, undefined, 'too_many_records_from_network');
      }
    });
    return view(written);
  });

  app.delete('/v1/dns/*', {
    schemaErrorFormatter: updateValidationError,
    schema: { tags: ['dns'], summary: 'Remove the records at this name (of a type, or with a value, when given).', params: PathParams, querystring: DeleteQuery, response: { 200: Answers.deleted, 400: Answers.delete400, 401: Answers.unauthorized } },
  }, async (request) => {
    const { name } = ownedName(request);
    const filter = { ...(request.query.type ? { type: request.query.type } : {}), ...(request.query.value !== undefined ? { value: request.query.value } : {}) };
    return { deleted: await records.remove(name, filter, clock.now()) };
  });

  options.extraRoutes?.(app as unknown as FastifyInstance);

  limitUpdateConnections(app.server, options.maxConnections ?? DEFAULT_UPDATE_MAX_CONNECTIONS, options.logger, options.countRefused);
  await app.listen({ host: options.host, port: options.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return { url: `https://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`, port, close: () => app.close() };
}
