import { STATUS_CODES } from 'node:http';
import { API_SECURITY_HEADERS } from './security-headers.js';

/**
 * A whole HTTP/1.1 answer of `status` with the JSON `body`, as text to write on a socket that no
 * reply object serves (a request Node could not read, an upgrade no route takes), with the headers
 * of every machine answer and `headers` (Retry-After, say); the connection is closed after it.
 */
export function rawJsonAnswer(status: number, body: unknown, headers: Readonly<Record<string, string>> = {}): string {
  const text = JSON.stringify(body);
  return [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}`,
    'connection: close',
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
    'content-type: application/json; charset=utf-8',
    ...Object.entries(API_SECURITY_HEADERS).map(([name, value]) => `${name}: ${value}`),
    `content-length: ${Buffer.byteLength(text)}`,
    '',
    text,
  ].join('\r\n');
}
