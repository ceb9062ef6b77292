import type { Duplex } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { pairgateErrorShape } from './error-shapes.js';
import { PairgateError } from '../core/errors.js';
import { rawJsonAnswer } from './raw-answer.js';

/** 408 `request_timeout`: the request (headers and body) was not received within PAIRGATE_REQUEST_TIMEOUT_SECONDS. */
export function requestTimeoutRefusal(): PairgateError {
  return new PairgateError('request_timeout', 408, 'The request was not sent in time: send its headers and body at once, within the server\'s time limit.');
}

/** 431 `headers_too_large`: the request's headers are over Node's limit. */
export function headersTooLargeRefusal(): PairgateError {
  return new PairgateError('headers_too_large', 431, 'The request\'s headers are too large (16 KiB in all at most): send fewer or shorter ones.');
}

/** What Node's HTTP parser reported, by the code of its error: the status and pairgate's words. */
function refusalOf(error: NodeJS.ErrnoException & { reason?: string }): PairgateError {
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') return requestTimeoutRefusal();
  if (error.code === 'HPE_HEADER_OVERFLOW') return headersTooLargeRefusal();
  // The parser's reason names the rule broken ("Invalid method encountered"), never the bytes sent.
  const reason = typeof error.reason === 'string' && error.reason ? `: ${error.reason.replace(/\.$/, '')}` : '';
  return new PairgateError('malformed_request', 400, `This request is not valid HTTP/1.1${reason}. Check the method, the address (ASCII only, other characters percent-encoded) and the headers.`);
}

/**
 * Fastify's `clientErrorHandler`: a request Node's HTTP parser could not read (an unknown method,
 * bytes outside ASCII in the address, a bad Content-Length, headers over the limit) or did not
 * receive in time is answered in pairgate's shape, with a stable code (`malformed_request`,
 * `headers_too_large`, `request_timeout`) and the headers of every machine answer, where Fastify's
 * own answer had neither. No route has read it, so no door's shape applies. A connection already
 * gone gets nothing.
 */
export function clientErrorHandler(this: FastifyInstance, error: NodeJS.ErrnoException, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const refusal = refusalOf(error);
  // The code and the parser's reason only: Node's error carries the raw bytes received
  // (`rawPacket`: the address with any code in it, Authorization, cookies), which no redaction path
  // covers.
  // (`code` would be redacted as a grant's code is: `parserCode`.)
  this.log.debug({ parserCode: error.code, parserReason: (error as { reason?: unknown }).reason }, `client error: ${refusal.code}`);
  if (socket.writable) socket.write(rawJsonAnswer(refusal.status, pairgateErrorShape(refusal)));
  socket.destroy();
}
