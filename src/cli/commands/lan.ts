import { Option, type Command } from 'commander';
import { InvalidRequestError } from '../../core/errors.js';
import { LineInput } from '../line-input.js';
import { httpUrlOption } from '../options.js';
import { helpParagraph } from '../help-text.js';
import { readStdinText } from '../stdin-text.js';
import { sizeOption, timeOption, timeWords } from '../unit-options.js';
import { decodeConnectionString, describeConnection, MAX_CONNECTION_STRING_LENGTH } from '../../doors/lan/connection-string.js';
import { BadCodeError, BadConnectionStringError } from '../../doors/lan/lan-errors.js';
import { DEFAULT_CONNECT_PORT, scanNearby } from '../../doors/lan/discovery.js';
import { MAX_ADDRESSES } from '../../doors/lan/ip-addresses.js';
import {
  addressesOf, checkQrImagePath, cleanUpOnSignal, collect, configDirOf, discoveryOf, intOption, jsonOption, lanAction, pairingJson, pairingText, progressBar,
  removeFiles, stderrLog, withConfigDir, withDiscovery, type CommonLanOptions,
} from './lan-cli-support.js';

/**
 * TLS pairing, the device identity (X.509) and QR codes, loaded when a lan command runs: a quarter
 * of a second that `pairgate --help` and every other command would otherwise pay for.
 */
async function loadLan() {
  // Stopped while the modules load (a second or more on a busy machine): say so too, rather than
  // end silently as Node does by default, like every later Ctrl-C (the cleanups below add theirs).
  cleanUpOnSignal(() => []);
  const [connect, joining, codeJoining, offer, qr, payload, frames] = await Promise.all([
    import('../../doors/lan/connect.js'),
    import('../../doors/lan/join.js'),
    import('../../doors/lan/code-join.js'),
    import('../../doors/lan/offer.js'),
    import('../../doors/lan/qr.js'),
    import('../../doors/lan/payload.js'),
    import('../../doors/lan/frames.js'),
  ]);
  // Ctrl-C in the middle of an exchange: the other device is told this one was stopped (it says
  // so rather than "connection lost"), and no half-received file is left behind.
  cleanUpOnSignal((signal) => frames.tellPeersStopped(signal));
  cleanUpOnSignal(payload.removePartialPayloads);
  return { ...connect, ...joining, ...codeJoining, ...offer, ...qr };
}

interface OfferCliOptions extends CommonLanOptions {
  payload?: string;
  out?: string;
  timeout: string;
  maxFailures: string;
  maxSize?: string;
  address?: string[];
  port?: string;
  bind?: string;
  name?: string;
  qr: boolean;
  qrPng?: string;
  qrSvg?: string;
  announce?: boolean;
  code?: boolean;
}

interface JoinCliOptions extends CommonLanOptions {
  dialTimeout: string;
  payload?: string;
  out?: string;
  timeout: string;
  maxSize?: string;
  name?: string;
  code?: string;
  device?: string;
  address?: string[];
  port?: string;
}

interface ConnectCliOptions extends CommonLanOptions {
  listen?: boolean;
  address?: string[];
  port?: string;
  bind?: string;
  timeout?: string;
  payload?: string;
  out?: string;
  maxSize?: string;
}

/**
 * The exit codes of the lan commands, in their --help: reportCliError's rule (2 for a 4xx code,
 * 1 for a 5xx) over the codes of `lan-errors.ts`, and 130 for Ctrl-C (`cleanUpOnSignal`).
 */
const LAN_EXIT_CODES = `Exit code: 0 on success; 2 for what is fixed here (a malformed option, a
connection string or code mistyped, a config folder that cannot be used, a
device not trusted, an offer or listener whose --timeout ran out); 1 when the
other device could not be reached (an offer that has ended too), the other
device or the network failed, or a side could not save; 130 when stopped with
Ctrl-C. Each subcommand's --help names its codes.`;

/** What ends an exchange of payloads, or the save of a trusted peer after it, with exit code 1. */
const LAN_SESSION_FAILURES = `when the connection is lost or the other device fails on its side
(lan_connection_lost, lan_peer_failed, lan_timeout), a received file cannot be
written (lan_write_failed), or a side could not save (lan_trust_not_saved,
lan_peer_not_saved, lan_trust_unconfirmed); 130 when stopped with Ctrl-C.`;

/** --max-size of `lan offer` and `lan join`: what it limits, its units, and the payload module's default. */
const MAX_SIZE_HELP = 'largest payload accepted from the other device, e.g. 500M or 2G; a plain number is bytes (default: 1 GiB)';

/** What `lan nearby` says above its list: every name and id in it is a claim, checked only by pairing. */
const NEARBY_CLAIMS = 'Each name and id below is what a device claims about itself (anyone on this network can announce any, '
  + 'a real device\'s included); none is verified here. Pairing verifies the device: by the key its QR code or connection string pins, '
  + 'or by the pairing code proven both ways, and `lan connect` later by the key saved then.';

/**
 * The line `lan nearby` gives to pair with a device that takes a code: `--code -`, the code typed
 * when asked, as the offer's own line says, since a code given as an argument shows in the
 * process list (docs/lan.md). Its id, not its name: the name is anyone's to claim.
 */
function joinByCode(deviceId: string): string {
  return `pairgate lan join --code - --device ${deviceId}   and type the pairing code that device shows when asked`;
}

/** Options refused where they do not apply, with the verb that agrees: "--device works", "--address, --port work". */
function optionList(names: readonly string[]): string {
  return `${names.map((name) => `--${name}`).join(', ')} ${names.length === 1 ? 'works' : 'work'}`;
}

/**
 * A lan time option (`--duration`, `--timeout`) in milliseconds, from 1 s to `maxSeconds`: what
 * the lan modules count in (`durationMs`, `timeoutMs`), so `1500ms` and `1.5s` are taken as docs/lan.md
 * says times are, where whole seconds alone were. A plain number is still seconds, as it was.
 */
function lanTimeMs(value: string | undefined, name: string, maxSeconds: number): number | undefined {
  return timeOption(value, name, 'ms', 1000, maxSeconds * 1000, undefined, 's');
}

function emit(json: boolean | undefined, value: Record<string, unknown>, text: string): void {
  console.log(json ? JSON.stringify(value) : text);
}

/**
 * Most bytes `-` reads from a pipe or file: a connection string has at most
 * MAX_CONNECTION_STRING_LENGTH characters once its white space is dropped (`connection-string.ts`),
 * and one wrapped by a mail or a chat carries some; more than this is no connection string.
 */
const MAX_STDIN_BYTES = 4096;

/** What a `-` argument is, and how it says that stdin held too much. */
interface SecretKind {
  what: string;
  /** The refusal of stdin over MAX_STDIN_BYTES, with the code of the argument's own length error. */
  tooLong: () => Error;
  /** True when the text reads whole (a string pasted cut over several lines is read on). */
  complete?: (text: string) => boolean;
  /** The refusal of nothing read (`message` says from where), with the code of the argument's errors. */
  empty: (message: string) => Error;
}

const CONNECTION_STRING: SecretKind = {
  what: 'the connection string',
  tooLong: () => new BadConnectionStringError(`The connection string read from stdin is too long (over ${MAX_STDIN_BYTES} bytes; a string has at most ${MAX_CONNECTION_STRING_LENGTH} characters).`, 'length'),
  complete: wholeConnectionString,
  empty: (message) => new BadConnectionStringError(message, 'input'),
};

const PAIRING_CODE_INPUT: SecretKind = {
  what: 'the pairing code',
  tooLong: () => new BadCodeError(`The pairing code read from stdin is too long (over ${MAX_STDIN_BYTES} bytes; a code has 8 digits).`),
  empty: (message) => new BadCodeError(message),
};

/**
 * The connection string (or code) from the argument, or for `-` from stdin, which keeps the secret
 * out of `ps`. At a terminal: the first line, after a prompt on stderr, so a person pastes and
 * presses Enter (reading to the end of input left them before a silent command until they thought
 * of Ctrl-D). From a pipe or file: all of it, up to MAX_STDIN_BYTES (more is refused unread).
 */
async function secretArgument(value: string, { what, tooLong, complete, empty }: SecretKind): Promise<string> {
  if (value !== '-') return value.trim();
  if (!process.stdin.isTTY) {
    const text = await readStdinText(MAX_STDIN_BYTES);
    if (text === undefined) throw tooLong();
    // Said as what happened (an empty pipe, a file, </dev/null), not as a malformed string or code.
    if (text.trim() === '') throw empty(`Nothing was read from standard input, where "-" takes ${what} from: pipe or redirect it in, or run the command at a terminal and paste it when asked.`);
    return text.trim();
  }
  const input = new LineInput(process.stdin, process.stderr);
  try {
    let text = (await input.ask(`Paste ${what}, then press Enter: `) ?? '').trim();
    // A string copied from something that wrapped it (a narrow terminal, a mail) arrives as
    // several lines: read on while it is cut short, until it is whole or an empty line says "done".
    for (let more = 0; complete && text !== '' && !complete(text) && more < 16; more++) {
      const line = (await input.ask('It seems cut short: paste the rest (or press Enter to use it as it is): '))?.trim();
      if (!line) break;
      text += line;
    }
    if (text === '') throw empty(`Nothing was pasted: give ${what} when asked, or as the argument in place of "-".`);
    return text;
  } finally {
    input.close();
  }
}

/** True when `text` reads as a whole connection string. */
function wholeConnectionString(text: string): boolean {
  try {
    decodeConnectionString(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * `pairgate lan`: pair two devices on one network by QR code or connection string (`offer`,
 * `join`), list devices that announce themselves (`nearby`), and talk again to a device paired
 * before (`connect`). Peer to peer: no pairgate server is involved.
 */
export function registerLanCommand(program: Command): void {
  // Each sub-command has a summary short enough for this list to wrap at 80 columns (commander
  // stops wrapping when the description column is narrower than 40); its own --help says it all.
  const lan = program.command('lan').description('pair two devices on one network by QR code, peer to peer')
    .addHelpText('after', `\n${LAN_EXIT_CODES}`);

  withDiscovery(withConfigDir(lan.command('offer')))
    .summary('show a QR code, pair with one device')
    .description('listen for one device, show the QR code and connection string, pair, exchange a payload')
    .option('--payload <file>', 'a file to send to the device that joins')
    .addOption(new Option('--out <dir>', 'where a payload sent by the other device goes').default('.', 'the current folder'))
    .option('--timeout <time>', 'stop waiting after this long, e.g. 10m; a plain number is seconds', '5m')
    .option('--max-failures <n>', 'stop after this many failed attempts: a wrong secret, a bad protocol', '5')
    .option('--max-size <size>', MAX_SIZE_HELP)
    .option('--address <ip>', 'put this address in the string instead of discovering our own (repeatable, or a comma-separated list)', collect)
    .option('--port <port>', 'TCP port to listen on (default: random)')
    .option('--bind <ip>', 'listen on this address only (default: all addresses)')
    .option('--name <name>', 'this device\'s name, shown to the other device; saved in device.json, so it renames this device for good')
    .option('--no-qr', 'do not draw the QR code in the terminal')
    .option('--qr-png <file>', 'also write the QR code as a PNG image')
    .option('--qr-svg <file>', 'also write the QR code as an SVG image')
    .option('--no-discovery', 'do not send multicast announcements')
    .option('--announce', 'also announce this device by name to `pairgate lan nearby` (without the secret)')
    .option('--code', 'also accept a short pairing code (8 digits, shown): pair with `lan join --code` from a device that found this one by `lan nearby`; implies --announce')
    .addOption(jsonOption)
    .addHelpText('after', `
Examples:
  $ pairgate lan offer --payload wifi.conf
  $ pairgate lan offer --code --name attic

${helpParagraph(`Exit code: 0 when paired; 2 for bad input (a malformed option, a config folder
that cannot be used: lan_unsafe_config_dir, lan_config_dir_not_writable), no
device paired within --timeout (lan_offer_timeout), --max-failures reached
(lan_too_many_failures), a file over --max-size (lan_payload_too_large), a
device claiming the id of a peer trusted under another key
(lan_peer_id_conflict), a device that did not prove it holds the device key it
named (lan_key_not_proven); 1 ${LAN_SESSION_FAILURES}`)}`)
    .action(lanAction(async (options: OfferCliOptions) => {
      // Refused rather than ignored: without discovery nothing announces the device.
      if (options.announce && options.discovery === false) throw new InvalidRequestError('--announce needs multicast discovery: drop --no-discovery, or --announce.');
      const { startOffer, writeQrFile, qrForTerminal } = await loadLan();
      const timeoutMs = lanTimeMs(options.timeout, '--timeout', 86_400)!;
      checkQrImagePath(options.qrPng, '--qr-png');
      checkQrImagePath(options.qrSvg, '--qr-svg');
      const offer = await startOffer({
        configDir: configDirOf(options),
        deviceName: options.name,
        addresses: addressesOf(options.address, MAX_ADDRESSES),
        host: options.bind,
        port: intOption(options.port, '--port', 0, 65535),
        timeoutMs,
        maxFailures: intOption(options.maxFailures, '--max-failures', 1, 1000),
        maxPayloadBytes: sizeOption(options.maxSize, '--max-size', 0, Number.MAX_SAFE_INTEGER),
        payloadPath: options.payload,
        outDir: options.out,
        discovery: options.discovery === false ? false : discoveryOf(options),
        announcePlain: options.announce,
        code: options.code,
        // GET /diagnostics checks the server too when one is configured, as `pairgate doctor` does.
        // Checked as every --server is: one with a password in it is refused, never shown in a report.
        ...(process.env.PAIRGATE_SERVER ? { server: httpUrlOption(process.env.PAIRGATE_SERVER, 'PAIRGATE_SERVER', 'https://pair.example.com') } : {}),
        log: stderrLog,
        onProgress: progressBar(),
      });
      // The images hold the secret of this offer alone: once it ends (paired, timed out, stopped
      // with Ctrl-C) they are of no use to anyone, and a QR code scanned later would only fail.
      const images = [options.qrPng, options.qrSvg];
      cleanUpOnSignal(() => removeFiles(images));
      // Checked above, but the folder can still change (or the disk fill) meanwhile: say which
      // image, and stop the offer rather than leave it listening for a code nobody was shown.
      for (const [path, format, option] of [[options.qrPng, 'png', '--qr-png'], [options.qrSvg, 'svg', '--qr-svg']] as const) {
        if (!path) continue;
        try {
          await writeQrFile(path, offer.connectionString, format);
        } catch (error) {
          removeFiles(images);
          offer.result.catch(() => undefined);
          await offer.close();
          throw new InvalidRequestError(`${option} ${path}: the image cannot be written (${(error as Error).message}); write it somewhere else.`);
        }
      }
      if (options.json) {
        console.log(JSON.stringify({ event: 'offer', connectionString: offer.connectionString, ...(offer.code ? { code: offer.code } : {}), ...offer.description, ...(offer.ownIp ? { ownIp: offer.ownIp } : {}) }));
      } else {
        // Colours only for a terminal: in a file or a pipe they are escape bytes in the way.
        if (options.qr) console.log(await qrForTerminal(offer.connectionString, { colours: process.stdout.isTTY === true }));
        console.log(`Connection string: ${offer.connectionString}`);
        stderrLog(`Listening on port ${offer.port}, addresses ${offer.description.addresses.join(', ') || '(none: the other device finds this one by multicast)'}.`);
        if (offer.code) console.log(`Pairing code: ${offer.code}`);
        // One line to run, with "-": the string and the code are secrets, which an argument shows in
        // the process list and the shell's history. With a code, its join comes first: it is what
        // the person reads off this screen; without discovery nothing announces the offer, so
        // --device would find nothing and the other device must dial it.
        const where = options.discovery === false
          ? `--address ${offer.description.addresses[0] ?? '<this device\'s address>'} --port ${offer.port}`
          : `--device "${offer.description.name}"`;
        const run = offer.code
          ? `pairgate lan join --code - ${where}   and type the pairing code when it asks (or: pairgate lan join -   and paste the connection string)`
          : 'pairgate lan join -   and paste the connection string when it asks';
        stderrLog(`On the other device run: ${run} (waiting up to ${timeWords(timeoutMs, 'ms')}; Ctrl-C to stop)`);
        // A name is a claim any device nearby may copy; the id it is known by is chosen over such copies.
        if (offer.code && options.discovery !== false) stderrLog(`If another device nearby offers a code under the name "${offer.description.name}", name this one by its id instead: --device ${offer.description.deviceId}`);
        stderrLog(`Diagnostics while waiting: curl http://127.0.0.1:${offer.port}/diagnostics   (with the doctor's checks, up to 10 s; ?doctor=0 for the state alone)`);
      }
      const result = await offer.result.finally(() => removeFiles(images));
      emit(options.json, pairingJson(result), pairingText(result));
    }));

  withDiscovery(withConfigDir(lan.command('join')))
    .summary('pair with an offer: its string or code')
    .description('pair with the device whose connection string (QR code text) is given ("-" reads it from stdin), or with --code')
    .argument('[connection-string]', 'the pg1:... string shown by `pairgate lan offer`, or - to read it from stdin')
    .option('--code <code>', 'pair by the short code shown by `pairgate lan offer --code` instead (- reads it from stdin)')
    .option('--device <name-or-id>', 'with --code: the device to pair with, as `pairgate lan nearby` lists it (needed when several offer a code)')
    .option('--address <ip>', 'with --code: dial this address instead of looking for announcements (with --port)', collect)
    .option('--port <port>', 'with --code and --address: the offer\'s TCP port')
    .option('--payload <file>', 'a file to send to the offering device')
    .addOption(new Option('--out <dir>', 'where a payload sent by the other device goes').default('.', 'the current folder'))
    .option('--timeout <time>', 'how long multicast discovery may look for the device, when the string\'s addresses fail or with --code; a plain number is seconds', '15s')
    .option('--max-size <size>', MAX_SIZE_HELP)
    .option('--dial-timeout <time>', 'how long to wait for each address of the string, e.g. 2s or 1500ms; a plain number is milliseconds', '5s')
    .option('--name <name>', 'this device\'s name, shown to the other device; saved in device.json, so it renames this device for good')
    .option('--no-discovery', 'do not fall back to multicast discovery')
    .addOption(jsonOption)
    .addHelpText('after', `
Examples:
  $ pairgate lan join -                        # paste the string shown by lan offer, then Enter
  $ pairgate lan join --code - --device attic  # type the code lan offer --code shows, then Enter

${helpParagraph(`Exit code: 0 when paired; 2 for bad input (a malformed option or config
folder, a string or code that cannot be one: lan_bad_connection_string,
lan_bad_code), a wrong secret or code (lan_wrong_secret, lan_wrong_code), a
device that is not the one in the string (lan_key_mismatch) or that did not
prove it holds the device key it named (lan_key_not_proven), an offer that
ended or paired with another device (lan_offer_timeout, lan_listener_closed,
lan_already_paired), several devices and no --device (lan_ambiguous_device),
a file over --max-size (lan_payload_too_large), an offer claiming the id of a
peer trusted under another key (lan_peer_id_conflict); 1 when the offer cannot
be reached or found (lan_peer_unreachable, lan_device_not_found), is busy with
other devices trying to pair (lan_offer_busy: try again in a few seconds), or
${LAN_SESSION_FAILURES}`)}`)
    .action(lanAction(async (value: string | undefined, options: JoinCliOptions) => {
      // Read before a "-" reads the string or code from stdin: a person who has just pasted a
      // secret should not be told only then that an option was mistyped, and paste it again.
      const discoveryTimeoutMs = lanTimeMs(options.timeout, '--timeout', 3600)!;
      const dialTimeoutMs = timeOption(options.dialTimeout, '--dial-timeout', 'ms', 100, 120_000);
      const maxPayloadBytes = sizeOption(options.maxSize, '--max-size', 0, Number.MAX_SAFE_INTEGER);
      // What a join by string and a join by code share.
      const joinOptions = () => ({
        configDir: configDirOf(options),
        deviceName: options.name,
        discoveryTimeoutMs,
        dialTimeoutMs,
        payloadPath: options.payload,
        outDir: options.out,
        maxPayloadBytes,
        log: stderrLog,
        onProgress: progressBar(),
      });
      if (options.code !== undefined) {
        if (value !== undefined) throw new InvalidRequestError('Give either a connection string or --code, not both.');
        const address = addressesOf(options.address);
        if (address && address.length > 1) throw new InvalidRequestError('--code takes one --address.');
        if ((address === undefined) !== (options.port === undefined)) throw new InvalidRequestError('--address and --port go together.');
        if (!address && options.discovery === false) throw new InvalidRequestError('With --no-discovery, --code needs --address and --port.');
        const { joinWithCode } = await loadLan();
        const result = await joinWithCode(await secretArgument(options.code, PAIRING_CODE_INPUT), {
          ...joinOptions(),
          device: options.device,
          ...(address ? { address: address[0]!, port: intOption(options.port, '--port', 1, 65535)! } : {}),
          discovery: discoveryOf(options),
        });
        emit(options.json, pairingJson(result), pairingText(result));
        return;
      }
      if (value === undefined) throw new InvalidRequestError('Give the connection string (or - to read it from stdin), or --code.');
      // Refused rather than ignored: the string names its device and addresses itself.
      const codeOnly = (['address', 'port', 'device'] as const).filter((name) => options[name] !== undefined);
      if (codeOnly.length > 0) throw new InvalidRequestError(`${optionList(codeOnly)} with --code only: a connection string carries its own device and addresses.`);
      const info = decodeConnectionString(await secretArgument(value, CONNECTION_STRING));
      const { join } = await loadLan();
      const result = await join(info, { ...joinOptions(), discovery: options.discovery === false ? false : discoveryOf(options) });
      emit(options.json, pairingJson(result), pairingText(result));
    }));

  withDiscovery(lan.command('nearby'))
    .summary('list devices announcing themselves')
    .description('list devices on this network that announce themselves (advisory: pair with the QR code or, when listed, the short code)')
    .option('--duration <time>', 'how long to listen, e.g. 10s or 1m; a plain number is seconds', '3s')
    // Its name before units were taken (`--seconds 10`): kept working for scripts, out of --help.
    .addOption(new Option('--seconds <time>', 'former name of --duration; a plain number is seconds').hideHelp())
    .addOption(jsonOption)
    .addHelpText('after', `
Exit code: 0 when it listened (whether or not a device announced itself), 2
for a malformed option, 1 when multicast cannot be joined on any interface.`)
    .action(async (options: CommonLanOptions & { duration: string; seconds?: string }, command: Command) => {
      // Both given: whichever won would silently overrule the other (--duration has a default,
      // so only its source tells a typed one apart).
      if (options.seconds !== undefined && command.getOptionValueSource('duration') === 'cli') throw new InvalidRequestError('--seconds is the former name of --duration: give one of them.');
      const durationMs = options.seconds !== undefined ? lanTimeMs(options.seconds, '--seconds', 600)! : lanTimeMs(options.duration, '--duration', 600)!;
      const devices = await scanNearby({ ...discoveryOf(options), durationMs });
      if (options.json) {
        console.log(JSON.stringify({ devices: devices.map(({ deviceId, name, address, port, code }) => ({ deviceId, name, address, port, code: code === true })) }));
        return;
      }
      // How long it listened, and what checks the multicast itself: nothing heard may be a network
      // that drops it (Wi-Fi client isolation, a firewall), not only no offer running.
      if (devices.length === 0) console.log(`No device announced itself in ${timeWords(durationMs, 'ms')} of listening. (Only \`pairgate lan offer --announce\` or \`--code\` does; listen longer with --duration, e.g. --duration 10s.) If one runs on this network, run \`pairgate doctor\` on both devices: it checks that multicast gets through.`);
      // Plain announcements carry no proof: anyone on the network can announce any name and id
      // (even a real device's). Said before the list, so nobody reads an id here as verified.
      if (devices.length > 0) console.log(NEARBY_CLAIMS);
      for (const d of devices) console.log(`${d.name ?? '(no name)'}  ${d.address} port ${d.port}  id ${d.deviceId}${d.code ? `  takes a code: ${joinByCode(d.deviceId)}` : ''}`);
    });

  withConfigDir(lan.command('connect'))
    .summary('talk again to a trusted peer')
    .description('talk again to a trusted peer over mutual TLS pinned to its stored key (no QR code); --listen waits for one')
    .argument('[peer]', 'the peer: its device id, key pin (or a 6+ character prefix) or name')
    .option('--listen', 'wait for a trusted peer to connect instead of dialling')
    .option('--address <ip>', 'dial this address instead of the stored ones (repeatable, or a comma-separated list)', collect)
    .option('--port <port>', `TCP port (default: ${DEFAULT_CONNECT_PORT})`)
    .option('--bind <ip>', 'with --listen: listen on this address only')
    .option('--timeout <time>', 'with --listen: stop waiting after this long, e.g. 10m; a plain number is seconds (default: 5m)')
    .option('--payload <file>', 'a file to send')
    .addOption(new Option('--out <dir>', 'where a received payload goes').default('.', 'the current folder'))
    .option('--max-size <size>', 'largest payload accepted, e.g. 500M or 2G; a plain number is bytes (default: 1 GiB)')
    .addOption(jsonOption)
    .addHelpText('after', `
Examples:
  $ pairgate lan connect --listen                     # on one device, first
  $ pairgate lan connect laptop --payload notes.txt   # on the other: the peer as \`pairgate peers list\` names it

${helpParagraph(`Exit code: 0 when connected and both devices recorded the session; 2 for bad
input (a malformed option, a peer none matches: lan_unknown_peer, a name
several match: lan_ambiguous_peer, a config folder or peers.json that cannot
be used), a key the other device does not trust (lan_not_trusted) or not the
one stored (lan_key_mismatch), a --listen that no session completed within
--timeout (lan_listen_timeout); 1 when the peer cannot be reached
(lan_peer_unreachable), or ${LAN_SESSION_FAILURES}`)}`)
    .action(lanAction(async (peer: string | undefined, options: ConnectCliOptions) => {
      // Refused rather than ignored, as `lan join` refuses what it cannot use: a listener dials no one.
      if (options.listen && options.address !== undefined) {
        throw new InvalidRequestError(`${optionList(['address'])} without --listen only: it is where to dial the peer (to listen on one address, use --bind).`);
      }
      const { listenForTrustedPeer, connectToTrustedPeer } = await loadLan();
      const common = {
        configDir: configDirOf(options),
        payloadPath: options.payload,
        outDir: options.out,
        maxPayloadBytes: sizeOption(options.maxSize, '--max-size', 0, Number.MAX_SAFE_INTEGER),
        log: stderrLog,
        onProgress: progressBar(),
      };
      const port = intOption(options.port, '--port', options.listen ? 0 : 1, 65535);
      if (options.listen) {
        if (peer) throw new InvalidRequestError('Give either a peer to dial or --listen, not both.');
        const listener = await listenForTrustedPeer({ ...common, host: options.bind, port, timeoutMs: lanTimeMs(options.timeout ?? '5m', '--timeout', 86_400)! });
        if (options.json) console.log(JSON.stringify({ event: 'listening', port: listener.port }));
        else stderrLog(`Waiting for a trusted peer on port ${listener.port}...`);
        const result = await listener.result;
        emit(options.json, pairingJson(result), pairingText(result).replace(/^Paired with/, 'Connected with'));
        return;
      }
      if (!peer) throw new InvalidRequestError('Name the peer to connect to (see "pairgate peers list"), or use --listen.');
      // Refused rather than ignored: they are the listening side's.
      const listenOnly = (['bind', 'timeout'] as const).filter((name) => options[name] !== undefined);
      if (listenOnly.length > 0) throw new InvalidRequestError(`${optionList(listenOnly)} with --listen only.`);
      const result = await connectToTrustedPeer(peer, { ...common, addresses: addressesOf(options.address), port });
      emit(options.json, pairingJson(result), pairingText(result).replace(/^Paired with/, 'Connected with'));
    }));

  lan.command('inspect')
    .summary('show what a connection string holds')
    .description('show what a connection string holds, without its secret; "-" reads it from stdin')
    .argument('<connection-string>')
    .addOption(jsonOption)
    .addHelpText('after', `
Exit code: 0 when shown, 2 for a string that is not a connection string
(lan_bad_connection_string).`)
    .action(async (value: string, options: { json?: boolean }) => {
      const described = describeConnection(decodeConnectionString(await secretArgument(value, CONNECTION_STRING)));
      emit(options.json, described, `Device "${described.name}" (id ${described.deviceId})\nAddresses: ${described.addresses.join(', ') || '(none)'}\nPort: ${described.port}\nKey pin (SPKI SHA-256): ${described.keySha256}`);
    });
}
