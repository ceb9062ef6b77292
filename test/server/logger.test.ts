import pino from 'pino';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { LazyRequestLogger, loggerOptions, RequestLineController } from '../../src/server/logger.js';
import { createTestApp, type TestApp } from '../helpers/app.js';

function sink(): { lines: () => Record<string, unknown>[]; stream: Writable } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  return { stream, lines: () => chunks.join('').trim().split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>) };
}

describe('LazyRequestLogger', () => {
  it('binds the request id and keeps redaction when a line is written', () => {
    const out = sink();
    const parent = pino(loggerOptions('info'), out.stream);
    const logger = new LazyRequestLogger(parent, { reqId: 'req-7' }, {});
    logger.warn({ token: 'hunter2', note: 'kept' }, 'something odd');
    const [line] = out.lines();
    expect(line).toMatchObject({ reqId: 'req-7', msg: 'something odd', note: 'kept', token: '[redacted]', level: 40 });
  });

  it('builds no child logger for lines below the level, and one child for all lines above it', () => {
    const out = sink();
    const parent = pino(loggerOptions('warn'), out.stream);
    const child = vi.spyOn(parent, 'child');
    const logger = new LazyRequestLogger(parent, { reqId: 'req-8' }, {});
    logger.info('not written');
    logger.debug('not written');
    expect(child).not.toHaveBeenCalled();
    logger.error('one');
    logger.warn('two');
    expect(child).toHaveBeenCalledTimes(1);
    expect(out.lines().map((line) => [line.msg, line.reqId])).toEqual([['one', 'req-8'], ['two', 'req-8']]);
  });
});

describe('RequestLineController', () => {
  function request(): { log: { info: ReturnType<typeof vi.fn>; error: ReturnType<typeof vi.fn> }; elapsedTime: number } {
    return { log: { info: vi.fn(), error: vi.fn() }, elapsedTime: 1.5 };
  }

  it('skips the two info lines of every request when the level is above info', () => {
    const quiet = new RequestLineController('warn');
    const r = request();
    quiet.incomingRequest(r as never, r as never);
    quiet.requestCompleted(null, r as never, r as never);
    expect(r.log.info).not.toHaveBeenCalled();
  });

  it('still logs a request that errored, at error, above info', () => {
    const quiet = new RequestLineController('error');
    const r = request();
    quiet.requestCompleted(new Error('socket hang up'), r as never, r as never);
    expect(r.log.error).toHaveBeenCalledTimes(1);
    expect(r.log.error.mock.calls[0]![1]).toBe('request errored');
  });

  it('writes both lines at info and finer', () => {
    for (const level of ['info', 'debug', 'trace']) {
      const r = request();
      const chatty = new RequestLineController(level);
      chatty.incomingRequest(r as never, r as never);
      chatty.requestCompleted(null, r as never, r as never);
      expect(r.log.info.mock.calls.map((call) => call[1])).toEqual(['incoming request', 'request completed']);
    }
  });
});

describe('request logs of the server', () => {
  let t: TestApp;
  afterEach(() => t.close());

  it('log each request by route pattern with its request id, code and secret left out', async () => {
    t = await createTestApp();
    const created = (await t.app.inject({ method: 'POST', url: '/api/v1/grants', payload: { label: 'logged' } })).json<{ code: string; secret: string }>();
    await t.app.inject(`/api/v1/codes/${created.code}`);
    const lines = t.logs.join('').trim().split('\n').map((line) => JSON.parse(line) as { reqId?: string; req?: { route?: string }; msg?: string });
    const incoming = lines.find((line) => line.req?.route === '/api/v1/codes/:code');
    expect(incoming?.reqId).toMatch(/^req-/);
    const text = t.logs.join('');
    expect(text).not.toContain(created.code);
    expect(text).not.toContain(created.secret);
    // The completion line carries the same request id as the incoming one.
    expect(lines.filter((line) => line.reqId === incoming?.reqId).map((line) => line.msg)).toEqual(['incoming request', 'request completed']);
  });
});

describe('request loggers of the server', () => {
  let t: TestApp;
  afterEach(() => t.close());

  it('are lazy: a request that writes no line builds no pino child', async () => {
    t = await createTestApp({ PAIRGATE_LOG_LEVEL: 'warn' });
    const pinoChild = vi.spyOn(Object.getPrototypeOf(t.app.log) as { child: () => unknown }, 'child');
    expect(t.app.log.child({ reqId: 'req-x' })).toBeInstanceOf(LazyRequestLogger);
    expect((await t.app.inject({ method: 'POST', url: '/api/v1/grants', payload: { label: 'quiet' } })).statusCode).toBe(201);
    expect(pinoChild).not.toHaveBeenCalled();
    // The not-found handler's requests get the same lazy loggers.
    expect((await t.app.inject('/no/such/route')).statusCode).toBe(404);
    expect(pinoChild).not.toHaveBeenCalled();
    pinoChild.mockRestore();
  });
});

describe('logged errors', () => {
  it('keep a system or library error code as errorCode, while code fields stay redacted', () => {
    const out = sink();
    const logger = pino(loggerOptions('info'), out.stream);
    const disk = Object.assign(new Error('write failed'), { code: 'ENOSPC' });
    logger.error({ err: disk }, 'backup failed');
    const [line] = out.lines() as [{ err: { errorCode?: string; code?: string; message: string } }];
    expect(line.err).toMatchObject({ errorCode: 'ENOSPC', code: '[redacted]', message: 'write failed' });
  });

  it('never copy a code that could be a user code', () => {
    const out = sink();
    const logger = pino(loggerOptions('info'), out.stream);
    for (const code of ['BCDF-GHJK', 'BCDFGHJK', 'k3m9-x2pq', '482913']) logger.error({ err: Object.assign(new Error('x'), { code }) }, 'odd');
    const text = out.lines().map((line) => JSON.stringify(line)).join('\n');
    expect(text).not.toContain('errorCode');
    for (const code of ['BCDF-GHJK', 'BCDFGHJK', 'k3m9-x2pq', '482913']) expect(text).not.toContain(code);
  });
});
