import type { FastifyInstance } from 'fastify';
import { InvalidRequestError, PairgateError } from '../core/errors.js';

/**
 * HTTP/1.1 requests Node's parser reads but RFC 9112 refuses, answered with a stable code in the
 * route's error shape: a request without a Host header, the request target `*` with another
 * method than OPTIONS and an HTTP/1.0 request with a Transfer-Encoding (400), and a body sent in a
 * transfer coding other than chunked (501).
 */

/** Node's HTTP server option that lets a request without Host reach the app (see installRequestFraming). */
export const LET_MISSING_HOST_THROUGH = { requireHostHeader: false } as const;

/** 400 `missing_host`: an HTTP/1.1 request without a Host header (RFC 9112 §3.2). */
export class MissingHostError extends InvalidRequestError {
  constructor() {
    super('This HTTP/1.1 request has no Host header, which HTTP/1.1 requires (RFC 9112, section 3.2). Send the server\'s name and port in a Host header, as every HTTP client does.', undefined, 'missing_host');
  }
}

/** 400 `invalid_request_target`: the target `*` with a method other than OPTIONS (RFC 9112 §3.2.4). */
export class AsteriskTargetError extends InvalidRequestError {
  constructor(method: string) {
    super(`The request target "*" is only for OPTIONS (RFC 9112, section 3.2.4), not ${method}. Send a path, such as "${method} / HTTP/1.1".`, undefined, 'invalid_request_target');
  }
}

/**
 * 400 `invalid_framing`: an HTTP/1.0 request with a Transfer-Encoding header. HTTP/1.0 has no
 * transfer codings, so RFC 9112 6.1 has the framing treated as faulty and the connection closed:
 * Node reads the chunks as the body, where something in front reading HTTP/1.0's rules (the body
 * runs to the close) sees other bytes: what it checked is not what pairgate would act on.
 */
export class HttpOneZeroTransferCodingError extends InvalidRequestError {
  constructor() {
    super('This HTTP/1.0 request has a Transfer-Encoding header, which HTTP/1.0 does not have (RFC 9112, section 6.1). Send the request as HTTP/1.1, or send the body with a Content-Length.', undefined, 'invalid_framing');
  }
}

/**
 * 501 `unsupported_transfer_coding`: a body sent with a transfer coding besides chunked
 * (`Transfer-Encoding: gzip, chunked`), which RFC 9112 6.1 answers 501. Node takes the chunks off
 * and hands the rest over as it came, so the body was read compressed, as if it were the JSON.
 */
export class TransferCodingError extends PairgateError {
  constructor() {
    super('unsupported_transfer_coding', 501, 'This server reads request bodies sent as they are or in chunks only (Transfer-Encoding: chunked), never compressed in transit: send the body without another transfer coding.');
  }
}

/** A Transfer-Encoding of chunked alone, the one transfer coding Node takes off (any case, spaces around). */
const CHUNKED_ONLY = /^[ \t]*chunked[ \t]*$/i;

/**
 * Refuses, before any route's work, what RFC 9112 refuses and Node lets through:
 *
 * - an HTTP/1.1 request without Host. Node refuses it itself (`requireHostHeader`) with an empty
 *   400, no code and none of the headers of pairgate's answers, past every handler pairgate has;
 *   the server is built with LET_MISSING_HOST_THROUGH so that it is refused here instead, in the
 *   route's shape, and the connection closed as Node did. HTTP/1.0 has no Host requirement.
 * - the target `*` (asterisk-form) with any method but OPTIONS: Fastify's router read it as `/`,
 *   so `GET *` answered the home page. `OPTIONS *` keeps its answer: 204 with what `/` allows.
 * - a Transfer-Encoding other than `chunked` alone (`TransferCodingError`, 501). Node refuses the
 *   framings that are ambiguous (with Content-Length, chunked not last) itself.
 * - any Transfer-Encoding in an HTTP/1.0 request (`HttpOneZeroTransferCodingError`, 400, the
 *   connection closed): Node reads the chunks as it would in HTTP/1.1.
 *
 * All come from hand-made or broken clients, never a browser; the check is four comparisons per request.
 */
export function installRequestFraming(app: FastifyInstance): void {
  app.addHook('onRequest', (request, reply, done) => {
    const raw = request.raw;
    if (raw.url === '*' && raw.method !== 'OPTIONS') {
      done(new AsteriskTargetError(raw.method ?? 'GET'));
      return;
    }
    const transferCoding = raw.headers['transfer-encoding'];
    if (transferCoding !== undefined && raw.httpVersionMajor === 1 && raw.httpVersionMinor === 0) {
      reply.header('connection', 'close');
      done(new HttpOneZeroTransferCodingError());
      return;
    }
    if (transferCoding !== undefined && !CHUNKED_ONLY.test(transferCoding)) {
      done(new TransferCodingError());
      return;
    }
    if (raw.headers.host === undefined && raw.httpVersionMajor === 1 && raw.httpVersionMinor === 1) {
      reply.header('connection', 'close');
      done(new MissingHostError());
      return;
    }
    done();
  });
}
