import { maxHeaderSize } from 'node:http';
import type { Server } from 'node:http';
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

/**
 * 414 `uri_too_long`: a request line over Node's header limit by itself, which RFC 9112 3 makes a
 * 414 (the same code as the router's refusal of a path part too long for it).
 */
export function requestLineTooLongRefusal(): PairgateError {
  return new PairgateError('uri_too_long', 414, 'This address is too long (16 KiB at most, with the headers): shorten it, and send data in a request body rather than in the address.');
}

/** The start of a request line: a method (a token) and a space. */
const REQUEST_LINE_START = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+ /;

/**
 * Whether Node's header overflow is the request line's alone: the bytes the parser was reading
 * (`rawPacket`) start a request and reach the limit before the line ends. Node counts the request
 * line with the headers and reports both as HPE_HEADER_OVERFLOW. A line that came in several
 * packets is not seen whole, and stays a 431: never a 414 for headers that are too large.
 */
function requestLineOverflows(packet: unknown, limit: number): boolean {
  if (!Buffer.isBuffer(packet) || packet.length < limit) return false;
  if (!REQUEST_LINE_START.test(packet.subarray(0, 32).toString('latin1'))) return false;
  const lineEnd = packet.indexOf('\n');
  return lineEnd < 0 || lineEnd >= limit;
}

/** What Node's HTTP parser reported, by the code of its error: the status and pairgate's words. */
function refusalOf(error: NodeJS.ErrnoException & { reason?: string; rawPacket?: unknown }, limit: number): PairgateError {
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') return requestTimeoutRefusal();
  if (error.code === 'HPE_HEADER_OVERFLOW') return requestLineOverflows(error.rawPacket, limit) ? requestLineTooLongRefusal() : headersTooLargeRefusal();
  // The parser's reason names the rule broken ("Invalid method encountered"), never the bytes sent.
  const reason = typeof error.reason === 'string' && error.reason ? `: ${error.reason.replace(/\.$/, '')}` : '';
  return new PairgateError('malformed_request', 400, `This request is not valid HTTP/1.1${reason}. Check the method, the address (ASCII only, other characters percent-encoded) and the headers.`);
}

/**
 * Fastify's `clientErrorHandler`: a request Node's HTTP parser could not read (an unknown method,
 * bytes outside ASCII in the address, a bad Content-Length, headers over the limit) or did not
 * receive in time is answered in pairgate's shape, with a stable code (`malformed_request`,
 * `headers_too_large`, `uri_too_long` for a request line over the limit alone, `request_timeout`) and the headers of every machine answer, where Fastify's
 * own answer had neither. No route has read it, so no door's shape applies. A connection already
 * gone gets nothing.
 */
export function clientErrorHandler(this: FastifyInstance, error: NodeJS.ErrnoException, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  // The limit the server was made with (Node's own option), else the process's (--max-http-header-size).
  const refusal = refusalOf(error, (this.server as { maxHeaderSize?: number } | undefined)?.maxHeaderSize ?? maxHeaderSize);
  // The code and the parser's reason only: Node's error carries the raw bytes received
  // (`rawPacket`: the address with any code in it, Authorization, cookies), which no redaction path
  // covers.
  // (`code` would be redacted as a grant's code is: `parserCode`.)
  this.log.debug({ parserCode: error.code, parserReason: (error as { reason?: unknown }).reason }, `client error: ${refusal.code}`);
  if (socket.writable) socket.write(rawJsonAnswer(refusal.status, pairgateErrorShape(refusal)));
  socket.destroy();
}

/**
 * 417 `expectation_failed`: an `Expect` header other than `100-continue`, the one expectation
 * HTTP/1.1 defines (RFC 9110 10.1.1).
 */
export function expectationRefusal(): PairgateError {
  return new PairgateError('expectation_failed', 417, 'This server meets no expectation but "Expect: 100-continue": send the request without the Expect header, or with that one.');
}

/**
 * Answers a request whose `Expect` header Node does not meet itself (anything but `100-continue`)
 * in pairgate's shape, with the machine headers, and closes the connection (the body the client
 * held back may follow). Node's own answer was an empty chunked 417 with none of them, and it
 * reached no route nor hook.
 */
export function installExpectationRefusal(server: Server): void {
  server.on('checkExpectation', (_request, response) => {
    const answer = rawJsonAnswer(417, pairgateErrorShape(expectationRefusal()));
    const socket = response.socket;
    // Ended, then destroyed once written: the body the client held back is not read.
    if (socket?.writable) socket.end(answer, () => socket.destroy());
    else socket?.destroy();
  });
}
