import { Option, type Command } from 'commander';
import { accessSync, constants, statSync, unlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import { resolveConfigDir } from '../../doors/lan/config-dir.js';
import type { DiscoveryOptions } from '../../doors/lan/discovery.js';
import { withNextStep } from '../../doors/lan/lan-errors.js';
import { unicastProblem } from '../../doors/lan/ip-addresses.js';
import type { Progress } from '../../doors/lan/payload.js';
import type { PairingResult } from '../../doors/lan/offer.js';
import { InvalidRequestError } from '../../core/errors.js';
import { intOption } from '../options.js';

/** Options and output helpers shared by `pairgate lan`, `pairgate peers` and `pairgate doctor`. */

/** Options every lan command takes. */
export interface CommonLanOptions {
  configDir?: string;
  json?: boolean;
  discoveryPort?: string;
  discoveryGroup?: string;
  discoveryInterface?: string;
  discovery?: boolean;
}

/** Adds `--config-dir`. */
export function withConfigDir(command: Command): Command {
  return command.option('--config-dir <dir>', 'where the device identity and trusted peers live (PAIRGATE_CONFIG_DIR, default: $XDG_CONFIG_HOME/pairgate, else ~/.config/pairgate)');
}

/** Adds the multicast discovery options. */
export function withDiscovery(command: Command): Command {
  return command
    .option('--discovery-port <port>', 'UDP port of multicast discovery', '47390')
    .option('--discovery-group <ip>', 'IPv4 multicast group of discovery', '239.255.70.71')
    .option('--discovery-interface <ip>', 'multicast only on the interface with this IPv4 address (default: every interface)');
}

// Lives in ../options.ts, shared with commands that load nothing of the lan door (serve, grant).
export { intOption };

/** The configuration dir from the options. */
export function configDirOf(options: CommonLanOptions): string {
  return resolveConfigDir(options.configDir);
}

/** True for an IPv4 multicast address (224.0.0.0/4), the only kind a discovery group can be. */
function isIpv4Multicast(address: string): boolean {
  if (isIP(address) !== 4) return false;
  const first = Number(address.split('.')[0]);
  return first >= 224 && first <= 239;
}

/** This machine's IPv4 addresses, those of interfaces that are up (what `networkInterfaces` lists). */
function ownIpv4Addresses(): string[] {
  return Object.values(networkInterfaces()).flatMap((entries) => (entries ?? []).filter((e) => e.family === 'IPv4').map((e) => e.address));
}

/**
 * Discovery options from the command line. A group that is not a multicast address, or an
 * interface address this machine does not have, is refused here (exit 2, saying what to give):
 * left to the socket, each failed later as "cannot join multicast group on any interface
 * (addMembership EINVAL)", exit 1, and the doctor blamed Wi-Fi client isolation for it.
 */
export function discoveryOf(options: CommonLanOptions): DiscoveryOptions {
  if (options.discoveryInterface) {
    if (isIP(options.discoveryInterface) !== 4) throw new InvalidRequestError('--discovery-interface must be an IPv4 address.');
    const own = ownIpv4Addresses();
    if (!own.includes(options.discoveryInterface)) {
      throw new InvalidRequestError(`--discovery-interface: ${options.discoveryInterface} is not an address of this machine (its IPv4 addresses: ${own.join(', ') || 'none'}). Give one of them, or leave the option out to use every interface.`);
    }
  }
  if (options.discoveryGroup !== undefined && !isIpv4Multicast(options.discoveryGroup)) {
    throw new InvalidRequestError(`--discovery-group: "${options.discoveryGroup}" is not an IPv4 multicast address (224.0.0.0 to 239.255.255.255; the default is 239.255.70.71, and both devices must use the same).`);
  }
  return {
    port: intOption(options.discoveryPort, '--discovery-port', 1, 65535),
    group: options.discoveryGroup,
    ...(options.discoveryInterface ? { interfaceAddress: options.discoveryInterface } : {}),
  };
}

/**
 * Addresses given with a repeatable `--address`, each also taking a comma-separated list (as every
 * command's `--address` does), checked; at most `max` of them (what fits in a connection string, say).
 */
export function addressesOf(given: string[] | undefined, max = Infinity): string[] | undefined {
  const values = given?.flatMap((value) => value.split(',')).map((value) => value.trim()).filter((value) => value !== '');
  if (!values || values.length === 0) return undefined;
  if (values.length > max) throw new InvalidRequestError(`--address: at most ${max} addresses fit in a connection string; ${values.length} were given.`);
  for (const value of values) {
    const problem = unicastProblem(value);
    if (problem) throw new InvalidRequestError(`--address: ${problem}.`);
  }
  return values;
}

/**
 * Checks, before an offer starts, that the QR code image given with `option` (`--qr-png`,
 * `--qr-svg`) can be written there: its folder exists and this user may write in it, and no folder
 * stands at its name. A typo used to surface only after the listener had started and its
 * addresses were found, as Node's `ENOENT: ... open '<file>.<hex>.tmp'` with exit 1.
 */
export function checkQrImagePath(path: string | undefined, option: string): void {
  if (path === undefined) return;
  const problem = qrImageProblem(path);
  if (problem) throw new InvalidRequestError(`${option} ${path}: ${problem}.`);
}

function qrImageProblem(path: string): string | undefined {
  if (path === '') return 'give the path of the image file to write';
  try {
    if (statSync(path).isDirectory()) return 'this is a folder; give the path of the image file to write in it';
  } catch {
    // Not there yet: the usual case.
  }
  const folder = dirname(path);
  let stats;
  try {
    stats = statSync(folder);
  } catch {
    return `there is no folder ${folder}; create it, or write the image somewhere else`;
  }
  if (!stats.isDirectory()) return `${folder} is not a folder; write the image somewhere else`;
  try {
    accessSync(folder, constants.W_OK);
  } catch {
    return `you may not write in ${folder}; write the image somewhere else`;
  }
  return undefined;
}

/**
 * A lan command's action, whose errors reach the person with what to do next (`withNextStep`): a
 * frame of an unknown type or too large from a foreign or incompatible endpoint said only that.
 */
export function lanAction<A extends unknown[]>(action: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await action(...args);
    } catch (error) {
      throw withNextStep(error);
    }
  };
}

/** Collects a repeatable option. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** A `--json` option. */
export const jsonOption = new Option('--json', 'print JSON (one object per line) instead of text');

/** Log lines for a person: stderr, so stdout stays clean for the string or JSON. */
export function stderrLog(line: string): void {
  process.stderr.write(`${line}\n`);
}

function humanBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

/**
 * A progress bar on stderr, redrawn at most every 200 ms (a line per 25% when stderr is not a
 * terminal). Timed on the monotonic clock: a wall clock stepped back would freeze it for the step.
 */
export function progressBar(): Progress {
  let last = -Infinity;
  let lastQuarter = -1;
  return (direction, done, total, name) => {
    const fraction = total === 0 ? 1 : done / total;
    const verb = direction === 'send' ? 'Sending' : 'Receiving';
    if (process.stderr.isTTY) {
      const now = performance.now();
      if (now - last < 200 && done < total) return;
      last = now;
      const width = 30;
      const filled = Math.round(fraction * width);
      process.stderr.write(`\r${verb} ${name} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${Math.floor(fraction * 100)}% ${humanBytes(done)}/${humanBytes(total)}${done >= total ? '\n' : ''}`);
      return;
    }
    const quarter = Math.floor(fraction * 4);
    if (quarter === lastQuarter) return;
    lastQuarter = quarter;
    process.stderr.write(`${verb} ${name}: ${quarter * 25}% (${humanBytes(done)} of ${humanBytes(total)})\n`);
  };
}

/** What pairing produced, for JSON output (no secret in it). */
export function pairingJson(result: PairingResult & { via?: string; authenticatedMs?: number }): Record<string, unknown> {
  return {
    event: 'paired',
    peer: result.trusted,
    address: result.address,
    ...(result.via ? { via: result.via } : {}),
    ...(result.authenticatedMs !== undefined ? { authenticatedMs: Math.round(result.authenticatedMs) } : {}),
    ...(result.sent ? { sent: result.sent } : {}),
    ...(result.received ? { received: result.received } : {}),
  };
}

/** What pairing produced, for a person. */
export function pairingText(result: PairingResult): string {
  const lines = [`Paired with "${result.trusted.name}" at ${result.address} (key ${result.trusted.keySha256.slice(0, 16)}...).`];
  if (result.sent) lines.push(`Sent ${result.sent.name} (${humanBytes(result.sent.size)}).`);
  if (result.received) lines.push(`Received ${result.received.name} (${humanBytes(result.received.size)}) into ${result.received.path}.`);
  return lines.join('\n');
}

/** The signals a lan command cleans up on. */
export type StopSignal = 'SIGINT' | 'SIGTERM';

/**
 * What to do when the command is stopped by a signal (`cleanUpOnSignal`): the paths removed, or a
 * promise of something still to be written out (a word to the other device).
 */
type SignalCleanup = (signal: StopSignal) => string[] | Promise<unknown>;
const cleanups: SignalCleanup[] = [];

/** Longest wait, once stopped, for what the cleanups still write out: the person pressed Ctrl-C. */
const SIGNAL_FLUSH_MS = 1000;

/**
 * Adds to what a lan command stopped by Ctrl-C (or SIGTERM) removes before it exits: files it made
 * that only made sense while it ran (a half-received payload's `.partial`, the QR code images of
 * an offer), and tell the other device why the connection ends. Each cleanup returns the paths it
 * removed, which the person is told of. Then the
 * signal is raised again, so the shell sees the command end by it (exit status 130 for Ctrl-C).
 */
export function cleanUpOnSignal(cleanup: SignalCleanup): void {
  if (cleanups.length === 0) {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.once(signal, () => {
        const results = cleanups.map((each) => each(signal));
        const removed = results.flatMap((result) => (Array.isArray(result) ? result : []));
        const pending = results.filter((result): result is Promise<unknown> => !Array.isArray(result));
        stderrLog(`\npairgate: stopped${signal === 'SIGINT' ? ' (Ctrl-C)' : ''}${removed.length ? `; removed ${removed.join(', ')}` : ''}.`);
        // A second Ctrl-C meanwhile ends the process at once (the handler ran once).
        let timer: NodeJS.Timeout | undefined;
        const bound = new Promise<void>((resolve) => { timer = setTimeout(resolve, SIGNAL_FLUSH_MS); });
        void Promise.race([Promise.allSettled(pending), bound]).then(() => {
          clearTimeout(timer);
          process.kill(process.pid, signal);
        });
      });
    }
  }
  cleanups.push(cleanup);
}

/** Removes the files in `paths` that exist; returns those it removed. */
export function removeFiles(paths: (string | undefined)[]): string[] {
  const removed: string[] = [];
  for (const path of paths) {
    if (!path) continue;
    try {
      unlinkSync(path);
      removed.push(path);
    } catch {
      // Never written, or removed already.
    }
  }
  return removed;
}
