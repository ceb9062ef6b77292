import { mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { request } from 'node:https';
import { connect, type PeerCertificate } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { discoverBoxes, type DiscoveredBox, type MdnsOptions } from '../doors/registry/mdns.js';
import { spkiFingerprint } from '../core/fingerprint.js';
import { replaceFileDurably } from '../server/durable-file.js';
import { abortedCall, answerTooLarge, cutOff, MAX_ANSWER_BYTES } from './errors.js';
import type { CallOptions } from './http-call.js';

export type { DiscoveredBox, MdnsOptions } from '../doors/registry/mdns.js';

/** A pinned box: the certificate seen on first use. */
export interface Pin {
  /** The SPKI fingerprint of the box's key, its identity. */
  fingerprint: string;
  /** The certificate seen on first use (PEM), trusted as the box's from then on. */
  certPem: string;
  /** When it was first seen (ISO 8601). */
  firstSeen: string;
}

/** Thrown when a box presents another key than the one pinned (or than it advertised). */
export class PinMismatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PinMismatchError';
  }
}

/** What to do about a damaged pin file (the default of PinFileError). */
const DAMAGED_PIN_FILE_ADVICE = 'Put it back from a copy, or move it away to start over: every box is then trusted again on its next connection, whatever key it presents.';

/**
 * Thrown when the pin file cannot be read as pins (it cannot be read at all, is not JSON, or not
 * an object of pins): never replaced in silence, since an empty store would trust whatever key
 * each box presents next.
 */
export class PinFileError extends Error {
  readonly code = 'pin_file_unreadable';
  constructor(readonly file: string, problem: string, advice = DAMAGED_PIN_FILE_ADVICE) {
    super(`The pin file ${file} ${problem}. ${advice}`);
    this.name = 'PinFileError';
  }
}

/** The pins held in `file`, `{}` when there is none; PinFileError when it cannot be read or is damaged. */
function readPins(file: string): Record<string, Pin> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return {};
    // Not damaged, only out of reach (EACCES, EISDIR...): its pins still hold, so moving it away,
    // which trusts every box again, is not the advice.
    throw new PinFileError(file, `cannot be read (${code ?? String(error)})`, 'Make it readable by this user (its permissions, or its folder\'s), then try again: the pins in it still hold.');
  }
  let pins: unknown;
  try {
    pins = JSON.parse(text);
  } catch {
    throw new PinFileError(file, 'is not valid JSON (cut short or damaged)');
  }
  if (typeof pins !== 'object' || pins === null || Array.isArray(pins)) throw new PinFileError(file, 'does not hold an object of pins by fingerprint');
  return pins as Record<string, Pin>;
}

/** Pins by box fingerprint, in a JSON file (trust on first use, then only that certificate's key). */
export class PinStore {
  private pins: Record<string, Pin>;
  /** Reads the pins in `file`; throws PinFileError when the file is damaged. */
  constructor(private readonly file: string) {
    this.pins = readPins(file);
  }
  /** The pin of a box, if it was seen before. */
  get(fingerprint: string): Pin | undefined {
    return this.pins[fingerprint];
  }
  /**
   * Pins a box (written to the file at once, whole and flushed to the disk before its name: a
   * crash or a power loss leaves the old pins or the new ones, never an empty or cut-short file,
   * which would not read as JSON and lose every pin).
   */
  set(pin: Pin): void {
    this.pins[pin.fingerprint] = pin;
    mkdirSync(dirname(this.file), { recursive: true });
    replaceFileDurably(this.file, JSON.stringify(this.pins, null, 2), 0o600);
  }
}

function pemOf(cert: X509Certificate): string {
  return cert.toString();
}

/**
 * The certificate a TLS server presents (not verified: the caller compares fingerprints). `signal`
 * cancels it: PairgateApiError code `aborted`, the connection closed at once.
 */
export function fetchPeerCertificate(host: string, port: number, timeoutMs = 5000, options: CallOptions = {}): Promise<X509Certificate> {
  const { signal } = options;
  if (signal?.aborted) return Promise.reject(abortedCall(signal));
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, rejectUnauthorized: false, timeout: timeoutMs });
    const onAbort = (): void => {
      reject(abortedCall(signal!));
      socket.destroy();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    socket.once('close', () => signal?.removeEventListener('abort', onAbort));
    socket.once('secureConnect', () => {
      const cert = socket.getPeerX509Certificate();
      socket.end();
      if (cert) resolve(cert);
      else reject(new Error('the box presented no certificate'));
    });
    socket.once('timeout', () => socket.destroy(new Error('timeout')));
    socket.once('error', reject);
  });
}

/**
 * Trust on first use: connects to the box, checks that its certificate's key has the fingerprint it
 * advertised and, when the box was seen before, the pinned one; pins it the first time. Returns the
 * pin and whether it is new.
 */
export async function trustOnFirstUse(box: Pick<DiscoveredBox, 'fingerprint' | 'addresses' | 'port'>, pins: PinStore, options: CallOptions = {}): Promise<{ pin: Pin; firstUse: boolean }> {
  const cert = await fetchPeerCertificate(box.addresses[0]!, box.port, undefined, options);
  const fingerprint = spkiFingerprint(cert.publicKey.export({ type: 'spki', format: 'der' }));
  if (fingerprint !== box.fingerprint) throw new PinMismatchError(`the box advertised ${box.fingerprint} but presents the key ${fingerprint}`);
  const pinned = pins.get(fingerprint);
  if (pinned) return { pin: pinned, firstUse: false };
  const pin: Pin = { fingerprint, certPem: pemOf(cert), firstSeen: new Date().toISOString() };
  pins.set(pin);
  return { pin, firstUse: true };
}

/**
 * A GET to a pinned box: TLS is accepted only when the server's key has the pinned fingerprint (the
 * host name is not checked: the key is the identity). `timeoutMs` bounds the whole exchange, the
 * answer's last byte included. Rejects with PinMismatchError for another key, the socket's error
 * when nothing answered, PairgateApiError `network_error` when the answer was cut or stalled
 * halfway, and `aborted` when `signal` cancelled it (the connection closed at once).
 */
export function pinnedGet(url: string, pin: Pin, timeoutMs = 5000, options: CallOptions = {}): Promise<{ status: number; body: string }> {
  const { signal } = options;
  if (signal?.aborted) return Promise.reject(abortedCall(signal));
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (outcome: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      outcome();
    };
    /** Why the exchange ended: its timeout's error when it was that, else what the socket said. */
    let lastError: Error | undefined;
    let answered = false;
    const lost = (error: Error): void => settle(() => reject(signal?.aborted ? abortedCall(signal) : cutOff(new URL(url).origin, lastError ?? error)));
    const req = request(url, {
      ca: pin.certPem,
      agent: false,
      checkServerIdentity: (_host: string, cert: PeerCertificate) => {
        const key = new X509Certificate(cert.raw).publicKey.export({ type: 'spki', format: 'der' });
        return spkiFingerprint(key) === pin.fingerprint ? undefined : new PinMismatchError('the box presents another key than the pinned one');
      },
    }, (res) => {
      answered = true;
      const chunks: Buffer[] = [];
      let bytes = 0;
      // Read up to the cap every SDK call keeps: a box (or whatever holds the pinned key) that
      // answers without end held it all in memory until the timeout.
      const tooLarge = (): void => {
        const target = new URL(url);
        settle(() => reject(answerTooLarge(target.origin, 'GET', target.pathname, res.statusCode ?? 0, MAX_ANSWER_BYTES)));
        req.destroy();
      };
      if (Number(res.headers['content-length']) > MAX_ANSWER_BYTES) return tooLarge();
      res.on('data', (c: Buffer) => {
        bytes += c.length;
        if (bytes > MAX_ANSWER_BYTES) return tooLarge();
        chunks.push(c);
      });
      res.on('end', () => settle(() => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') })));
      res.on('error', lost);
      res.on('close', () => {
        if (!res.complete) lost(new Error('the connection closed'));
      });
    });
    const onAbort = (): void => {
      settle(() => reject(abortedCall(signal!)));
      req.destroy();
    };
    const timer = setTimeout(() => {
      lastError = Object.assign(new Error('timeout'), { name: 'TimeoutError' });
      req.destroy(lastError);
    }, timeoutMs);
    signal?.addEventListener('abort', onAbort, { once: true });
    req.on('error', (error) => {
      if (answered) lost(error);
      else settle(() => reject(signal?.aborted ? abortedCall(signal) : error));
    });
    req.end();
  });
}

/** What {@link findBoxesByMdns} takes: where to ask, and the caller's signal. */
export interface FindBoxesOptions extends MdnsOptions, CallOptions {}

/**
 * Finds boxes on the local network by mDNS (`_pairgate._tcp`), without any server, collecting
 * answers for `timeoutMs`. When mDNS cannot start (its UDP port held alone by another program, no
 * interface joining the multicast group) it rejects at once with a PairgateError saying so
 * (`mdns_port_in_use`, `mdns_interface_unusable`...: see `discoverBoxes`), never an empty list.
 * An aborted `signal` ends it at once: its multicast socket closed, the promise rejected with
 * PairgateApiError code `aborted` (the signal's reason as its `cause`).
 */
export async function findBoxesByMdns(timeoutMs = 2000, options: FindBoxesOptions = {}): Promise<DiscoveredBox[]> {
  const { signal, ...where } = options;
  if (signal?.aborted) throw abortedCall(signal);
  try {
    return await discoverBoxes(timeoutMs, { ...where, ...(signal ? { signal } : {}) });
  } catch (error) {
    if (signal?.aborted) throw abortedCall(signal);
    throw error;
  }
}
