import { STATUS_CODES } from 'node:http';
import { API_SECURITY_HEADERS } from './security-headers.js';

/**
 * A whole HTTP/1.1 answer of `status` with `body` of `contentType`, as text to write on a socket
 * that no reply object serves, with `headers` (the security headers of its kind, Retry-After, say)
 * after `connection: close`: the connection is closed after it.
 */
export function rawAnswer(status: number, contentType: string, body: string, headers: Readonly<Record<string, string>>): string {
  return [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}`,
    'connection: close',
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
    `content-type: ${contentType}`,
    `content-length: ${Buffer.byteLength(body)}`,
    '',
    body,
  ].join('\r\n');
}

/**
 * A whole HTTP/1.1 answer of `status` with the JSON `body`, as text to write on a socket that no
 * reply object serves (a request Node could not read, an upgrade no route takes), with the headers
 * of every machine answer and `headers` (Retry-After, say); the connection is closed after it.
 */
export function rawJsonAnswer(status: number, body: unknown, headers: Readonly<Record<string, string>> = {}): string {
  return rawAnswer(status, 'application/json; charset=utf-8', JSON.stringify(body), { ...headers, ...API_SECURITY_HEADERS });
}
