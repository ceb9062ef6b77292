import { InvalidRequestError } from '../../core/errors.js';
import { endpointFits, proveAtAnyEndpoint, type CodeEndpoint } from './code-dial.js';
import { proveCodeAsJoiner } from './code-pake.js';
import { loadDeviceIdentity } from './device-identity.js';
import { listenForAnnouncements, MAX_NEARBY_DEVICES, MAX_NEARBY_PER_ADDRESS, type DiscoveryOptions, type ReceivedAnnouncement } from './discovery.js';
import { AmbiguousDeviceError, DeviceNotFoundError } from './lan-errors.js';
import { AddressPlaces } from './nearby-places.js';
import { finishJoin, type JoinOptions, type JoinResult } from './join.js';
import { parsePairingCode } from './pairing-code.js';
import { checkPayloadOptions } from './payload.js';
import { label } from './pinned-dial.js';

/**
 * The joining side of pairing by short code (`lan join --code 1234-5678`): find the offer by its
 * plain announcements (or take its address), connect by TLS without a pin (its key is not known
 * yet) presenting this device's certificate, prove the code both ways by the PAKE of
 * `code-pake.ts`, which also proves that nobody relays the TLS connection, then the same exchange
 * and trusted-peer storage as the QR path. The announcement only says where to dial: whoever
 * answers must still prove the code.
 */

/** Options of a join by code: a join's, with the device to pick and where to look for it. */
export interface CodeJoinOptions extends Omit<JoinOptions, 'discovery'> {
  /** Which announcing device: its name, device id or a 6+ character id prefix (as `lan nearby` lists it). */
  device?: string;
  /** Dial this address instead of looking for announcements (with `port`). */
  address?: string;
  port?: number;
  /** Where to listen for plain announcements. */
  discovery?: DiscoveryOptions;
  /** How long each PAKE step may take (default 10 s). */
  handshakeTimeoutMs?: number;
}

/** A code offer heard on the network. */
export interface CodeOffer {
  deviceId: string;
  name: string;
  /** Where it was heard first. */
  address: string;
  port: number;
  /** Every address and port it was heard announcing from so far, first heard first. */
  endpoints: CodeEndpoint[];
}

/** After the first code offer is heard, how much longer to listen for others (two announcement rounds). */
const SETTLE_MS = 1200;
/** Most devices named when several offer a code: the rest are counted. */
const NAMED_IN_QUESTION = 10;

function matches(announcement: ReceivedAnnouncement, selector: string): boolean {
  return announcement.deviceId === selector || announcement.name === selector || (selector.length >= 6 && announcement.deviceId.startsWith(selector));
}

/**
 * What to try when no offer was heard: announcements are multicast, which a guest Wi-Fi, client
 * isolation or a firewall may drop while TCP still works; the offer's address and port sidestep it.
 */
const NOT_HEARD = 'Check that the offer still runs on the same network (--timeout to look longer), or dial it directly with --address and --port (the offer prints both); "pairgate doctor" on each device checks that multicast works there.';

/**
 * Listens for plain announcements of offers that take a code. With `device` a full device id,
 * resolves with the first that has it; otherwise (a name, an id prefix, or nothing) with the only
 * device that matches, waiting a moment after the first for others, or throws AmbiguousDeviceError
 * naming them. DeviceNotFoundError after `timeoutMs`.
 */
export async function findCodeOffer(options: { discovery?: DiscoveryOptions; device?: string; timeoutMs: number }): Promise<CodeOffer> {
  // Bounded and shared among addresses as `lan nearby` is: anyone can make up announcements, as
  // many as they like. The device named by its full id always gets a place: a flood must not push
  // out the one device the join looks for.
  const heard = new Map<string, CodeOffer>();
  const places = new AddressPlaces<string>(MAX_NEARBY_DEVICES, MAX_NEARBY_PER_ADDRESS);
  let finish: () => void = () => undefined;
  const done = new Promise<void>((resolve) => { finish = resolve; });
  let settle: NodeJS.Timeout | undefined;
  const listener = await listenForAnnouncements({
    ...(options.discovery ?? {}),
    onAnnouncement: (a) => {
      if (a.authenticated || !a.code || a.role !== 'offer') return;
      if (options.device !== undefined && !matches(a, options.device)) return;
      const known = heard.get(a.deviceId);
      if (!known) {
        const place = places.admit(a.deviceId, a.address, a.deviceId === options.device);
        if (!place.admitted) return;
        if (place.evicted !== undefined) heard.delete(place.evicted);
        heard.set(a.deviceId, { deviceId: a.deviceId, name: a.name ?? '', address: a.address, port: a.port, endpoints: [{ address: a.address, port: a.port }] });
      } else if (endpointFits(known.endpoints, a) && !known.endpoints.some((e) => e.address === a.address && e.port === a.port)) {
        known.endpoints.push({ address: a.address, port: a.port });
      }
      // A name (or a prefix) may be several devices' (two "laptop"s, or one that took a name it
      // heard): the first heard is not the one meant any more often than the other, and the code
      // proven to it was a failed attempt on someone else's offer, told here as a wrong code.
      if (a.deviceId === options.device) finish();
      else settle ??= setTimeout(finish, SETTLE_MS);
    },
  });
  const timer = setTimeout(finish, options.timeoutMs);
  try {
    await done;
  } finally {
    clearTimeout(timer);
    clearTimeout(settle);
    await listener.stop();
  }
  const found = [...heard.values()];
  if (found.length === 1) return found[0]!;
  // Asked for by its full id: devices that merely took that id as their name (anyone may name
  // itself so) are not the one meant, and must not make the join ambiguous.
  const named = options.device !== undefined ? heard.get(options.device) : undefined;
  if (named) return named;
  if (found.length === 0) {
    throw new DeviceNotFoundError(options.device !== undefined
      ? `No device named or with the id "${options.device}" offered a pairing code within ${Math.round(options.timeoutMs / 1000)} s. Run "pairgate lan nearby" to see who announces itself. ${NOT_HEARD}`
      : `No device offering a pairing code (pairgate lan offer --code) announced itself within ${Math.round(options.timeoutMs / 1000)} s. ${NOT_HEARD}`);
  }
  const listed = found.slice(0, NAMED_IN_QUESTION).map((f) => `"${f.name}" (id ${f.deviceId})`).join(', ');
  const more = found.length > NAMED_IN_QUESTION ? ` and ${found.length - NAMED_IN_QUESTION} more (see pairgate lan nearby)` : '';
  if (options.device !== undefined) {
    // The offer's screen shows its port and addresses, not its id: each is named with where it was heard.
    const where = found.slice(0, NAMED_IN_QUESTION).map((f) => `"${f.name}" (id ${f.deviceId}, at ${label(f.address, f.port)})`).join(', ');
    throw new AmbiguousDeviceError(`Several devices offering a pairing code match "${options.device}": ${where}${more}. Name the one you mean by its id with --device (the offer that shows your code also shows its port and addresses).`);
  }
  throw new AmbiguousDeviceError(`Several devices offer a pairing code: ${listed}${more}. Pick one with --device.`);
}

/** Pairs with the device offering `code` (as typed: `1234-5678`, `12345678`, `1234 5678`). */
export async function joinWithCode(code: string, options: CodeJoinOptions): Promise<JoinResult> {
  const started = performance.now();
  const log = options.log ?? (() => undefined);
  const canonical = parsePairingCode(code);
  checkPayloadOptions(options.payloadPath, options.outDir);
  if ((options.address === undefined) !== (options.port === undefined)) throw new InvalidRequestError('Give both an address and a port, or neither.');
  const device = await loadDeviceIdentity(options.configDir, options.deviceName);
  let target: { address: string; port: number; endpoints: CodeEndpoint[]; deviceId?: string; name?: string };
  let via: JoinResult['via'];
  if (options.address !== undefined && options.port !== undefined) {
    target = { address: options.address, port: options.port, endpoints: [{ address: options.address, port: options.port }] };
    via = 'address';
    // The only line before the dial's outcome (up to --dial-timeout): not silence meanwhile.
    log(`Dialling ${label(options.address, options.port)}; then proving the code.`);
  } else {
    const timeoutMs = options.discoveryTimeoutMs ?? 15_000;
    log(`Looking for ${options.device !== undefined ? `"${options.device}"` : 'a device offering a pairing code'} (up to ${Math.round(timeoutMs / 1000)} s)...`);
    target = await findCodeOffer({ discovery: options.discovery, device: options.device, timeoutMs });
    log(`Found "${target.name}" at ${label(target.address, target.port)}; proving the code.`);
    via = 'discovery';
  }
  const handshakeTimeoutMs = options.handshakeTimeoutMs ?? 10_000;
  const chosen = target.deviceId;
  // Every address the device announces is dialled, not only the first heard: one may be dead,
  // filtered, or an impostor's. Whichever completes the PAKE is the one paired with.
  const { channel, endpoint } = await proveAtAnyEndpoint({
    endpoints: target.endpoints,
    ...(chosen !== undefined ? {
      more: (add: (e: CodeEndpoint) => void) => listenForAnnouncements({
        ...(options.discovery ?? {}),
        onAnnouncement: (a) => {
          if (!a.authenticated && a.code && a.role === 'offer' && a.deviceId === chosen) add({ address: a.address, port: a.port });
        },
      }),
    } : {}),
    device,
    given: via === 'address',
    dialTimeoutMs: options.dialTimeoutMs ?? 5000,
    // With discovery, one more announcement round or two; an address given is all there is.
    waitMoreMs: chosen !== undefined ? SETTLE_MS : 0,
    prove: async (channel, socket) => {
      await proveCodeAsJoiner(channel, socket, canonical, device.spkiSha256, handshakeTimeoutMs);
      // The offer proved the code, bound to this connection: its words may be shown from now on.
      channel.authenticate();
      await channel.expect('welcome', handshakeTimeoutMs);
    },
    log,
  });
  try {
    const authenticatedMs = performance.now() - started;
    log(`Authenticated channel to ${label(endpoint.address, endpoint.port)} after ${Math.round(authenticatedMs)} ms: the code was proven both ways.`);
    // The announcement was advisory; a device that proved the code under another id is still a surprise worth stopping at.
    return await finishJoin(channel, device, options, {
      address: endpoint.address,
      via,
      authenticatedMs,
      deviceId: target.deviceId,
      otherDevice: 'The device that proved the code has another id than the announced device this join chose. Nothing was saved; start a new offer on the device meant, and join it again with the --device id `pairgate lan nearby` lists for it.',
    });
  } catch (error) {
    // The offer is told what failed here (a full disk, a timeout), then the connection ends.
    channel.endWith(error);
    throw error;
  }
}
