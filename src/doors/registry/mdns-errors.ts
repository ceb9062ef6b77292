import { PairgateError } from '../../core/errors.js';

/**
 * mDNS that could not start, or that failed once running, told in words with what to change. The
 * multicast-dns package reports these as bare Node errors (`bind EADDRINUSE 0.0.0.0:5353`), or as
 * mere warnings (a multicast group it could not join), which pairgate used to drop: `box
 * advertise` said "advertising" and discovery said "no boxes" while nothing was sent or heard.
 */

/** The settings that move mDNS, named as the person changes them (a command's flags, say). */
export interface MdnsSettings {
  /** The setting of the UDP port, e.g. `--mdns-port`. */
  portSetting: string;
  /** The setting of the interface address, e.g. `--mdns-interface`. */
  interfaceSetting: string;
}

/** The SDK's names: the `port` and `interface` fields of `MdnsOptions`. */
export const MDNS_OPTION_FIELDS: MdnsSettings = { portSetting: 'the port option', interfaceSetting: 'the interface option' };

/** The multicast group of mDNS over IPv4 (RFC 6762). */
export const MDNS_GROUP = '224.0.0.251';

/**
 * The step of mDNS that failed: binding its UDP port, joining the multicast group, sending to it,
 * or its socket once running (an error multicast-dns passes on from the socket).
 */
export type MdnsStep = 'bind' | 'join' | 'send' | 'socket';

/** One failure of mDNS: its step, where, what Node said, and the settings to name. */
export interface MdnsFailure {
  step: MdnsStep;
  /** The UDP port. */
  port: number;
  /** The interface address given, if any (else the system chose). */
  interface: string | undefined;
  /** The error multicast-dns or Node reported. */
  error: unknown;
  settings: MdnsSettings;
}

/** Node's code of an error (`EADDRINUSE`), else its message. */
function systemWhy(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string') return code;
  return error instanceof Error ? error.message : String(error);
}

/** The words for a UDP port mDNS cannot bind. */
function bindWords({ port, error, settings }: MdnsFailure): { code: string; words: string } {
  const why = systemWhy(error);
  if (why === 'EADDRINUSE') {
    // multicast-dns asks to share the port (SO_REUSEADDR); Linux refuses unless the holder asked too.
    const advice = port === 5353
      ? 'Stop that program or have it share the port (mDNS responders such as Avahi do): other machines ask on 5353, so a box on another port is found only by those told that port'
      : `Stop that program, or choose another port with ${settings.portSetting}`;
    return { code: 'mdns_port_in_use', words: `UDP port ${port} is taken by a program that does not share it. ${advice}.` };
  }
  if (why === 'EACCES') {
    const reason = port < 1024 ? 'ports below 1024 need root or the CAP_NET_BIND_SERVICE capability' : 'a security policy such as SELinux may forbid it';
    return { code: 'mdns_not_permitted', words: `this process may not bind UDP port ${port} (${reason}). Choose another port with ${settings.portSetting}.` };
  }
  return { code: 'mdns_unavailable', words: `UDP port ${port} cannot be bound (${why}). Choose another port with ${settings.portSetting}.` };
}

/**
 * The error to report for `failure`: a PairgateError with a stable code (`mdns_port_in_use`,
 * `mdns_not_permitted`, `mdns_interface_unusable`, `mdns_send_failed`, `mdns_unavailable`) and
 * status 503, so the CLI exits 1 as `box advertise --help` says of mDNS that cannot start.
 * `started` words it as a failure of mDNS already running (a warning) rather than of its start.
 */
export function mdnsError(failure: MdnsFailure, started = false): PairgateError {
  const { step, port, error, settings } = failure;
  const where = failure.interface;
  const why = systemWhy(error);
  let found: { code: string; words: string };
  if (step === 'bind') found = bindWords(failure);
  else if (step === 'join') {
    found = {
      code: 'mdns_interface_unusable',
      words: `joining the multicast group ${MDNS_GROUP} ${where ? `on ${where}` : started ? 'on a network interface' : 'on any network interface'} failed (${why}). ` +
        (started
          ? 'Questions from that interface\'s network are not heard.'
          : where
            ? `Give with ${settings.interfaceSetting} the address of an interface that is up and can multicast.`
            : `Check that a network interface is up, or give the address of one with ${settings.interfaceSetting}.`),
    };
  } else if (step === 'socket') {
    found = { code: 'mdns_unavailable', words: `its UDP socket on port ${port} failed (${why}). Stop and start again.` };
  } else {
    found = {
      code: 'mdns_send_failed',
      words: `sending to ${MDNS_GROUP}:${port}${where ? ` from ${where}` : ''} failed (${why}). ` +
        `Check that the network is up and routes multicast, or give the address of another interface with ${settings.interfaceSetting}.`,
    };
  }
  return new PairgateError(found.code, 503, `${started ? 'mDNS: ' : 'mDNS cannot start: '}${found.words}`, { step, systemCode: why });
}
