import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { ConfigError, InvalidRequestError, PairgateError } from '../../core/errors.js';
import { createServer as createHttpsServer } from 'node:https';
import type { TxtUpdater } from '../../doors/dns/acme-dns01.js';
import type { AnnouncementBody } from '../../sdk/registry.js';
import { makeFolder } from '../../server/data-dir.js';
import { removeLeftoverTempFiles, replaceFileDurably, replaceFilesDurably } from '../../server/durable-file.js';
import { explainListenError } from '../../server/listen-errors.js';
import { STOP_SIGNALS, stoppedBy, whileInterruptible, type InterruptPlan } from '../interrupt.js';
import { httpUrlOption, readOptionFile } from '../options.js';
import { timeOption } from '../unit-options.js';
import { whenWords } from '../time-words.js';
import { boxNameOption } from './box-name.js';
import { addressesOf, collect, intOption } from './lan-cli-support.js';

/**
 * `--mdns-interface`: an IPv4 address of this machine (mDNS here is IPv4 multicast). Checked up
 * front, as bad input (exit 2) naming the machine's addresses: mDNS would only fail to join its
 * group there (ENODEV, `mdns_interface_unusable`, exit 1) once the box was loaded.
 */
function mdnsInterfaceOption(value: string): string {
  const own = Object.values(networkInterfaces()).flatMap((list) => (list ?? []).filter((a) => a.family === 'IPv4').map((a) => a.address));
  if (!own.includes(value.trim())) {
    throw new InvalidRequestError(`--mdns-interface: ${value} is not an IPv4 address of this machine (its addresses: ${own.join(', ') || 'none'}). Give one of them, or leave the option out to let the system choose.`);
  }
  return value.trim();
}

/**
 * The box's modules (X.509, mDNS, DNS updates, the registry client), loaded when a box command
 * runs: they take about half a second to load, which every other command (`--help` included)
 * would otherwise pay for.
 */
async function loadBox() {
  const [identity, registry, dnsUpdate, mirrors, renewal, mdns, address] = await Promise.all([
    import('../../doors/registry/box-identity.js'),
    import('../../sdk/registry.js'),
    import('../../sdk/dns-update.js'),
    import('../../doors/dns/mirror-records.js'),
    import('../../doors/dns/certificate-renewal.js'),
    import('../../doors/registry/mdns.js'),
    import('../../doors/registry/box-address.js'),
  ]);
  return { ...identity, ...registry, ...dnsUpdate, ...mirrors, ...renewal, ...mdns, ...address };
}

// Empty counts as unset (`PAIRGATE_SERVER=` in a compose file), as with `pairgate grant` and `pairgate lan`.
const DEFAULT_REGISTRY = process.env.PAIRGATE_SERVER || 'http://127.0.0.1:8080';

interface DirOption {
  dir?: string;
}

function boxDir(options: DirOption, defaultBoxDir: () => string): string {
  const dir = options.dir ?? defaultBoxDir();
  // Every box command passes here: the natural point to clear the temporary files a command
  // stopped between writing and renaming left (a copy of the key among them), kept for ever otherwise.
  removeLeftoverTempFiles(dir);
  return dir;
}

/**
 * The URL of the DNS update API, checked. It is HTTPS only (the box proves its key with its TLS
 * client certificate): an http:// URL, often the main server's, failed later with Node's
 * 'Protocol "http:" not supported', which named neither the option nor the fix.
 */
function updateApiOption(value: string): string {
  const url = httpUrlOption(value, '--update-api', 'https://pair.example.com:8443');
  if (!url.startsWith('https:')) {
    throw new InvalidRequestError(`--update-api: "${value}" is not https://: the DNS update API is the server's HTTPS listener with client certificates (PAIRGATE_DNS_UPDATE_PORT there, 8443 by default; e.g. https://pair.example.com:8443), not its http:// address.`);
  }
  return url;
}

/**
 * The CA of `--update-ca`, read and checked to hold a PEM certificate: a key or another file given
 * by mistake was otherwise reported as the server's certificate not being trusted, which sent
 * people looking at the server.
 */
function updateCaOption(file: string | undefined): { ca: string } | Record<string, never> {
  return file ? { ca: pemCertificateOption(file, '--update-ca', 'the update API\'s certificate, <data dir>/dns-update-tls/cert.pem on a pairgate server without PAIRGATE_DNS_UPDATE_TLS_CERT') } : {};
}

/**
 * The text of a PEM certificate file named by option `name`, or an error saying what the file
 * holds instead and, in `expected`, which file is meant.
 */
function pemCertificateOption(file: string, name: string, expected: string): string {
  const text = readOptionFile(file, name);
  if (!text.includes('-----BEGIN CERTIFICATE-----')) {
    const what = /PRIVATE KEY-----/.test(text) ? 'a private key, not a certificate' : 'no PEM certificate (-----BEGIN CERTIFICATE-----)';
    throw new InvalidRequestError(`${name}: ${file} holds ${what}; give ${expected}.`);
  }
  return text;
}

/** An origin a box announces (`--local-origin`, `--tunnel-origin`), checked before any request. */
function originOption(value: string | undefined, name: string): string | undefined {
  return value === undefined ? undefined : httpUrlOption(value, name, 'https://192.168.1.20:4443');
}

const RECORD_TYPES = ['A', 'AAAA', 'CNAME', 'TXT'] as const;
type RecordType = (typeof RECORD_TYPES)[number];

/** A record type given on the command line, in any case; an error lists the types there are. */
function recordTypeOption(value: string, name: string): RecordType {
  const upper = value.toUpperCase();
  if (!(RECORD_TYPES as readonly string[]).includes(upper)) throw new InvalidRequestError(`${name}: unknown record type ${value}: use A, AAAA, CNAME or TXT.`);
  return upper as RecordType;
}

/**
 * The full name of a record given as `label` under `base` (`<fp>.<zone>`): a label relative to
 * it, `@` for `base` itself, or a full name as it is: one ending in a dot (absolute, as in a zone
 * file) or in `.<zone>` (as `box dns list` prints them). Those were put under `base` once more
 * (`local.other.<zone>` became `local.other.<zone>.<fp>.<zone>`), so a name of another box or
 * zone was accepted, somewhere else; as it is, the update API says whose name it is.
 */
function recordName(label: string | undefined, base: string, zone: string): string {
  const given = label?.trim().toLowerCase() ?? '';
  if (given === '' || given === '@') return base;
  const full = given.replace(/\.$/, '');
  const name = given.endsWith('.') || full === zone || full.endsWith(`.${zone}`) ? full : `${full}.${base}`;
  if (!LABEL.test(name) || name.length > 253) {
    throw new InvalidRequestError(`<label>: "${label}" is not a DNS name: labels of letters, digits, - and _ separated by dots (e.g. local, www, _acme-challenge.local), or @ for <fp>.<zone>.`);
  }
  return name;
}

/**
 * The target of `box dns set <label> CNAME <target>`, as a full name with its final dot. The label
 * is relative to `<fp>.<zone>`, so a target could be read either way: `local` was sent as it was
 * and served as the top-level name `local.`. Taken as they are: a name ending in a dot, a full
 * name of the zone (as `box dns list` prints them), `@` for `base` itself; anything else is
 * refused showing both ways to write it.
 */
function cnameTarget(value: string, base: string, zone: string): string {
  const given = value.trim();
  if (given === '@') return `${base}.`;
  if (given.endsWith('.')) return given;
  const lower = given.toLowerCase();
  if (lower === zone || lower.endsWith(`.${zone}`)) return `${given}.`;
  throw new InvalidRequestError(`CNAME target "${given}" is ambiguous: write ${given}.${base} for the name ${given} under this box, or ${given}. (with the final dot) for the name ${given} itself.`, undefined, 'cname_target_ambiguous');
}

/** A record as `box dns set` and `list` print it; a CNAME target with its final dot, as it is meant (a full name). */
function recordLine(record: { name: string; ttl: number; type: string; value: string }): string {
  return `${record.name}\t${record.ttl}\t${record.type}\t${record.type === 'CNAME' ? `${record.value.replace(/\.$/, '')}.` : record.value}`;
}

/**
 * Makes the folder certificates are written to before anything is asked of the CA: a missing one
 * was found only after the order, so the certificate was lost (and counted against the CA's
 * rate limits).
 */
function outputFolder(dir: string): string {
  // Level by level (makeFolder): Node's recursive mkdir never returns under /proc, so a mistyped
  // `--out /proc/...` hung the command; a file in the way is named as one.
  makeFolder(dir, '--out');
  // A folder there that this user may not write in let the order run, and the issued certificate was lost.
  try {
    accessSync(dir, constants.W_OK | constants.X_OK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EROFS') throw new ConfigError('--out', `cannot write in ${dir}: it is on a read-only file system; choose a folder on a writable disk`);
    throw new ConfigError('--out', `cannot write in ${dir} (${code === 'EACCES' || code === 'EPERM' ? 'permission denied' : code ?? String(error)}); choose a folder this user may write to`);
  }
  return dir;
}

/** A label under `<fp>.<zone>`, as the update API takes it (letters, digits, `-`, `_`; dots between labels). */
const LABEL = /^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*$/;

/**
 * The labels of `box cert --labels`, checked before the order: a label the CA refuses ("Order
 * included DNS identifier with a value containing an illegal character") or none at all ("Order
 * did not specify any identifiers") came back from the CA as exit 1.
 */
function labelsOption(value: string): string[] {
  const labels = value.split(',').map((label) => label.trim().toLowerCase()).filter(Boolean);
  if (labels.length === 0) throw new InvalidRequestError('--labels takes comma-separated labels under <fp>.<zone>, e.g. local,a,b.');
  const bad = labels.find((label) => !LABEL.test(label) || label.startsWith('_'));
  if (bad !== undefined) throw new InvalidRequestError(`--labels: "${bad}" is not a host name label (letters, digits and -, e.g. local,a,b).`);
  return labels;
}

/**
 * `--dns-server`, an IP address with an optional port (`127.0.0.1:53`, `[::1]:5353`): the resolver
 * takes addresses only, and a host name came back as "Invalid IP address: ..." naming no option.
 */
function dnsServerOption(value: string): string {
  const match = /^\[([^\]]+)\](?::(\d+))?$|^([^:]+)(?::(\d+))?$/.exec(value) ?? (isIP(value) === 6 ? [value, undefined, undefined, value] : null);
  const host = match?.[1] ?? match?.[3];
  const port = match?.[2] ?? match?.[4];
  if (!host || !isIP(host) || (port !== undefined && (Number(port) < 1 || Number(port) > 65535))) {
    throw new InvalidRequestError(`--dns-server: "${value}" is not an IP address with an optional port (e.g. 203.0.113.53:53, or [2001:db8::53]:53): give the address of the pairgate DNS server.`);
  }
  return value;
}

/**
 * Asks the update API for the box's records before the CA is asked for anything but its
 * directory: a wrong `--zone` (`name_outside_zone`), an untrusted certificate or an API that does
 * not answer was found only when the first challenge was set, after an order the CA counts
 * against its limits.
 */
async function checkUpdateApi(updates: { list(name: string, options: { signal: AbortSignal }): Promise<unknown> }, base: string, signal: AbortSignal): Promise<void> {
  try {
    await updates.list(base, { signal });
  } catch (error) {
    if (error instanceof Error) error.message = `before ordering, the update API was asked for ${base}: ${error.message}`;
    throw error;
  }
}

/**
 * The challenge records `box cert` asked the update API for and has not removed: what Ctrl-C
 * removes (a stopped order leaves them to its caller, see obtainCertificate's `signal`). Each counts
 * from the moment it is asked for, since a write Ctrl-C aborted may have been done.
 */
class ChallengeRecords implements TxtUpdater {
  private readonly left = new Map<string, { name: string; value: string }>();

  constructor(private readonly updates: TxtUpdater) {}

  set(...args: Parameters<TxtUpdater['set']>): Promise<unknown> {
    const [name, , value] = args;
    this.left.set(`${name} ${value}`, { name, value });
    return this.updates.set(...args);
  }

  async remove(...args: Parameters<TxtUpdater['remove']>): Promise<unknown> {
    const [name, filter] = args;
    const removed = await this.updates.remove(...args);
    if (filter.value !== undefined) this.left.delete(`${name} ${filter.value}`);
    return removed;
  }

  /** How many records are left. */
  get count(): number {
    return this.left.size;
  }

  /** Removes every record left, all at once, within `signal`; answers how many there were. */
  async removeAll(signal: AbortSignal): Promise<number> {
    const records = [...this.left.values()];
    await Promise.all(records.map(({ name, value }) => this.remove(name, { type: 'TXT', value }, { signal })));
    return records.length;
  }
}

/**
 * Ctrl-C (or SIGTERM) during `box cert`: the order is stopped (`signal`), the challenge records it
 * set are removed (left, they were answered until the server's hourly sweep), and the order's own
 * clean-up (a pending authorization given up at the CA) gets the rest of the bound.
 */
function stoppedOrder(records: ChallengeRecords, order: () => Promise<unknown>): InterruptPlan {
  return {
    cleanUp: async (signal, stop) => {
      const removed = await records.removeAll(signal);
      await new Promise<void>((resolve) => {
        signal.addEventListener('abort', () => resolve(), { once: true });
        void order().catch(() => undefined).then(() => resolve());
      });
      if (removed === 0) return `stopped (${stoppedBy(stop)}): no certificate was written, and no challenge record was left in DNS.`;
      return `stopped (${stoppedBy(stop)}): no certificate was written; the ${removed === 1 ? 'challenge record it had set was' : `${removed} challenge records it had set were`} removed.`;
    },
    fallback: (error, stop) => {
      const why = error instanceof Error && 'code' in error ? String(error.code) : error instanceof Error ? error.message : String(error);
      return `stopped (${stoppedBy(stop)}): no certificate was written; ${records.count === 1 ? 'a challenge record' : `${records.count} challenge records`} (_acme-challenge TXT) could not be removed (${why}): the server deletes them within an hour.`;
    },
  };
}

/**
 * Starts the box's HTTPS server (`advertise --serve`) and answers the port it listens on. A port
 * taken or an address not of this machine is told in words naming the option to change: the
 * listen error was an unhandled 'error' event, a stack trace.
 */
function listenBox(server: ReturnType<typeof createHttpsServer>, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', (error) => reject(explainListenError(error, { host, port, purpose: 'the box\'s HTTPS (--serve)', portSetting: '--port', hostSetting: '--host' })));
    server.listen(port, host, () => resolve((server.address() as { port: number }).port));
  });
}

/**
 * The help of the options `box announce`, `box cert` and `box dns` share, in the same words in
 * each (announce adds what it does with them): they name the same things.
 */
const ZONE_HELP = 'the DNS zone of the pairgate server (PAIRGATE_DNS_ZONE there)';
const UPDATE_API_HELP = 'the DNS update API (https://host:port)';
const UPDATE_CA_HELP = 'PEM certificate to trust for the update API (its self-signed one, or a private CA)';

/** The exit codes of the `box dns` commands, in their --help. */
const DNS_EXIT_CODES = `Exit code: 0 when done; 2 for bad input (a malformed option or record,
no_box_identity) or a request the update API refused (a name that is not the
box's, a certificate this machine does not trust: give --update-ca); 1 when the
update API cannot be reached.`;

/**
 * `error` told in words when it is `box init` refused a write in the identity folder `dir` (a
 * folder of another user, a mode without write permission, a read-only file system): a
 * ConfigError naming --dir, exit code 2, as `makeFolder` says a folder it cannot make. Node's
 * `EACCES: permission denied, open '<dir>/box.crt.new.<hex>.tmp'` named a file the person never
 * heard of and no way out, and exited 1. Any other error is returned as it is.
 */
function unwritableBoxDir(dir: string, error: unknown): unknown {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'EROFS') return new ConfigError('--dir', `cannot write in ${dir}: it is on a read-only file system; choose a folder on a writable disk`);
  if (code === 'EACCES' || code === 'EPERM') return new ConfigError('--dir', `cannot write in ${dir} (permission denied); run pairgate as the user who owns it, or choose a folder this user may write to`);
  return error;
}

/** Whether the identity in `dir` is a `box init --force` stopped after its new key (which `box init` finishes). */
async function replacementInterrupted(dir: string): Promise<boolean> {
  const { loadBoxIdentity } = await loadBox();
  try {
    loadBoxIdentity(dir);
    return false;
  } catch (error) {
    return error instanceof PairgateError && error.code === 'box_identity_interrupted';
  }
}

/**
 * `pairgate box`: the home-box side of the registry and DNS doors. `init` makes the box's key and
 * self-signed certificate (its fingerprint is its identity), `id` prints it, `announce` keeps the
 * box listed in a registry, `cert` gets a real certificate by ACME DNS-01.
 */
export function registerBoxCommand(program: Command): void {
  const box = program.command('box').description('a home box: identity (key + self-signed certificate), registry announcements, DNS zone, ACME certificate')
    .addHelpText('after', `
Exit code: 0 on success, 2 for bad input (a malformed option, no box identity
in the folder: no_box_identity, or one this user cannot read:
box_identity_unreadable) or a request a server refused (an untrusted
certificate: give --update-ca), 1 when a server cannot be reached or a step
fails (each subcommand's --help names its own).`);
  const dirOption = ['-d, --dir <dir>', 'identity folder (PAIRGATE_BOX_DIR, default: ~/.pairgate/box)'] as const;

  box
    .command('init')
    .description('make the box key and self-signed certificate (kept if present, saying so on stderr) and print the fingerprint')
    .option(...dirOption)
    .option('-n, --name <name>', 'common name of the certificate', 'pairgate box')
    .option('--force', 'replace an existing identity (a new fingerprint: DNS names and pins of the old one stop working)')
    .option('--json', 'print JSON')
    .addHelpText('after', `
Exit code: 0 when the identity was made or kept; 2 for a malformed option, a
--dir it cannot make or write in (config_invalid) or an identity there this
user cannot read (box_identity_unreadable); 1 when its files cannot be written
for another reason (a full disk).`)
    .action(async (options: DirOption & { name: string; force?: boolean; json?: boolean }) => {
      const { defaultBoxDir, hasBoxIdentity, initBoxIdentity } = await loadBox();
      const dir = boxDir(options, defaultBoxDir);
      const kept = !options.force && hasBoxIdentity(dir);
      const finishing = kept && await replacementInterrupted(dir);
      // Made here, so that a file in the way is said in words with the option, not as mkdir's EEXIST.
      makeFolder(dir, '--dir');
      const identity = await initBoxIdentity(dir, { name: options.name, force: options.force ?? false }).catch((error: unknown) => {
        throw unwritableBoxDir(dir, error);
      });
      // Standard output stays the fingerprint alone (scripts read it); the note goes to stderr.
      if (finishing) process.stderr.write(`finished the interrupted replacement in ${identity.dir}: the new key is the box's identity (the fingerprint below)\n`);
      else if (kept) process.stderr.write(`kept the existing identity in ${identity.dir} (pairgate box init --force makes a new one, with a new fingerprint)\n`);
      if (options.json) console.log(JSON.stringify({ fingerprint: identity.fingerprint, legacyFingerprint: identity.legacyFingerprint, dir: identity.dir }));
      else console.log(identity.fingerprint);
    });

  box
    .command('id')
    .description('print the box fingerprint (SHA-256 of the key, base32, 52 characters)')
    .option(...dirOption)
    .option('--legacy', 'print the Project Link form instead (SHA-1 of the certificate, 40 hex)')
    .option('--json', 'print JSON')
    .addHelpText('after', `
Exit code: 0 when printed, 2 when the folder holds no box identity
(no_box_identity) or one this user cannot read (box_identity_unreadable), or
for a malformed option.`)
    .action(async (options: DirOption & { legacy?: boolean; json?: boolean }) => {
      const { defaultBoxDir, loadBoxIdentity } = await loadBox();
      const identity = loadBoxIdentity(boxDir(options, defaultBoxDir));
      if (options.json) console.log(JSON.stringify({ fingerprint: identity.fingerprint, legacyFingerprint: identity.legacyFingerprint, dir: identity.dir }));
      else console.log(options.legacy ? identity.legacyFingerprint : identity.fingerprint);
    });

  box
    .command('announce')
    .description('announce the box to a registry every 60 s and whenever its local address changes (Ctrl-C to stop)')
    .option(...dirOption)
    .option('-s, --server <url>', 'registry (PAIRGATE_SERVER)', DEFAULT_REGISTRY)
    .option('--local-origin <url>', 'the URL browsers on the network reach the box at (default: https://<local IPv4>:<port>)')
    .option('-p, --port <port>', 'port of the box for the default local origin', '443')
    .option('--tunnel-origin <url>', 'a tunnelled URL of the box')
    .option('-n, --name <name>', 'a name people recognise')
    .option('--interval <time>', 're-announce period, e.g. 90s; keep it below the registry\'s PAIRGATE_REGISTRY_TTL_SECONDS, 120 unless set; a plain number is seconds', '60s')
    .option('--once', 'announce once and exit')
    .option('-z, --zone <zone>', `${ZONE_HELP}; with --update-api: publish the local IP as local.<fp>.<zone> and rotating mirror names, and announce the mirror name`)
    .option('-u, --update-api <url>', `${UPDATE_API_HELP}, with --zone`)
    .option('--update-ca <file>', UPDATE_CA_HELP)
    .addHelpText('after', `
Examples:
  $ pairgate box announce --server https://pair.example.com --port 4443 --name Kitchen
  $ pairgate box announce --once --server https://pair.example.com

Exit code: 0 when announced (--once) or stopped with Ctrl-C; 2 for bad input
(a malformed option, no_box_identity) or an announcement or DNS update a server
refused; 1 when the registry or the update API cannot be reached, or with --once
when the machine has no IPv4 address on a network (no_local_address). Without
--once, a failed announcement is said on stderr and tried again: it does not
end the command, and nothing is announced until the machine has an address.`)
    .action(async (options: DirOption & { server: string; localOrigin?: string; port: string; tunnelOrigin?: string; name?: string; interval: string; once?: boolean; zone?: string; updateApi?: string; updateCa?: string }) => {
      const server = httpUrlOption(options.server, '--server (or PAIRGATE_SERVER)', 'https://pair.example.com');
      const port = intOption(options.port, '--port', 1, 65535)!;
      const intervalSeconds = timeOption(options.interval, '--interval', 's', 1, 86_400)!;
      const localOrigin = originOption(options.localOrigin, '--local-origin');
      const tunnelOrigin = originOption(options.tunnelOrigin, '--tunnel-origin');
      // Before anything is sent: a registry refuses such a name at every announcement.
      const name = options.name === undefined ? undefined : boxNameOption(options.name, '--name');
      if (Boolean(options.zone) !== Boolean(options.updateApi)) throw new InvalidRequestError('--zone and --update-api go together: give both, or neither.');
      // Without them it was ignored in silence, and the box announced its IP address, not a DNS name.
      if (options.updateCa && !options.updateApi) throw new InvalidRequestError('--update-ca is the certificate of the update API: it goes with --zone and --update-api (to announce a DNS name), or not at all.');
      const updateApi = options.updateApi === undefined ? undefined : updateApiOption(options.updateApi);
      const { defaultBoxDir, loadBoxIdentity, RegistryClient, MirrorRecords, DnsUpdateClient, boxLocalIPv4, keepAnnouncing } = await loadBox();
      const identity = loadBoxIdentity(boxDir(options, defaultBoxDir));
      const client = new RegistryClient({ baseUrl: server });
      const mirrors = options.zone && updateApi
        ? new MirrorRecords(new DnsUpdateClient({ baseUrl: updateApi, box: identity, ...updateCaOption(options.updateCa) }), {
          fingerprint: identity.fingerprint,
          zone: options.zone.toLowerCase().replace(/\.$/, ''),
          stateFile: join(identity.dir, 'mirror-state.json'),
        })
        : undefined;
      // Ctrl-C (or SIGTERM) stops the announcing, and a DNS update under way with it, from the first
      // one on: an update the update API was slow to answer held the exit up to its 15 s timeout.
      // With --once, Node's own Ctrl-C ends it at once.
      const stopping = new AbortController();
      const stop = (): void => stopping.abort(new Error('stopped'));
      if (!options.once) {
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      }
      // With DNS, the announced origin is the mirror name holding the current address (re-published
      // when the address changes); without, the address itself. A given --local-origin without DNS
      // needs no address at all.
      const needsAddress = mirrors !== undefined || localOrigin === undefined;
      let origin = '';
      const refresh = async (): Promise<void> => {
        if (!needsAddress) return;
        const found = await boxLocalIPv4();
        // No address for now (a Wi-Fi reconnecting, a DHCP renewal): what was published stays, and
        // at the start nothing is announced until there is one. The loopback address was published
        // under the next mirror and announced, sending browsers to themselves, and the address after
        // the gap went to the mirror after that, the one caches may still answer with the address
        // before it; at the start, 127.0.0.1 was announced as the box's local origin.
        if (found === undefined) return;
        origin = mirrors ? `https://${(await mirrors.publish(found, { signal: stopping.signal })).name}:${port}` : `https://${found}:${port}`;
      };
      /** The local origin announced: undefined while there is none to announce (no address yet). */
      const announcedOrigin = (): string | undefined => localOrigin ?? (origin || undefined);
      const body = (): AnnouncementBody => ({
        fingerprint: identity.fingerprint,
        local_origin: announcedOrigin() ?? '',
        tunnel_origin: tunnelOrigin ?? null,
        ...(name ? { name } : {}),
      });
      try {
        await refresh();
      } catch (error) {
        // Stopped while the first DNS update was under way: as stopped later, exit 0.
        if (stopping.signal.aborted) return;
        throw error;
      }
      const noAddress = 'this machine has no IPv4 address on a network (no interface holds one: a Wi-Fi reconnecting, no cable)';
      if (options.once) {
        if (announcedOrigin() === undefined) {
          throw new PairgateError('no_local_address', 503, `Nothing was announced: ${noAddress}, so there is no local origin to announce. Run it again once the machine is on the network, or give --local-origin.`);
        }
        await client.announce(identity, body());
        console.log(`announced ${identity.fingerprint} to ${client.baseUrl}`);
        return;
      }
      // A failure is said once, not again at each 5 s retry while it lasts (a server down for an
      // hour printed 720 lines); again when its code changes (not its words: a server gone reads
      // as one socket error, then another), or when it comes back after a success.
      const failures = { dns: '', announce: '' };
      const sayFailure = (what: keyof typeof failures, error: unknown): void => {
        const message = error instanceof Error ? error.message : String(error);
        const code = (error as { code?: unknown } | null)?.code;
        const kind = typeof code === 'string' ? code : message;
        if (kind !== failures[what]) console.error(`pairgate: ${what === 'dns' ? 'DNS update' : 'announce'} failed: ${message}`);
        failures[what] = kind;
      };
      const startAnnouncing = (): (() => void) => keepAnnouncing(client, identity, body, {
        intervalMs: intervalSeconds * 1000,
        onAnnounce: (announced) => {
          failures.announce = '';
          console.log(`announced ${identity.fingerprint} (${'local_origin' in announced ? announced.local_origin : ''})`);
        },
        onError: (error) => sayFailure('announce', error),
      });
      // Not before there is an origin to announce: one is announced as soon as the address comes.
      if (announcedOrigin() === undefined) console.error(`pairgate: ${noAddress}: nothing is announced until it has one (looked for every 5 s).`);
      let stopAnnouncing = announcedOrigin() === undefined ? undefined : startAnnouncing();
      // One check at a time: setInterval does not wait, and a DNS update may outlast the 5 s period
      // (the update client waits up to 15 s). Overlapping, each publish read the mirror state the
      // one before had not saved yet, and they wrote the same mirror over each other.
      let checking = false;
      const watcher = setInterval(() => {
        if (checking) return;
        checking = true;
        const before = announcedOrigin();
        void refresh().then(() => {
          failures.dns = '';
          // A new origin is announced at once (announcing starts over), not at the next 5 s check:
          // until then the registry sent browsers to the old mirror, whose address is gone. The
          // first one, once the machine has an address, starts the announcing.
          const now = announcedOrigin();
          if (now !== undefined && (now !== before || stopAnnouncing === undefined) && !stopping.signal.aborted) {
            stopAnnouncing?.();
            stopAnnouncing = startAnnouncing();
          }
        }, (error: unknown) => {
          if (!stopping.signal.aborted) sayFailure('dns', error);
        }).finally(() => {
          checking = false;
        });
      }, 5_000);
      await new Promise<void>((resolve) => {
        if (stopping.signal.aborted) resolve();
        else stopping.signal.addEventListener('abort', () => resolve(), { once: true });
      });
      clearInterval(watcher);
      stopAnnouncing?.();
    });

  box
    .command('cert')
    .description('get a real certificate for local.<fp>.<zone> (and the mirror names) by ACME DNS-01 through the update API')
    .option(...dirOption)
    .requiredOption('-z, --zone <zone>', ZONE_HELP)
    .requiredOption('-u, --update-api <url>', UPDATE_API_HELP)
    .option('--update-ca <file>', UPDATE_CA_HELP)
    .option('--acme-directory <url>', 'ACME directory', 'https://acme-v02.api.letsencrypt.org/directory')
    .option('--acme-ca <file>', 'PEM certificate to trust for the ACME server itself (test CAs such as pebble)')
    .option('--dns-server <ip[:port]>', 'check that challenges are visible on this DNS server (default: the system resolver)')
    .option('--email <address>', 'contact address of the ACME account')
    .option('--labels <list>', 'comma-separated labels under <fp>.<zone> to certify', 'local,a,b')
    .option('--timeout <time>', 'how long to wait for each challenge record to be visible, e.g. 5m; a plain number is seconds', '60s')
    .option('-o, --out <dir>', 'where to write cert.key and cert.pem (default: the identity folder)')
    .option('--renew-within <days>', 'only when the certificate there is missing, lacks a name, or expires within this many days (run daily: cron, systemd timer)')
    .addHelpText('after', `
Renewal: run \`pairgate box cert ... --renew-within 30\` every day; it does
nothing until the certificate nears its end.

A failed step is named with a code (exit 1): acme_unreachable,
acme_account_refused, acme_order_refused, acme_txt_not_visible (not on
--dns-server in --timeout), acme_challenge_invalid (the CA cannot see the
record: check that the zone is delegated to the pairgate DNS server),
acme_finalize_refused.

Ctrl-C stops the order: the challenge records it set are removed (within a
few seconds), one line says so, and the command ends with exit status 130;
SIGTERM does the same, with exit status 143.

Exit code: 0 when the certificate was written (with --renew-within, also when
none was needed); 1 for a failed step above or a server that cannot be
reached; 2 for bad input (a malformed option, no_box_identity, an ACME server
whose certificate this machine does not trust: acme_tls_untrusted, a URL that
is no ACME directory: acme_not_a_directory) or a request the update API
refused; 130 when stopped with Ctrl-C, 143 with SIGTERM.`)
    .action(async (options: DirOption & { zone: string; updateApi: string; updateCa?: string; acmeDirectory: string; acmeCa?: string; dnsServer?: string; email?: string; labels: string; timeout: string; out?: string; renewWithin?: string }) => {
      const updateApi = updateApiOption(options.updateApi);
      httpUrlOption(options.acmeDirectory, '--acme-directory', 'https://acme-v02.api.letsencrypt.org/directory');
      const timeoutSeconds = timeOption(options.timeout, '--timeout', 's', 1, 3600)!;
      const dnsServer = options.dnsServer === undefined ? undefined : dnsServerOption(options.dnsServer);
      // Checked here: the CA refused it only after the directory and the update API were asked (exit 1).
      if (options.email !== undefined && !/^[^@\s]+@[^@\s]+\.[^@\s.]+$/.test(options.email)) {
        throw new InvalidRequestError(`--email: "${options.email}" is not an e-mail address (e.g. admin@example.com); the CA writes to it about the certificate.`);
      }
      const { defaultBoxDir, loadBoxIdentity, renewalDecision, DnsUpdateClient } = await loadBox();
      const identity = loadBoxIdentity(boxDir(options, defaultBoxDir));
      const zone = options.zone.toLowerCase().replace(/\.$/, '');
      const names = labelsOption(options.labels).map((label) => `${label}.${identity.fingerprint}.${zone}`);
      const out = outputFolder(options.out ?? identity.dir);
      // Only its own two files' temporaries: --out may be a folder other programs write to.
      removeLeftoverTempFiles(out, undefined, undefined, ['cert.key', 'cert.pem']);
      if (options.renewWithin !== undefined) {
        const days = Number(options.renewWithin);
        if (!Number.isFinite(days) || days < 0) throw new InvalidRequestError('--renew-within takes a number of days (0 or more).');
        const certFile = join(out, 'cert.pem');
        const keyFile = join(out, 'cert.key');
        const readIfThere = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8') : undefined);
        // Its end said as every command's text output says a time: local, with how far off.
        const timeWords = (time: Date): string => whenWords(time.toISOString());
        const decision = renewalDecision({ chainPem: readIfThere(certFile), keyPem: readIfThere(keyFile) }, names, days, Date.now(), timeWords);
        if (!decision.renew) {
          console.log(`certificate ${certFile} is valid until ${timeWords(decision.validTo)}, more than ${days} ${days === 1 ? 'day' : 'days'}: nothing to do`);
          return;
        }
        process.stderr.write(`renewing: ${decision.reason}\n`);
      }
      const client = new DnsUpdateClient({ baseUrl: updateApi, box: identity, ...updateCaOption(options.updateCa) });
      const updates = new ChallengeRecords(client);
      const accountFile = join(identity.dir, 'acme-account.key');
      // acme-client (and its axios) loads only for this command: every other one, `serve` included, starts without it.
      const { obtainCertificate } = await import('../../doors/dns/acme-dns01.js');
      let order: Promise<unknown> = Promise.resolve();
      // Until the certificate is in hand (its files are written whole or not at all, Ctrl-C or not).
      const interrupt = whileInterruptible(stoppedOrder(updates, () => order), STOP_SIGNALS);
      const obtaining = obtainCertificate({
        signal: interrupt.signal,
        directoryUrl: options.acmeDirectory,
        names,
        zone,
        beforeOrder: () => checkUpdateApi(client, `${identity.fingerprint}.${zone}`, interrupt.signal),
        updates,
        ...(dnsServer ? { dnsServer } : {}),
        ...(existsSync(accountFile) ? { accountKeyPem: readFileSync(accountFile, 'utf8') } : {}),
        ...(options.email ? { email: options.email } : {}),
        ...(options.acmeCa ? { acmeCa: pemCertificateOption(options.acmeCa, '--acme-ca', 'the certificate the ACME server\'s HTTPS presents (pebble\'s -config "certificate")') } : {}),
        propagationTimeoutMs: timeoutSeconds * 1000,
        log: (line) => process.stderr.write(`${line}\n`),
        // Kept as soon as the CA knows it, so a retry after a failed order reuses the account;
        // written whole and flushed before its name, never in place, where a crash or a power
        // loss could leave the key empty or cut short and the account it names lost.
        onAccountKey: (pem) => replaceFileDurably(accountFile, pem, 0o600),
      });
      order = obtaining;
      let obtained;
      try {
        obtained = await obtaining;
      } catch (error) {
        // Ctrl-C: the process ends by the signal once the clean-up's line is out.
        if (interrupt.signal.aborted) return new Promise<never>(() => undefined);
        throw error;
      } finally {
        interrupt.done();
      }
      // Each file is written whole beside its final name (the key 0600 from the start, so never
      // readable by others), flushed to the disk, and only then renamed over it, the key first,
      // and the folder flushed after: a server reloading them, a crash or a power loss never
      // leaves half a file, and the certificate is on the disk before this run says it is. A run
      // stopped between the two renames leaves a key beside a certificate not its own, which
      // --renew-within renews (renewalDecision).
      replaceFilesDurably([
        { path: join(out, 'cert.key'), data: obtained.keyPem, mode: 0o600 },
        { path: join(out, 'cert.pem'), data: obtained.chainPem, mode: 0o644 },
      ]);
      console.log(`certificate for ${names.join(', ')} written to ${join(out, 'cert.pem')} (key ${join(out, 'cert.key')})`);
    });

  box
    .command('advertise')
    .description('advertise the box on the local network by mDNS (_pairgate._tcp), optionally serving HTTPS with its certificate (Ctrl-C to stop)')
    .option(...dirOption)
    .option('-p, --port <port>', 'HTTPS port of the box; with --serve, 0 picks a free one', '443')
    .option('--serve', 'serve HTTPS with the box certificate on --port (answers {fingerprint, name} at /)')
    .option('-H, --host <address>', 'address --serve listens on', '0.0.0.0')
    .option('-n, --name <name>', 'a name people recognise', 'pairgate box')
    .option('--address <ip>', 'an address to advertise (repeatable, or a comma-separated list; default: the non-internal IPv4 ones)', collect)
    .option('--mdns-interface <ip>', 'interface address for mDNS (e.g. 127.0.0.1 to stay on loopback)')
    .option('--mdns-port <port>', 'mDNS UDP port', '5353')
    .addHelpText('after', `
Example:
  $ pairgate box advertise --port 4443 --serve --name Kitchen

Exit code: 0 when stopped with Ctrl-C (or SIGTERM); 2 for bad input (a
malformed option, no_box_identity, with --serve a --port or --host it cannot
listen on); 1 for anything else (mDNS that cannot start).`)
    .action(async (options: DirOption & { port: string; serve?: boolean; host: string; name: string; address?: string[]; mdnsInterface?: string; mdnsPort: string }) => {
      // Held to the rule a registry's is: it is shown the same way, beside the fingerprint.
      const name = boxNameOption(options.name, '--name', false);
      let port = intOption(options.port, '--port', options.serve ? 0 : 1, 65535)!;
      const addresses = addressesOf(options.address);
      const mdnsPort = intOption(options.mdnsPort, '--mdns-port', 1, 65535)!;
      const mdnsInterface = options.mdnsInterface === undefined ? undefined : mdnsInterfaceOption(options.mdnsInterface);
      const { defaultBoxDir, loadBoxIdentity, advertiseBox } = await loadBox();
      const identity = loadBoxIdentity(boxDir(options, defaultBoxDir));
      let server: ReturnType<typeof createHttpsServer> | undefined;
      if (options.serve) {
        server = createHttpsServer({ key: identity.keyPem, cert: identity.certPem }, (_request, response) => {
          response.setHeader('content-type', 'application/json');
          response.end(JSON.stringify({ fingerprint: identity.fingerprint, name }));
        });
        port = await listenBox(server, port, options.host);
      }
      const advert = advertiseBox(
        { fingerprint: identity.fingerprint, port, name, ...(addresses ? { addresses } : {}) },
        {
          port: mdnsPort,
          ...(mdnsInterface ? { interface: mdnsInterface } : {}),
          settings: { portSetting: '--mdns-port', interfaceSetting: '--mdns-interface' },
          // Once advertising, a failure (an answer not sent) is said and the advert goes on: the
          // next question may be answered, once the network is back.
          onError: (error) => console.error(`pairgate: warning: ${error.message} [${error.code}]`),
        },
      );
      try {
        // "advertising" only once it is true: the port bound, the group joined, the announcement sent.
        await advert.ready;
      } catch (error) {
        // Nothing advertised: the HTTPS server of --serve goes too, so that the process ends (exit 1).
        server?.close();
        server?.closeAllConnections();
        throw error;
      }
      // Stopped cleanly (the advert withdrawn) from the moment the line saying it runs is out.
      const stopped = new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      console.log(`advertising ${identity.fingerprint} on port ${port}`);
      // With --serve and port 0 the port was said, not that (and where) HTTPS was being served.
      if (server) console.log(`serving HTTPS with the box certificate on ${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}`);
      await stopped;
      await advert.stop();
      server?.close();
    });

  const dns = box.command('dns').description('read and change the records of <fp>.<zone> through the update API (mutual TLS with the box certificate)')
    .addHelpText('after', `\n${DNS_EXIT_CODES}`);
  const dnsOptions = (command: Command): Command =>
    command
      .option(...dirOption)
      .requiredOption('-z, --zone <zone>', ZONE_HELP)
      .requiredOption('-u, --update-api <url>', UPDATE_API_HELP)
      .option('--update-ca <file>', UPDATE_CA_HELP);
  type DnsOptions = DirOption & { zone: string; updateApi: string; updateCa?: string };
  const dnsTarget = async (options: DnsOptions, label?: string) => {
    const updateApi = updateApiOption(options.updateApi);
    const { defaultBoxDir, loadBoxIdentity, DnsUpdateClient } = await loadBox();
    const identity = loadBoxIdentity(boxDir(options, defaultBoxDir));
    const zone = options.zone.toLowerCase().replace(/\.$/, '');
    const base = `${identity.fingerprint}.${zone}`;
    const name = recordName(label, base, zone);
    const client = new DnsUpdateClient({ baseUrl: updateApi, box: identity, ...updateCaOption(options.updateCa) });
    return { client, name, base, zone };
  };

  dnsOptions(dns.command('list').description('list the box records'))
    .option('--json', 'print JSON')
    .addHelpText('after', `\n${DNS_EXIT_CODES}`)
    .action(async (options: DnsOptions & { json?: boolean }) => {
      const { client, name } = await dnsTarget(options);
      const records = await client.list(name);
      if (options.json) console.log(JSON.stringify(records));
      else for (const r of records) console.log(recordLine(r));
      // Said on stderr (stdout stays the records, none): an empty output read as a command that did nothing.
      if (!options.json && records.length === 0) process.stderr.write(`no records at or under ${name} yet (pairgate box dns set <label> <type> <value> adds one)\n`);
    });

  dnsOptions(dns.command('set <label> <type> <value>').description('set a record at <label>.<fp>.<zone> (@ for <fp>.<zone>); type A, AAAA, CNAME or TXT'))
    .option('--ttl <time>', 'TTL, up to 24h, e.g. 5m; a plain number is seconds (default: the server\'s PAIRGATE_DNS_TTL, 600; at least its PAIRGATE_DNS_MIN_TTL, 30)')
    .option('--json', 'print the record written as one line of JSON, as in box dns list --json')
    .addHelpText('after', `
A CNAME target is a full name: end it with a dot (example.org.), or give a
name of the zone in full (local.<fp>.box.example.com), or @ for <fp>.<zone>.
Any other name without its final dot (local, example.org) is refused, as it
could be read under <fp>.<zone> or as it is.

A record the box does not set again within the server's record lifetime
(PAIRGATE_DNS_RECORD_LIFETIME_DAYS, 30 days by default) is removed: setting it
again unchanged renews it, so run this from a timer (cron, a systemd timer)
for records you keep. "box announce --zone" renews its own names by itself.

Examples:
  $ pairgate box dns set local A 192.168.1.20 --zone box.example.com \\
      --update-api https://pair.example.com:8443 --update-ca pair-update.pem
  $ pairgate box dns set www CNAME local.<fp>.box.example.com --ttl 300 ...
  $ pairgate box dns set docs CNAME example.org. ...

${DNS_EXIT_CODES}`)
    .action(async (label: string, type: string, value: string, options: DnsOptions & { ttl?: string; json?: boolean }) => {
      const upper = recordTypeOption(type, '<type>');
      // The update API's own bounds, named as the option: it said "body.ttl must be <= 86400".
      // With the update API's code for a TTL it refuses (invalid_ttl), not the generic invalid_request.
      const ttl = timeOption(options.ttl, '--ttl', 's', 0, 86_400, 'invalid_ttl');
      const { client, name, base, zone } = await dnsTarget(options, label);
      const record = await client.set(name, upper, upper === 'CNAME' ? cnameTarget(value, base, zone) : value, ttl);
      console.log(options.json ? JSON.stringify(record) : recordLine(record));
    });

  dnsOptions(dns.command('delete <label>').description('delete the records at <label>.<fp>.<zone> (only of --type / --value when given)'))
    .option('--type <type>', 'only this type')
    .option('--value <value>', 'only this value')
    .option('--json', 'print {"name", "deleted"} as one line of JSON (deleted: how many records went, 0 when none was there)')
    .addHelpText('after', `
When there is no such record, it says so ("no ... record at <name>: nothing to
delete") and exits 0: the record is not there, as asked.

${DNS_EXIT_CODES}`)
    .action(async (label: string, options: DnsOptions & { type?: string; value?: string; json?: boolean }) => {
      const type = options.type === undefined ? undefined : recordTypeOption(options.type, '--type');
      const { client, name } = await dnsTarget(options, label);
      const result = await client.remove(name, { ...(type ? { type } : {}), ...(options.value !== undefined ? { value: options.value } : {}) });
      if (options.json) {
        console.log(JSON.stringify({ name, deleted: result.deleted }));
        return;
      }
      if (result.deleted > 0) {
        console.log(`deleted ${result.deleted} record(s) at ${name}`);
        return;
      }
      // Exit 0 all the same: the record is gone either way, which is what a script running this
      // again (or after someone else) wants. "deleted 0 record(s)" read as a success of something.
      const what = `${type ? `${type} ` : ''}record${options.value !== undefined ? ` with the value ${options.value}` : ''}`;
      console.log(`no ${what} at ${name}: nothing to delete`);
    });
}
