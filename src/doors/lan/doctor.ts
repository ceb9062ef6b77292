import { randomBytes } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { readdirSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type net from 'node:net';
import { hostname, networkInterfaces } from 'node:os';
import tls from 'node:tls';
import { DEFAULT_DISCOVERY_PORT, DEFAULT_GROUP, listenForAnnouncements, MAX_NEARBY_DEVICES, MAX_NEARBY_PER_ADDRESS, startAnnouncer, type DiscoveryOptions } from './discovery.js';
import { listenTls } from './listen.js';
import { callSelf, discoverOwnAddresses, startEchoListener } from './own-ip.js';
import { sniffingServer } from './protocol-sniffer.js';
import { createTlsIdentity } from './tls-identity.js';


/**
 * The server's health URL: `/healthz` under the path it was given (a server behind a proxy under
 * `/pairgate/` has it there), its query and fragment dropped. Text appended to the URL as given
 * put `/healthz` inside a query (`https://host/?x=y/healthz`), checking the wrong page.
 */
export function healthzUrlOf(server: string): string {
  const url = new URL(server);
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/healthz`;
  url.search = '';
  url.hash = '';
  return url.href;
}
/**
 * `pairgate doctor`: network diagnostics for local pairing, after the seed's list. Every check runs
 * in series and none stops the rest: an error is caught, recorded as that check's result, logged as
 * it happens, kept in memory, and the next check runs. The report is plain data (JSON-safe) so the
 * CLI can print it and the support agent can send it.
 */

/** How a check ended. */
export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skip';

/** One check's result. */
export interface DoctorCheck {
  name: string;
  title: string;
  status: CheckStatus;
  summary: string;
  /** Facts found (addresses, interfaces, ports...). */
  details?: unknown;
  /** The error text when something threw. */
  error?: string;
  /** For a warning or a failure: what the person can try (`checkHint`). */
  hint?: string;
  durationMs: number;
}

/** The whole report. */
export interface DoctorReport {
  version: 1;
  startedAt: string;
  finishedAt: string;
  host: { hostname: string; platform: string; node: string };
  /** False when any check failed. */
  ok: boolean;
  counts: Record<CheckStatus, number>;
  checks: DoctorCheck[];
}

/** Options of the diagnostics. */
export interface DoctorOptions {
  /** Port for the test listener (default random). */
  port?: number;
  /**
   * A pairing listener that is already running (a `lan offer` answering `GET /diagnostics`): the
   * listener check reports it instead of opening a test listener, and own-IP discovery and the
   * self-reach check call it on its port, so what they find is what a joiner meets.
   */
  listener?: { port: number };
  /** Multicast options; false skips the multicast check (an offer with discovery off). */
  discovery?: DiscoveryOptions | false;
  /** How long to listen for multicast (default 1.5 s). */
  multicastWaitMs?: number;
  /** A pairgate server to check (DNS and /healthz), if configured. */
  server?: string;
  /** Longest time one check may take (default 8 s). */
  checkTimeoutMs?: number;
  /**
   * Longest time the whole report may take (default none): a check never runs past it, and the
   * checks left when it is reached are reported as skipped. A check cut short may still finish its
   * work in the background (its sockets close on their own limits).
   */
  deadlineMs?: number;
  /** Hears each check as it starts and ends. */
  log?: (line: string, check?: DoctorCheck) => void;
}

type CheckOutcome = Omit<DoctorCheck, 'name' | 'title' | 'durationMs'>;

/** One network interface, its link state and its addresses (CIDR). */
export interface InterfaceState {
  name: string;
  state: string;
  addresses: string[];
}

/** Every interface with its link state: /sys/class/net on Linux (down ones included), else the addresses Node sees. */
export function interfaceStates(): InterfaceState[] {
  const addresses = networkInterfaces();
  const byName = new Map<string, InterfaceState>();
  try {
    for (const name of readdirSync('/sys/class/net')) {
      let state = 'unknown';
      try {
        state = readFileSync(`/sys/class/net/${name}/operstate`, 'utf8').trim();
      } catch {
        // Some virtual interfaces have no operstate.
      }
      byName.set(name, { name, state, addresses: [] });
    }
  } catch {
    // Not Linux: the interfaces Node lists are the ones that are up.
  }
  for (const [name, entries] of Object.entries(addresses)) {
    const item = byName.get(name) ?? { name, state: 'up', addresses: [] };
    item.addresses = (entries ?? []).map((e) => e.cidr ?? e.address);
    byName.set(name, item);
  }
  return [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * The interfaces check. An interface that is down and has no address (ifb0, an unused bridge,
 * a cable never plugged in) is no sign of trouble when another one is up: only a down one that
 * has an address (configured for a network it is not on now) warns. All stay in the details.
 */
export function interfacesCheck(states: InterfaceState[]): CheckOutcome {
  const up = states.filter((i) => i.state === 'up' || (i.state === 'unknown' && i.addresses.length > 0));
  const down = states.filter((i) => i.state === 'down' || i.state === 'lowerlayerdown' || i.state === 'dormant');
  const usable = up.filter((i) => i.name !== 'lo' && i.addresses.some((a) => !a.startsWith('127.') && !a.startsWith('::1')));
  const names = (list: InterfaceState[]) => list.map((i) => i.name).join(', ');
  if (usable.length === 0) return { status: 'fail', summary: `no network interface besides loopback is up${down.length ? `; down: ${names(down)}` : ''}`, details: states };
  const downWithAddress = down.filter((i) => i.addresses.length > 0);
  if (downWithAddress.length) return { status: 'warn', summary: `up: ${names(usable)}; down: ${names(downWithAddress)}`, details: states };
  return { status: 'ok', summary: `up: ${names(usable)}`, details: states };
}

/**
 * What to try when a check warns or fails, by check name. A report that says only "multicast
 * discovery: received none back" leaves the person with the diagnosis and no treatment; these are
 * the usual causes on a home or office network, in the order worth checking.
 */
const HINTS: Record<string, string | ((options: DoctorOptions) => string)> = {
  interfaces: 'Connect this device to the network the other device is on (Wi-Fi or cable). An interface that is down matters only if that network is behind it.',
  'own-addresses': 'Pairing can still find this device by multicast discovery; if that fails too, check that a firewall lets incoming TCP connections reach pairgate.',
  listener: 'Choose another port with --port (or leave it out for a random one).',
  'self-reach': 'A firewall on this device drops incoming TCP connections: allow them for pairgate (a random port, or the one given with --port), or pair by multicast discovery.',
  // The group and port this run used (--discovery-group, --discovery-port), which are what to allow.
  multicast: (options) => {
    const discovery = options.discovery === false ? {} : options.discovery ?? {};
    return `Multicast does not get through: Wi-Fi "client isolation" (guest networks often have it) or a firewall dropping UDP port ${discovery.port ?? DEFAULT_DISCOVERY_PORT} (group ${discovery.group ?? DEFAULT_GROUP}). Pair by the QR code or connection string, whose addresses are dialled directly, or allow that traffic.`;
  },
  dns: 'Check the server\'s name in --server (or PAIRGATE_SERVER) and this device\'s DNS settings.',
  server: 'Check the URL given with --server (or PAIRGATE_SERVER), that the server is running (pairgate serve), and that no firewall or proxy is in the way.',
};

/** The checks that need a network: with no interface up, their trouble is that. */
const NETWORK_CHECKS = new Set(['own-addresses', 'self-reach', 'multicast', 'dns', 'server']);
const OFFLINE_HINT = 'No network interface besides loopback is up (the first check): connect this device to the network first, then run pairgate doctor again.';

/** A check that ran past its time limit. */
class CheckTimeoutError extends Error {}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => { timer = setTimeout(() => reject(new CheckTimeoutError(`did not finish within ${ms} ms`)), ms); }),
  ]);
}

/**
 * What the `server` check says when fetch refused the URL's port as unsafe (the WHATWG "bad
 * port" list: ports of other protocols, such as 1, 25, 6000): fetch's own words, "fetch failed:
 * bad port", say neither. Undefined for any other error.
 */
function badPortOutcome(url: string, error: unknown): CheckOutcome | undefined {
  if ((error as { cause?: { message?: string } }).cause?.message !== 'bad port') return undefined;
  const port = new URL(url).port;
  return {
    status: 'fail',
    summary: `not called: port ${port} is one that fetch refuses to call (it belongs to another protocol, such as SMTP or X11, so browsers and Node block it), and a pairgate server there cannot be reached by browsers either`,
    error: 'fetch failed: bad port',
    hint: `Check the port in --server (or PAIRGATE_SERVER); if the server really listens on port ${port}, run it on a usual one (443, or 8080 and the like: pairgate serve --port) and give that URL.`,
  };
}

/**
 * What the `server` check says of a redirect from `/healthz`, which a pairgate server never sends:
 * to another host, something else answered in its place (a captive portal's sign-in page, a
 * proxy), so the server was not reached (fail); to the same host (http to https, say), the URL
 * given is not the server's own (warn). The target is named by its origin only: the Location
 * header is whatever answered's, and its path or query may carry anything, escape sequences
 * included.
 */
function redirectOutcome(url: string, response: Response): CheckOutcome {
  void response.body?.cancel();
  let target: URL | undefined;
  try {
    target = new URL(response.headers.get('location') ?? '', url);
  } catch {
    target = undefined;
  }
  const where = target && /^https?:$/.test(target.protocol) ? target.origin : 'an address that is not http(s)';
  const sameHost = target !== undefined && target.hostname === new URL(url).hostname;
  return sameHost
    ? {
      status: 'warn',
      summary: `${url} answered ${response.status}, a redirect to ${where} (not followed)`,
      hint: `Give the server's own URL with --server (or PAIRGATE_SERVER), the one it redirects to (${where}).`,
    }
    : {
      status: 'fail',
      summary: `${url} answered ${response.status}, a redirect to ${where} (not followed): something else answered in the server's place, such as a Wi-Fi sign-in page or a proxy`,
      hint: 'Sign in to the network (open a web page to see its sign-in page), or check the URL given with --server (or PAIRGATE_SERVER) and that no proxy is in the way.',
    };
}

/** Runs every check, in series, and returns the report. Never throws. */
export async function runDoctor(options: DoctorOptions = {}): Promise<DoctorReport> {
  const log = options.log ?? (() => undefined);
  const checkTimeoutMs = options.checkTimeoutMs ?? 8000;
  const startedAt = new Date();
  const deadline = options.deadlineMs === undefined ? Infinity : performance.now() + options.deadlineMs;
  const checks: DoctorCheck[] = [];
  // Shared between checks; a failed earlier check leaves them empty and later checks say so.
  let ownAddresses: string[] = [];
  // The running pairing listener, or the test listener this run opens (and closes: `server`).
  let listener: { server?: net.Server; port: number } | undefined = options.listener ? { port: options.listener.port } : undefined;
  // Set once the report is made: a check cut short by its time limit goes on in the background, and
  // a test listener it opens after that is closed at once (the report's end closes only one it saw).
  let reported = false;

  const run = async (name: string, title: string, body: () => Promise<CheckOutcome>) => {
    const started = performance.now();
    const left = deadline - started;
    let outcome: CheckOutcome;
    if (left <= 0) {
      outcome = { status: 'skip', summary: `not run: the report's time limit (${options.deadlineMs} ms) was reached` };
      checks.push({ name, title, ...outcome, durationMs: 0 });
      log(`[skip] ${title}: ${outcome.summary}`, checks[checks.length - 1]);
      return;
    }
    log(`checking ${title}...`);
    try {
      outcome = await withTimeout(body(), Math.round(Math.min(checkTimeoutMs, left)));
    } catch (error) {
      // fetch hides the socket error in `cause`; the person needs it.
      const cause = (error as { cause?: { message?: string } }).cause?.message;
      // The line already starts with the check's title ("DNS: ..."): the summary says what
      // happened to it, the error below says why, and neither repeats the title.
      const summary = error instanceof CheckTimeoutError ? 'cut short by its time limit' : 'could not be completed (error below)';
      outcome = { status: 'fail', summary, error: `${(error as Error).message || String(error)}${cause ? `: ${cause}` : ''}` };
    }
    // A check that knows better what to try (a refused port) says so; with no network at all, that
    // is the cause of what fails after (not a firewall, not client isolation); else the check's own hint.
    const troubled = outcome.status === 'warn' || outcome.status === 'fail';
    const offline = troubled && name !== 'interfaces' && checks.find((c) => c.name === 'interfaces')?.status === 'fail' && NETWORK_CHECKS.has(name);
    const hintOf = outcome.hint ?? (offline ? OFFLINE_HINT : troubled ? HINTS[name] : undefined);
    const hint = typeof hintOf === 'function' ? hintOf(options) : hintOf;
    const check: DoctorCheck = { name, title, ...outcome, ...(hint ? { hint } : {}), durationMs: Math.round(performance.now() - started) };
    checks.push(check);
    log(`[${check.status}] ${title}: ${check.summary}${check.error ? ` (${check.error})` : ''}`, check);
  };

  await run('interfaces', 'network interfaces', async () => interfacesCheck(interfaceStates()));

  await run('own-addresses', 'own IP addresses', async () => {
    const report = await discoverOwnAddresses({ log: (line) => log(`  ${line}`), ...(listener ? { listenerPort: listener.port } : {}) });
    ownAddresses = report.addresses;
    if (report.addresses.length) return { status: 'ok', summary: report.addresses.join(', '), details: report.stages };
    return { status: 'warn', summary: 'no address could be confirmed; pairing has to rely on multicast discovery', details: report.stages };
  });

  await run('listener', 'pairing listener port', async () => {
    if (listener) return { status: 'ok', summary: `the pairing listener is running on port ${listener.port}`, details: { port: listener.port, running: true } };
    const identity = await createTlsIdentity('pairgate doctor', 600);
    // A short handshake timeout: a handshake left hanging on this port must not hold it past the run.
    const tlsServer = tls.createServer({ key: identity.keyPem, cert: identity.certPem, minVersion: 'TLSv1.2', handshakeTimeout: 5000 }, (socket) => socket.end());
    // Fronted like an offer's port, so the self-reach check below calls this port, not another one.
    const server = sniffingServer(tlsServer, () => ({ doctor: 'test listener' }));
    const port = await listenTls(server, options.port ?? 0);
    if (reported) {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      return { status: 'fail', summary: 'opened the test listener after the report was made, and closed it again' };
    }
    listener = { server, port };
    return { status: 'ok', summary: `a TLS listener can listen on port ${port} (all addresses)`, details: { port } };
  });

  await run('self-reach', 'reaching own addresses', async () => {
    const targets = ownAddresses.length ? ownAddresses : interfaceStates().flatMap((i) => i.addresses.map((a) => a.split('/')[0]!)).filter((a) => !a.startsWith('127.') && a !== '::1' && !a.startsWith('fe80'));
    if (targets.length === 0) return { status: 'fail', summary: 'there is no own address to call' };
    // The listener's own port when there is one (a firewall rule on it shows), else an echo listener.
    const echo = listener ? undefined : await startEchoListener();
    const port = listener?.port ?? echo!.port;
    try {
      const results = await Promise.all(targets.map(async (address) => ({ address, problem: await callSelf(address, port, 1500) })));
      const reached = results.filter((r) => !r.problem);
      const details = { port, listenerPort: listener?.port, results };
      if (reached.length === targets.length) return { status: 'ok', summary: `reached ${reached.map((r) => r.address).join(', ')}`, details };
      if (reached.length > 0) return { status: 'warn', summary: `reached ${reached.length} of ${targets.length} addresses`, details };
      return { status: 'fail', summary: `could not reach any own address (${results.map((r) => `${r.address}: ${r.problem}`).join('; ')})`, details };
    } finally {
      await echo?.close();
    }
  });

  await run('multicast', 'multicast discovery (find and be found)', async () => {
    if (options.discovery === false) return { status: 'skip', summary: 'multicast discovery is off for this listener' };
    const discovery = { ...options.discovery };
    const group = discovery.group ?? DEFAULT_GROUP;
    const port = discovery.port ?? DEFAULT_DISCOVERY_PORT;
    const secret = randomBytes(32);
    const deviceId = randomBytes(16).toString('base64url');
    // Other devices heard, once each (a device announces every 250 ms or so) and bounded as
    // `lan nearby` bounds them: anyone on the network can send plain announcements as fast as the
    // link carries them, each with a made-up id, and every one was kept (in memory, then in the
    // report a `--json` run prints and the support agent sends).
    const heard = new Map<string, { address: string; deviceId: string; name?: string; authenticated: boolean }>();
    const heardPerAddress = new Map<string, number>();
    let othersDropped = 0;
    let ownEcho = false;
    // Each socket opened is closed whatever fails after it: a second listener or the announcer that
    // could not start left the ones before it open, and the process with them.
    const opened: { stop(): Promise<void> }[] = [];
    let sent = 0;
    let sendErrors: string[] = [];
    let membershipErrors: unknown;
    try {
      const receiver = await listenForAnnouncements({
        ...discovery,
        onAnnouncement: (a) => {
          if (a.deviceId === deviceId) return;
          const key = `${a.deviceId}@${a.address}`;
          if (!heard.has(key)) {
            const fromAddress = heardPerAddress.get(a.address) ?? 0;
            if (heard.size >= MAX_NEARBY_DEVICES || fromAddress >= MAX_NEARBY_PER_ADDRESS) {
              othersDropped++;
              return;
            }
            heardPerAddress.set(a.address, fromAddress + 1);
          }
          heard.set(key, { address: a.address, deviceId: a.deviceId, ...(a.name ? { name: a.name } : {}), authenticated: a.authenticated });
        },
      });
      opened.push(receiver);
      membershipErrors = receiver.errors;
      opened.push(await listenForAnnouncements({ ...discovery, secret, onAnnouncement: (a) => { if (a.deviceId === deviceId) ownEcho = true; } }));
      const announcer = await startAnnouncer({ ...discovery, announcement: { deviceId, port: listener?.port ?? 1 }, secret, intervalMs: 250 });
      opened.push(announcer);
      await new Promise((resolve) => setTimeout(resolve, options.multicastWaitMs ?? 1500));
      sent = announcer.sent();
      sendErrors = announcer.errors();
    } finally {
      for (const socket of opened.reverse()) await socket.stop().catch(() => undefined);
    }
    const others = [...heard.values()];
    // A device announces every 250 ms or so: counted once, whatever it sent in the wait.
    const otherDevices = new Set(others.map((h) => h.deviceId)).size;
    const details = { group, port, sent, sendErrors, membershipErrors, ownAnnouncementReceived: ownEcho, othersHeard: others, otherDevices, ...(othersDropped ? { othersDropped } : {}) };
    if (!ownEcho) return { status: 'fail', summary: `sent ${sent} announcements but received none of them back${sendErrors.length ? `: ${sendErrors.join('; ')}` : ''}`, details };
    if (otherDevices > 0) return { status: 'ok', summary: `can send and receive on ${group}:${port}; heard ${otherDevices} other device${otherDevices === 1 ? '' : 's'}`, details };
    // This device's own copy comes back through the machine itself, not the network: alone, it
    // does not show that the network carries multicast (client isolation drops it between devices).
    return { status: 'ok', summary: `can send and receive on ${group}:${port} on this device, but heard no other device: whether the network carries multicast between devices shows only while another one announces (run this while the other device runs pairgate lan offer)`, details };
  });

  const server = options.server;
  // The report is made to be shared (the support agent sends it): a URL with a password in it is
  // neither called (fetch refuses it, quoting it whole in its error) nor repeated.
  const withCredentials = server !== undefined && hasUserinfo(server);
  await run('dns', 'DNS', async () => {
    if (!server) return { status: 'skip', summary: 'no pairgate server configured' };
    if (withCredentials) return { status: 'fail', summary: CREDENTIALS };
    const host = new URL(server).hostname.replace(/^\[|\]$/g, '');
    // An IP address is not looked up: "127.0.0.1 resolves to 127.0.0.1" would check nothing.
    if (isIP(host)) return { status: 'skip', summary: `not needed: the server is given by its IP address (${host}), which is not looked up` };
    const found = await lookup(host, { all: true });
    return { status: 'ok', summary: `${host} resolves to ${found.map((f) => f.address).join(', ')}`, details: found };
  });

  await run('server', 'pairgate server reachability', async () => {
    if (!server) return { status: 'skip', summary: 'no pairgate server configured' };
    if (withCredentials) return { status: 'fail', summary: CREDENTIALS };
    const url = healthzUrlOf(server);
    let response: Response;
    try {
      // Not followed: a captive portal or a proxy answering in the server's place redirects to
      // its own page, whose 200 read as the server's health ("answered 200" for a server never
      // reached).
      response = await fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(Math.min(checkTimeoutMs, 5000)) });
    } catch (error) {
      const refused = badPortOutcome(url, error);
      if (refused) return refused;
      throw error;
    }
    if (response.status >= 300 && response.status < 400) return redirectOutcome(url, response);
    if (!response.ok) return { status: 'fail', summary: `${url} answered ${response.status}` };
    return { status: 'ok', summary: `${url} answered ${response.status}` };
  });

  reported = true;
  const opened = listener?.server;
  if (opened) await new Promise<void>((resolve) => opened.close(() => resolve()));

  const counts: Record<CheckStatus, number> = { ok: 0, warn: 0, fail: 0, skip: 0 };
  for (const check of checks) counts[check.status]++;
  return {
    version: 1,
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    host: { hostname: hostname(), platform: `${process.platform}-${process.arch}`, node: process.versions.node },
    ok: counts.fail === 0,
    counts,
    checks,
  };
}

/** What the DNS and server checks say of a server URL with a user name or password in it. */
const CREDENTIALS = 'not checked: the server URL carries a user name or password (user:password@), which is not shown here nor sent; give the URL without it';

/** True when `server` reads as a URL with a user name or password. */
function hasUserinfo(server: string): boolean {
  try {
    const url = new URL(server);
    return url.username !== '' || url.password !== '';
  } catch {
    return false;
  }
}

/** The report as text for a person. */
export function formatDoctorReport(report: DoctorReport): string {
  const lines = [`pairgate doctor on ${report.host.hostname} (${report.host.platform}, node ${report.host.node})`];
  for (const check of report.checks) {
    lines.push(`  ${check.status.toUpperCase().padEnd(4)}  ${check.title}: ${check.summary}${check.error ? `\n        error: ${check.error}` : ''}${check.hint ? `\n        try: ${check.hint}` : ''}`);
  }
  const { ok, warn, fail, skip } = report.counts;
  lines.push(`${ok} ok, ${warn} warning${warn === 1 ? '' : 's'}, ${fail} failed, ${skip} skipped.`);
  return lines.join('\n');
}
