import { connect } from 'node:net';
import { Writable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { UnavailableError } from '../../src/core/errors.js';
import { sendError } from '../../src/server/error-handler.js';
import { loggerOptions } from '../../src/server/logger.js';
import { useListeningApp } from '../helpers/app.js';

/** A logger with the server's options (redaction included), writing to `lines`. */
function capturingLogger(lines: string[]) {
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return pino(loggerOptions('info'), stream);
}

/** A reply that records what is sent. */
function recordingReply() {
  const sent: { status?: number; body?: unknown } = {};
  const reply = {
    header: () => reply,
    headers: () => reply,
    code(status: number) {
      sent.status = status;
      return reply;
    },
    type: () => reply,
    send(body: unknown) {
      sent.body = body;
      return reply;
    },
  };
  return { reply: reply as unknown as FastifyReply, sent };
}

describe('the warning of a 5xx answer', () => {
  it('names the machine code, which redaction keeps (a field named `code` is redacted as a pairing code)', () => {
    const lines: string[] = [];
    const request = { log: capturingLogger(lines), routeOptions: { config: {} }, headers: {} } as unknown as FastifyRequest;
    const { reply, sent } = recordingReply();
    sendError(request, reply, new UnavailableError('A backing store is unreachable. Try again shortly.', 'store_unavailable'));
    expect(sent.status).toBe(503);
    const logged = JSON.parse(lines.join('')) as Record<string, unknown>;
    expect(logged).toMatchObject({ level: 40, errorCode: 'store_unavailable', msg: 'A backing store is unreachable. Try again shortly.' });
  });
});

describe('the warning of a store failure answered 503', () => {
  it('keeps the cause the client is not told, with its code (a full disk here)', () => {
    const lines: string[] = [];
    const request = { log: capturingLogger(lines), routeOptions: { config: {} }, headers: {} } as unknown as FastifyRequest;
    const { reply, sent } = recordingReply();
    sendError(request, reply, Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' }));
    expect(sent.status).toBe(503);
    expect(JSON.stringify(sent.body)).not.toContain('disk is full');
    const logged = JSON.parse(lines.join('')) as { errorCode?: string; err?: { message?: string; errorCode?: string } };
    expect(logged).toMatchObject({ errorCode: 'store_unavailable', err: { message: 'database or disk is full', errorCode: 'SQLITE_FULL' } });
  });
});

describe('the warnings of a store that keeps failing', () => {
  it('are written once per cause and server in a window, not once per request', () => {
    const lines: string[] = [];
    const log = capturingLogger(lines);
    const [server, other] = [{}, {}];
    const full = () => Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
    for (let i = 0; i < 50; i++) {
      const { reply, sent } = recordingReply();
      sendError({ log, server, routeOptions: { config: {} }, headers: {} } as unknown as FastifyRequest, reply, full());
      expect(sent.status).toBe(503);
    }
    expect(lines).toHaveLength(1);
    // Another cause, and another server in the same process, each have a line of their own.
    sendError({ log, server, routeOptions: { config: {} }, headers: {} } as unknown as FastifyRequest, recordingReply().reply, Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }));
    sendError({ log, server: other, routeOptions: { config: {} }, headers: {} } as unknown as FastifyRequest, recordingReply().reply, full());
    expect(lines).toHaveLength(3);
    expect(lines.map((line) => (JSON.parse(line) as { err?: { errorCode?: string } }).err?.errorCode)).toEqual(['SQLITE_FULL', 'ECONNREFUSED', 'SQLITE_FULL']);
  });
});

describe('a request whose client closes the connection while sending its body', () => {
  const server = useListeningApp();

  it('is not logged as a backing store down (any client could set off that alarm at will)', async () => {
    const { port } = new URL(server.base);
    for (const path of ['/api/v1/grants', '/account/signin']) {
      await new Promise<void>((resolve) => {
        const socket = connect(Number(port), '127.0.0.1', () => {
          socket.write(`POST ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{"label"`);
          setTimeout(() => socket.destroy(), 100);
        });
        socket.on('close', () => resolve());
      });
    }
    await new Promise((resolve) => setTimeout(resolve, 200)); // the server sees the close and logs
    const logs = server.t.logs.join('');
    expect(logs).not.toContain('store_unavailable');
    expect(logs).not.toContain('backing store');
    // The server is as it was.
    expect((await fetch(`${server.base}/healthz`)).status).toBe(200);
  });
});
