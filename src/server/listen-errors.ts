import { InvalidRequestError } from '../core/errors.js';

/**
 * A listener that could not start (Node's `listen EADDRINUSE: address already in use ...`) told in
 * words, with what to change. The HTTP server (`pairgate serve`) and the DNS door's listeners (DNS
 * over UDP and TCP, the update API) fail the same ways, so they share these words; each says which
 * of its settings moves it.
 */

/** The listener that failed and the settings that move it, named as the person changes them. */
export interface Listener {
  /** Its address as configured; by default the one the error names. */
  host?: string;
  /** Its port as configured (0: any free one); by default the one the error names. */
  port?: number;
  /** What listens there, when the server has several listeners (e.g. 'DNS (UDP and TCP)'). */
  purpose?: string;
  /** The setting of its port, e.g. `PAIRGATE_DNS_PORT`. */
  portSetting: string;
  /** The setting of its address, e.g. `PAIRGATE_DNS_HOST`. */
  hostSetting: string;
}

/** The HTTP server's listener: `serve`'s flags, or the keys behind them. */
export const HTTP_LISTENER: Listener = { portSetting: 'serve --port or PAIRGATE_PORT', hostSetting: 'serve --host or PAIRGATE_HOST' };

/** Node's error of a listener that failed, as far as explaining it goes. */
interface SystemError {
  code?: unknown;
  syscall?: unknown;
  address?: unknown;
  port?: unknown;
  hostname?: unknown;
}

/** What the words of one failure are made of. */
interface Failure {
  host: string;
  port: number;
  listener: Listener;
}

/** The privileged ports: below 1024, binding needs root or CAP_NET_BIND_SERVICE on Linux. */
const FIRST_UNPRIVILEGED_PORT = 1024;

const ADVICE: Record<string, { code: string; words: (failure: Failure) => string }> = {
  EADDRINUSE: {
    code: 'address_in_use',
    words: ({ port, listener }) =>
      `another program already does (another pairgate?${port === 53 ? ' On port 53, often a DNS server of this machine such as systemd-resolved.' : ''}). ` +
      `Stop it, or choose another port with ${listener.portSetting} (0 picks a free one).`,
  },
  EACCES: {
    code: 'listen_not_permitted',
    words: ({ port, listener }) =>
      port > 0 && port < FIRST_UNPRIVILEGED_PORT
        ? `ports below ${FIRST_UNPRIVILEGED_PORT} need root or the CAP_NET_BIND_SERVICE capability, which this process lacks. ` +
          `Choose a port from ${FIRST_UNPRIVILEGED_PORT} up with ${listener.portSetting}, or give the service the capability ` +
          '(AmbientCapabilities=CAP_NET_BIND_SERVICE in its systemd unit, as contrib/systemd/pairgate.service shows).'
        : `the system does not let this process listen there (a security policy such as SELinux?). Choose another port with ${listener.portSetting}.`,
  },
  EADDRNOTAVAIL: {
    code: 'address_not_available',
    words: ({ host, listener }) => `${host} is not an address of this machine. Give one of its addresses with ${listener.hostSetting} (0.0.0.0 for all of them).`,
  },
  EAFNOSUPPORT: {
    code: 'address_not_available',
    words: ({ host, listener }) =>
      `this machine does not support ${host.includes(':') ? 'IPv6' : 'this kind of'} address. Give one of its addresses with ${listener.hostSetting} (0.0.0.0 for all of them).`,
  },
  ENOTFOUND: {
    code: 'address_not_available',
    words: ({ host, listener }) => `${host} is not a name this machine can look up. Give one of its addresses with ${listener.hostSetting} (0.0.0.0 for all of them).`,
  },
  // The look-up refused the name itself (a label over 63 characters, say): it was Node's bare
  // "getaddrinfo EINVAL <host>", exit 1.
  EINVAL: {
    code: 'address_not_available',
    words: ({ host, listener }) => `${host} is not an address or a host name (each part of a name has at most 63 characters). Give one of this machine's addresses with ${listener.hostSetting} (0.0.0.0 for all of them).`,
  },
  EAI_AGAIN: {
    code: 'address_not_available',
    words: ({ host, listener }) => `the name servers did not answer a look-up of ${host}. Try again, or give one of this machine's addresses with ${listener.hostSetting} (0.0.0.0 for all of them), which needs no look-up.`,
  },
};

/** The system calls of starting a listener, which tell a listen failure from any other (a data folder's EACCES, say). */
const LISTEN_CALLS = new Set(['listen', 'bind']);

/** `host:port`, IPv6 addresses in brackets; the host alone for port 0 (no port was chosen yet). */
function placeOf(host: string, port: number): string {
  const bracketed = host.includes(':') ? `[${host}]` : host;
  return port > 0 ? `${bracketed}:${port}` : bracketed;
}

/**
 * The error to report for `error`: a listener that could not start explained, with a machine code
 * (`address_in_use`, `listen_not_permitted`, `address_not_available`; status 400, so `serve` exits
 * 2: the operator changes a setting), anything else as it is (an error explained already too).
 *
 * With `listener`, the caller vouches that `error` came from starting it, and names the settings
 * to change; without, only an error of a `listen` or `bind` call is explained, as the HTTP
 * server's (`HTTP_LISTENER`).
 */
export function explainListenError(error: unknown, listener?: Listener): unknown {
  const e = (typeof error === 'object' && error !== null ? error : {}) as SystemError;
  if (typeof e.code !== 'string' || !(e.code in ADVICE)) return error;
  if (!listener && !LISTEN_CALLS.has(String(e.syscall))) return error;
  const chosen = listener ?? HTTP_LISTENER;
  // A host of hundreds of characters (EINVAL) would fill the terminal twice: its start names it.
  const given = chosen.host ?? String(e.address ?? e.hostname ?? '');
  const host = given.length > 80 ? `${given.slice(0, 77)}...` : given;
  const port = chosen.port ?? (typeof e.port === 'number' ? e.port : 0);
  const advice = ADVICE[e.code]!;
  const where = `${placeOf(host, port)}${chosen.purpose ? ` for ${chosen.purpose}` : ''}`;
  return new InvalidRequestError(`cannot listen on ${where}: ${advice.words({ host, port, listener: chosen })}`, undefined, advice.code);
}
