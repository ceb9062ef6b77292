import { createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import type { Server } from 'node:http';
import { expect } from 'vitest';
import { PairgateApiError } from '../../src/sdk/errors.js';

/** What a call rejected with, for matching (a call that resolved fails the test). */
export async function rejection(call: Promise<unknown>): Promise<PairgateApiError> {
  const outcome = await call.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  if (!('error' in outcome)) throw new Error(`resolved with ${JSON.stringify(outcome.value)}`);
  expect(outcome.error).toBeInstanceOf(PairgateApiError);
  return outcome.error as PairgateApiError;
}

/** Listens on a free loopback port; `url` is `<scheme>://127.0.0.1:<port>`. */
export async function listening<S extends Server | TcpServer>(server: S, scheme = 'http'): Promise<{ server: S; url: string; port: number }> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { server, url: `${scheme}://127.0.0.1:${port}`, port };
}

/**
 * A TCP listener that accepts connections and never answers; `asked` holds the sockets a request
 * (any byte) came on, `closedAt` when each socket closed.
 */
export interface SilentListener {
  server: TcpServer;
  port: number;
  sockets: Socket[];
  asked: Set<Socket>;
  closedAt: Map<Socket, number>;
  close(): void;
}

/** Starts a {@link SilentListener}. */
export async function silentListener(): Promise<SilentListener> {
  const sockets: Socket[] = [];
  const closedAt = new Map<Socket, number>();
  const asked = new Set<Socket>();
  const { server, port } = await listening(
    createTcpServer((socket) => {
      sockets.push(socket);
      socket.on('data', () => asked.add(socket)).on('error', () => undefined).on('close', () => closedAt.set(socket, Date.now()));
    }),
  );
  return {
    server,
    port,
    sockets,
    asked,
    closedAt,
    close: () => {
      for (const socket of sockets) socket.destroy();
      server.close();
    },
  };
}

/**
 * Runs each call with a signal aborted 150 ms later against a listener that never answers (the
 * calls' own timeouts are 15 s): each must reject with `aborted` within a second, and every socket
 * a request came on must be closed at once (fetch may open a spare connection meanwhile: one
 * nothing was asked on does not count).
 */
export async function expectEachAbortedAtOnce(silent: SilentListener, calls: Array<[string, (signal: AbortSignal) => Promise<unknown>]>): Promise<void> {
  for (const [name, call] of calls) {
    const before = silent.asked.size;
    const started = Date.now();
    const error = await rejection(call(AbortSignal.timeout(150))).catch((caught: unknown) => {
      throw new Error(`${name}: ${String(caught)}`);
    });
    expect({ name, code: error.code, status: error.status }).toEqual({ name, code: 'aborted', status: 0 });
    const abortedAt = Date.now();
    expect(abortedAt - started, name).toBeLessThan(1_000);
    expect(silent.asked.size, `${name} sent its request`).toBeGreaterThan(before);
    const open = (): number => [...silent.asked].filter((socket) => !silent.closedAt.has(socket)).length;
    await expect.poll(open, { timeout: 500, message: `${name}'s socket closed` }).toBe(0);
  }
}
