import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, utimesSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer } from 'node:net';
import { Resolver } from 'node:dns/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CLI, ensureBuilt, runCli } from '../helpers/cli.js';
import { createDnsApp, ZONE } from '../doors/dns/dns-helpers.js';
import { freePort as closedPort } from '../helpers/ports.js';

beforeAll(ensureBuilt, 120_000);

/** An ACME directory that answers, whose every other URL is a port nothing listens on. */
async function goneAcmeServer(): Promise<{ directory: Server; url: string }> {
  const gone = `http://127.0.0.1:${await closedPort()}`;
  const directory = createHttpServer((_request, response) => {
    response.setHeader('content-type', 'application/json');
    response.end(JSON.stringify({ newNonce: `${gone}/nonce`, newAccount: `${gone}/account`, newOrder: `${gone}/order`, revokeCert: `${gone}/revoke`, keyChange: `${gone}/key` }));
  });
  await new Promise<void>((resolve) => directory.listen(0, '127.0.0.1', resolve));
  return { directory, url: `http://127.0.0.1:${(directory.address() as { port: number }).port}/dir` };
}

const run = (args: string[], env: Record<string, string> = {}) => runCli(args, env, 60_000);

/**
 * The `pairgate serve` children of the running test. Each leads a process group of its own
 * (detached), which is killed whole after the test, passed, failed or timed out: a test that
 * stopped at a failed expectation left its server (and DNS ports) running, before.
 */
const serveChildren: ChildProcess[] = [];

/** True while any process of the group `pid` leads is alive. */
function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Kills the process groups of the serve children started so far; waits until their leaders are gone. */
async function stopServeChildren(): Promise<void> {
  await Promise.all(serveChildren.splice(0).map(async (child) => {
    const exited = child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise<void>((resolve) => child.once('exit', () => resolve()));
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch (error) {
      // ESRCH: the group is gone already (the test stopped it).
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
    }
    await exited;
  }));
}
afterEach(stopServeChildren);

/** Starts `pairgate serve` with `env` in a process group of its own, stopped after the test (`stopServeChildren`). */
function startServe(args: string[], env: Record<string, string>): ChildProcess {
  const child = spawn('node', [CLI, 'serve', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env }, detached: true });
  serveChildren.push(child);
  return child;
}

/** The first `count` lines `child` prints; rejects when it exits or has not printed them in `timeoutMs`. */
function firstLines(child: ChildProcess, count: number, timeoutMs = 30_000): Promise<string[]> {
  return new Promise<string[]>((resolve, reject) => {
    const read: string[] = [];
    const timer = setTimeout(() => reject(new Error(`no ${count} lines in ${timeoutMs} ms: ${read.join('\n')}`)), timeoutMs);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      read.push(line);
      if (read.length === count) {
        clearTimeout(timer);
        resolve(read);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited ${code}: ${read.join('\n')}`));
    });
  });
}

describe('pairgate box', () => {
  it('has --help on box and every sub-command', async () => {
    const help = (await run(['box', '--help'])).stdout;
    for (const sub of ['init', 'id', 'announce', 'cert', 'advertise', 'dns']) expect(help).toMatch(new RegExp(`^  ${sub} `, 'm'));
    const subHelps = await Promise.all(['init', 'id', 'announce', 'cert', 'advertise', 'dns set'].map(async (sub) => ({ sub, result: await run(['box', ...sub.split(' '), '--help']) })));
    for (const { sub, result } of subHelps) {
      expect(result.status, sub).toBe(0);
      expect(result.stdout).toMatch(new RegExp(`Usage: pairgate box ${sub}`));
    }
    // What a failed certificate order says, and how a CNAME target is read, are in the help.
    expect(subHelps.find((h) => h.sub === 'cert')!.result.stdout).toMatch(/acme_challenge_invalid\s+\(the\s+CA\s+cannot\s+see\s+the\s+record:\s+check\s+that\s+the\s+zone\s+is\s+delegated/);
    expect(subHelps.find((h) => h.sub === 'dns set')!.result.stdout).toContain('A CNAME target is a full name: end it with a dot (example.org.)');
  }, 60_000);

  it('init prints the fingerprint; id prints it again (and the legacy form); no identity is a clear error', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'pairgate-cli-box-')), 'box');
    const missing = await run(['box', 'id', '--dir', dir]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/There is no box identity in .*: run `pairgate box init` first .*\[no_box_identity\]/);
    const init = await run(['box', 'init', '--dir', dir]);
    expect(init.status, init.stderr).toBe(0);
    const fingerprint = init.stdout.trim();
    expect(fingerprint).toMatch(/^[a-z2-7]{52}$/);
    expect((await run(['box', 'id'], { PAIRGATE_BOX_DIR: dir })).stdout.trim()).toBe(fingerprint);
    expect((await run(['box', 'id', '--dir', dir, '--legacy'])).stdout.trim()).toMatch(/^[0-9a-f]{40}$/);
    expect(JSON.parse((await run(['box', 'id', '--dir', dir, '--json'])).stdout)).toMatchObject({ fingerprint, dir });
  }, 60_000);

  it('a box command clears the temporary files a stopped writer left in the folder (a copy of the key), older than a minute only', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'pairgate-cli-box-')), 'box');
    expect((await run(['box', 'init', '--dir', dir])).status).toBe(0);
    const leftover = join(dir, 'box.key.0123456789ab.tmp');
    const live = join(dir, 'box.crt.abcdefabcdef.tmp');
    for (const path of [leftover, live]) writeFileSync(path, 'a copy of the key', { mode: 0o600 });
    const then = new Date(Date.now() - 5 * 60_000);
    utimesSync(leftover, then, then);
    expect((await run(['box', 'id', '--dir', dir])).status).toBe(0);
    expect(existsSync(leftover)).toBe(false);
    expect(existsSync(live)).toBe(true);
  }, 60_000);

  it('init again keeps the identity and says so on stderr (stdout stays the fingerprint alone); --force makes a new one', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'pairgate-cli-box-')), 'box');
    const first = await run(['box', 'init', '--dir', dir]);
    expect(first.status, first.stderr).toBe(0);
    expect(first.stderr).toBe('');
    const fingerprint = first.stdout.trim();
    const again = await run(['box', 'init', '--dir', dir]);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stdout).toBe(`${fingerprint}\n`);
    expect(again.stderr).toBe(`kept the existing identity in ${dir} (pairgate box init --force makes a new one, with a new fingerprint)\n`);
    const json = await run(['box', 'init', '--dir', dir, '--json']);
    expect(JSON.parse(json.stdout)).toMatchObject({ fingerprint, dir });
    expect(json.stderr).toMatch(/^kept the existing identity/);
    const forced = await run(['box', 'init', '--dir', dir, '--force']);
    expect(forced.status, forced.stderr).toBe(0);
    expect(forced.stderr).toBe('');
    expect(forced.stdout.trim()).toMatch(/^[a-z2-7]{52}$/);
    expect(forced.stdout.trim()).not.toBe(fingerprint);
  }, 60_000);

  it('wrong inputs are refused before any request, naming the option and what it takes (exit 2); an ACME server that does not answer is said so (exit 1)', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'pairgate-cli-box-')), 'box');
    expect((await run(['box', 'init', '--dir', dir])).status).toBe(0);
    const nothing = `https://127.0.0.1:${await closedPort()}`;
    const dnsArgs = ['--dir', dir, '--zone', 'box.example.test'];

    // The main server's http:// address given as the update API: Node's 'Protocol "http:" not supported', exit 1, before.
    const http = await run(['box', 'dns', 'list', ...dnsArgs, '--update-api', 'http://127.0.0.1:8080']);
    expect(http.status).toBe(2);
    expect(http.stderr).toMatch(/^pairgate: --update-api: "http:\/\/127\.0\.0\.1:8080" is not https:\/\/: the DNS update API is the server's HTTPS listener .*PAIRGATE_DNS_UPDATE_PORT/);

    // A key given as --update-ca: "a TLS certificate this client does not trust", exit 1, before.
    const key = await run(['box', 'dns', 'list', ...dnsArgs, '--update-api', nothing, '--update-ca', join(dir, 'box.key')]);
    expect(key.status).toBe(2);
    expect(key.stderr).toContain(`--update-ca: ${join(dir, 'box.key')} holds a private key, not a certificate; give the update API's certificate, <data dir>/dns-update-tls/cert.pem`);

    // "querystring.type must be equal to constant" from the server, before.
    const type = await run(['box', 'dns', 'delete', 'www', '--type', 'MX', ...dnsArgs, '--update-api', nothing]);
    expect(type.status).toBe(2);
    expect(type.stderr).toBe('pairgate: --type: unknown record type MX: use A, AAAA, CNAME or TXT. [invalid_request]\n');

    // --update-ca alone was ignored in silence (the box announced its address, not a DNS name).
    const caAlone = await run(['box', 'announce', '--once', '--dir', dir, '--server', nothing, '--update-ca', join(dir, 'box.crt')]);
    expect(caAlone.status).toBe(2);
    expect(caAlone.stderr).toBe('pairgate: --update-ca is the certificate of the update API: it goes with --zone and --update-api (to announce a DNS name), or not at all. [invalid_request]\n');

    // 'body: "client" is required' from the registry, before.
    const origin = await run(['box', 'announce', '--once', '--dir', dir, '--server', nothing, '--local-origin', 'foo']);
    expect(origin.status).toBe(2);
    expect(origin.stderr).toMatch(/^pairgate: --local-origin: "foo" is not an http:\/\/ or https:\/\/ URL/);

    // --out that cannot be made: found before the order, not after it (the certificate was lost).
    const file = join(dir, 'a-file');
    writeFileSync(file, '');
    const certArgs = ['box', 'cert', '--dir', dir, '--zone', 'box.example.test', '--update-api', nothing, '--acme-directory', `${nothing}/dir`];
    const out = await run([...certArgs, '--out', join(file, 'certs')]);
    expect(out.status).toBe(2);
    expect(out.stderr).toBe(`pairgate: --out: ${file} is not a folder; choose a folder this user may write to [config_invalid]\n`);

    // A label the CA refuses, no label, a host name as --dns-server: exit 1 with the CA's or c-ares' words, before.
    const label = await run([...certArgs, '--labels', 'local,bad!']);
    expect(label.status).toBe(2);
    expect(label.stderr).toBe('pairgate: --labels: "bad!" is not a host name label (letters, digits and -, e.g. local,a,b). [invalid_request]\n');
    expect((await run([...certArgs, '--labels', ' , '])).stderr).toMatch(/^pairgate: --labels takes comma-separated labels/);
    // Refused by the CA after the directory and the update API were asked, exit 1, before.
    const email = await run([...certArgs, '--email', 'not an email']);
    expect(email.status).toBe(2);
    expect(email.stderr).toBe('pairgate: --email: "not an email" is not an e-mail address (e.g. admin@example.com); the CA writes to it about the certificate. [invalid_request]\n');
    const dnsServer = await run([...certArgs, '--dns-server', 'ns1.example.test']);
    expect(dnsServer.status).toBe(2);
    expect(dnsServer.stderr).toMatch(/^pairgate: --dns-server: "ns1\.example\.test" is not an IP address with an optional port/);

    // "Cannot read properties of undefined (reading 'config')" from acme-client, after "no ACME account", before.
    const acme = await run(certArgs);
    expect(acme.status).toBe(1);
    expect(acme.stderr).toBe(`pairgate: Cannot reach the ACME server at ${nothing}/dir (ECONNREFUSED). Check --acme-directory and that the server runs. [acme_unreachable]\n`);

    // advertise --serve on a port taken: an unhandled 'error' event and its stack trace, before.
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const taken = (holder.address() as { port: number }).port;
    try {
      const advertise = await run(['box', 'advertise', '--dir', dir, '--serve', '--host', '127.0.0.1', '--port', String(taken), '--mdns-interface', '127.0.0.1', '--mdns-port', String(await closedPort())]);
      expect(advertise.status).toBe(2);
      expect(advertise.stderr).toBe(`pairgate: cannot listen on 127.0.0.1:${taken} for the box's HTTPS (--serve): another program already does (another pairgate?). Stop it, or choose another port with --port (0 picks a free one). [address_in_use]\n`);
    } finally {
      holder.close();
    }

    // An --mdns-interface address this machine does not have: multicast-dns only warned (ENODEV) and "advertising" was printed, before.
    const foreign = await runCli(['box', 'advertise', '--dir', dir, '--mdns-interface', '192.0.2.77', '--mdns-port', String(await closedPort())], {}, 10_000);
    expect(foreign.status).toBe(2);
    expect(foreign.stdout).toBe('');
    expect(foreign.stderr).toMatch(/^pairgate: --mdns-interface: 192\.0\.2\.77 is not an IPv4 address of this machine \(its addresses: [^)]*127\.0\.0\.1[^)]*\)\. Give one of them, or leave the option out to let the system choose\. \[invalid_request\]\n$/);
  }, 60_000);

  it('box cert with a CA that stops answering after its directory: acme_unreachable naming the step (exit 1), no stack, nothing written', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'pairgate-cli-box-')), 'box');
    expect((await run(['box', 'init', '--dir', dir])).status).toBe(0);
    // A directory that answers, whose every other URL is a port nothing listens on: the CA went away mid-order.
    const { directory, url } = await goneAcmeServer();
    // A real update API (checked before the account and the order).
    const { t, runtime } = await createDnsApp();
    const caFile = join(dir, 'update-ca.pem');
    writeFileSync(caFile, runtime.updateCertPem!);
    try {
      const result = await run(['box', 'cert', '--dir', dir, '--zone', ZONE, '--update-api', runtime.updateApi!.url, '--update-ca', caFile, '--acme-directory', url]);
      expect(result.status).toBe(1);
      expect(result.stderr).toBe(`registering an ACME account with ${url}\npairgate: The ACME server ${url} stopped answering while registering the ACME account (ECONNREFUSED). Check that it runs and that this machine reaches it, then run the command again; no certificate was written. [acme_unreachable]\n`);
      expect(existsSync(join(dir, 'acme-account.key'))).toBe(false);
    } finally {
      directory.close();
      await t.close();
    }
  }, 60_000);

  it('serve runs the DNS server and the update API when a zone is set, printing their ports after the URL line; box announce --once registers; SIGTERM stops all', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'pairgate-cli-dns-'));
    // No info log: the ports picked for port 0 are read from standard output alone.
    const child = startServe(['--port', '0', '--data-dir', dataDir], { PAIRGATE_DNS_ZONE: 'box.example.test', PAIRGATE_DNS_PORT: '0', PAIRGATE_DNS_UPDATE_PORT: '0', PAIRGATE_LOG_LEVEL: 'warn' });
    const lines = await firstLines(child, 3);
    const url = /^pairgate listening on (http:\/\/127\.0\.0\.1:\d+)$/.exec(lines[0]!)?.[1] ?? '';
    expect(url, lines[0]).not.toBe('');
    const port = Number(/^dns listening on udp\+tcp 127\.0\.0\.1:(\d+)$/.exec(lines[1]!)?.[1]);
    expect(port, lines[1]).toBeGreaterThan(0);
    const updateApi = /^dns update api listening on (https:\/\/127\.0\.0\.1:\d+)$/.exec(lines[2]!)?.[1] ?? '';
    expect(updateApi, lines[2]).not.toBe('');
    const resolver = new Resolver({ timeout: 2000, tries: 1 });
    resolver.setServers([`127.0.0.1:${port}`]);
    expect((await resolver.resolveSoa('box.example.test')).nsname).toBe('ns1.box.example.test');

    const boxDir = join(dataDir, 'box');
    await run(['box', 'init', '--dir', boxDir]);
    const announced = await run(['box', 'announce', '--once', '--dir', boxDir, '--server', url, '--local-origin', 'https://192.168.1.9:4443']);
    expect(announced.status, announced.stderr).toBe(0);
    const ping = (await (await fetch(`${url}/ping`)).json()) as { message: string }[];
    expect(JSON.parse(ping[0]!.message)).toMatchObject({ local_origin: 'https://192.168.1.9:4443' });

    // With the DNS zone: the local IP is published under the first mirror name, which is announced.
    const withDns = await run(['box', 'announce', '--once', '--dir', boxDir, '--server', url, '--zone', 'box.example.test', '--update-api', updateApi,
      '--update-ca', join(dataDir, 'dns-update-tls', 'cert.pem'), '--port', '4443']);
    expect(withDns.status, withDns.stderr).toBe(0);
    const fingerprint = (await run(['box', 'id', '--dir', boxDir])).stdout.trim();
    const mirror = `a.${fingerprint}.box.example.test`;
    const pinged = (await (await fetch(`${url}/ping`)).json()) as { message: string }[];
    expect(JSON.parse(pinged[0]!.message)).toMatchObject({ local_origin: `https://${mirror}:4443` });
    const [address] = await resolver.resolve4(mirror);
    expect(await resolver.resolve4(`local.${fingerprint}.box.example.test`)).toEqual([address]);

    // A box without records is told so on stderr (an empty output read as a command that did nothing).
    const emptyDir = join(dataDir, 'empty-box');
    await run(['box', 'init', '--dir', emptyDir]);
    const empty = await run(['box', 'dns', 'list', '--dir', emptyDir, '--zone', 'box.example.test', '--update-api', updateApi, '--update-ca', join(dataDir, 'dns-update-tls', 'cert.pem')]);
    expect(empty.status, empty.stderr).toBe(0);
    expect(empty.stdout).toBe('');
    expect(empty.stderr).toMatch(/^no records at or under [a-z2-7]{52}\.box\.example\.test yet \(pairgate box dns set <label> <type> <value> adds one\)\n$/);

    // box dns set / list / delete through the update API.
    const dnsArgs = ['--dir', boxDir, '--zone', 'box.example.test', '--update-api', updateApi, '--update-ca', join(dataDir, 'dns-update-tls', 'cert.pem')];
    const set = await run(['box', 'dns', 'set', 'nas', 'A', '10.9.8.7', '--ttl', '120', ...dnsArgs]);
    expect(set.status, set.stderr).toBe(0);
    expect(await resolver.resolve4(`nas.${fingerprint}.box.example.test`, { ttl: true })).toEqual([{ address: '10.9.8.7', ttl: 120 }]);
    expect((await run(['box', 'dns', 'list', ...dnsArgs])).stdout).toContain(`nas.${fingerprint}.box.example.test\t120\tA\t10.9.8.7`);
    // A full name, as `box dns list` prints it, is that name (it was put under <fp>.<zone> a second time).
    const full = await run(['box', 'dns', 'set', `nas.${fingerprint}.box.example.test.`, 'A', '10.9.8.6', ...dnsArgs]);
    expect(full.stdout).toBe(`nas.${fingerprint}.box.example.test\t600\tA\t10.9.8.6\n`);
    // A full name of another box, or one ending in a dot outside the zone, is that name, and the
    // update API says it is not this box's: it was put under <fp>.<zone> a second time and accepted.
    const other = await run(['box', 'dns', 'set', 'local.aaaa.box.example.test', 'A', '10.9.8.5', ...dnsArgs]);
    expect(other.status).toBe(2);
    expect(other.stderr).toBe(`pairgate: The name local.aaaa.box.example.test is not this box's: this certificate owns only ${fingerprint}.box.example.test and the names under it. [not_owner]\n`);
    const outside = await run(['box', 'dns', 'set', 'nas.example.org.', 'A', '10.9.8.5', ...dnsArgs]);
    expect(outside.status).toBe(2);
    expect(outside.stderr).toMatch(/The name nas\.example\.org is not under the zone box\.example\.test.*\[name_outside_zone\]/);
    // Told as the command's own words, not the update API's path or body fields.
    const badLabel = await run(['box', 'dns', 'set', 'bad!', 'A', '10.9.8.5', ...dnsArgs]);
    expect(badLabel.status).toBe(2);
    expect(badLabel.stderr).toBe('pairgate: <label>: "bad!" is not a DNS name: labels of letters, digits, - and _ separated by dots (e.g. local, www, _acme-challenge.local), or @ for <fp>.<zone>. [invalid_request]\n');
    const ttl = await run(['box', 'dns', 'set', 'nas', 'A', '10.9.8.5', '--ttl', '999999', ...dnsArgs]);
    expect(ttl.status).toBe(2);
    expect(ttl.stderr).toBe('pairgate: --ttl must be from 0 s to 24 h; "999999" is 999999 s. [invalid_ttl]\n');
    expect((await run(['box', 'dns', 'list', ...dnsArgs])).stdout).not.toContain('10.9.8.5');
    const badIp = await run(['box', 'dns', 'set', 'nas', 'A', '10.9.8.700', ...dnsArgs]);
    expect(badIp.status).toBe(2);
    expect(badIp.stderr).toMatch(/IPv4 .*\[invalid_ip\]/);
    expect((await run(['box', 'dns', 'delete', 'nas', ...dnsArgs])).stdout).toMatch(/deleted 1 record/);
    // Nothing left to delete: said plainly ("deleted 0 record(s)", before), exit 0 as the record is gone as asked.
    const again = await run(['box', 'dns', 'delete', 'nas', ...dnsArgs]);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stdout).toBe(`no record at nas.${fingerprint}.box.example.test: nothing to delete\n`);
    const filtered = await run(['box', 'dns', 'delete', 'nas', '--type', 'TXT', '--value', 'v=1', ...dnsArgs]);
    expect(filtered.status, filtered.stderr).toBe(0);
    expect(filtered.stdout).toBe(`no TXT record with the value v=1 at nas.${fingerprint}.box.example.test: nothing to delete\n`);
    // --json: the record written, and how many went, one line each.
    const setJson = await run(['box', 'dns', 'set', 'nas', 'TXT', 'v=2', '--json', ...dnsArgs]);
    expect(setJson.status, setJson.stderr).toBe(0);
    expect(setJson.stdout.trim().split('\n')).toHaveLength(1);
    expect(JSON.parse(setJson.stdout)).toMatchObject({ name: `nas.${fingerprint}.box.example.test`, type: 'TXT', value: 'v=2' });
    for (const deleted of [1, 0]) {
      const deleteJson = await run(['box', 'dns', 'delete', 'nas', '--json', ...dnsArgs]);
      expect(deleteJson.status, deleteJson.stderr).toBe(0);
      expect(JSON.parse(deleteJson.stdout)).toEqual({ name: `nas.${fingerprint}.box.example.test`, deleted });
    }

    // The server's plain http:// port given as https://: "Cannot reach https://...:<port> (EPROTO)", before.
    const plainPort = new URL(url).port;
    const notTls = await run(['box', 'dns', 'list', '--dir', boxDir, '--zone', 'box.example.test', '--update-api', `https://127.0.0.1:${plainPort}`,
      '--update-ca', join(dataDir, 'dns-update-tls', 'cert.pem')]);
    // Fixed by giving another --update-api, like a certificate to trust: exit 2, not "unreachable" (1).
    expect(notTls.status).toBe(2);
    expect(notTls.stderr).toMatch(new RegExp(`^pairgate: https://127\\.0\\.0\\.1:${plainPort} answered, but not over TLS: port ${plainPort} does not speak TLS .*update API's own https:// address.*\\[tls_not_spoken\\]\\n$`));

    // A CNAME target without its final dot, outside the zone: `local` was sent as is and served as
    // the top-level name `local.`. Refused, showing both ways to write it.
    const base = `${fingerprint}.box.example.test`;
    const ambiguous = await run(['box', 'dns', 'set', 'www', 'CNAME', 'local', ...dnsArgs]);
    expect(ambiguous.status).toBe(2);
    expect(ambiguous.stderr).toBe(`pairgate: CNAME target "local" is ambiguous: write local.${base} for the name local under this box, or local. (with the final dot) for the name local itself. [cname_target_ambiguous]\n`);
    expect((await run(['box', 'dns', 'set', 'docs', 'CNAME', 'example.org', ...dnsArgs])).stderr).toContain('write example.org.' + base + ' for the name example.org under this box, or example.org. (with the final dot)');
    // Full names of the zone, @, and names with their final dot are taken as they are; the answer
    // prints the target with its final dot, as it is meant (and as `set` takes it back).
    const inZone = await run(['box', 'dns', 'set', 'www', 'CNAME', `local.${base}`, ...dnsArgs]);
    expect(inZone.stdout).toBe(`www.${base}\t600\tCNAME\tlocal.${base}.\n`);
    expect(await resolver.resolveCname(`www.${base}`)).toEqual([`local.${base}`]);
    expect((await run(['box', 'dns', 'set', 'apex', 'CNAME', '@', ...dnsArgs])).stdout).toBe(`apex.${base}\t600\tCNAME\t${base}.\n`);
    expect((await run(['box', 'dns', 'set', 'docs', 'CNAME', 'example.org.', ...dnsArgs])).stdout).toBe(`docs.${base}\t600\tCNAME\texample.org.\n`);
    expect(await resolver.resolveCname(`docs.${base}`)).toEqual(['example.org']);
    expect((await run(['box', 'dns', 'list', ...dnsArgs])).stdout).toContain(`docs.${base}\t600\tCNAME\texample.org.\n`);
    // The target as `list` prints it (with its final dot) names the record to delete.
    expect((await run(['box', 'dns', 'delete', 'docs', '--type', 'CNAME', '--value', 'example.org.', ...dnsArgs])).stdout).toBe(`deleted 1 record(s) at docs.${base}\n`);

    // box cert with a --zone that is not the server's: refused by the update API before the CA is
    // asked for an account or an order (here the CA answers its directory only), not after an order.
    const acme = await goneAcmeServer();
    const wrongZone = await run(['box', 'cert', '--dir', boxDir, '--zone', 'other.example.test', '--update-api', updateApi,
      '--update-ca', join(dataDir, 'dns-update-tls', 'cert.pem'), '--acme-directory', acme.url]);
    acme.directory.close();
    expect(wrongZone.status).toBe(2);
    expect(wrongZone.stderr).toBe(`pairgate: before ordering, the update API was asked for ${fingerprint}.other.example.test: The name ${fingerprint}.other.example.test is not under the zone box.example.test; this certificate owns only ${fingerprint}.box.example.test and the names under it. [name_outside_zone]\n`);

    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    await expect(resolver.resolveSoa('box.example.test')).rejects.toBeDefined();
  }, 180_000);
});

describe('the serve children of these tests', () => {
  it('are killed with their whole process group by the cleanup that runs after each test, whatever the test did', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'pairgate-cli-dns-'));
    const child = startServe(['--port', '0', '--data-dir', dataDir], { PAIRGATE_DNS_ZONE: 'box.example.test', PAIRGATE_DNS_PORT: '0', PAIRGATE_DNS_UPDATE_PORT: '0', PAIRGATE_LOG_LEVEL: 'warn' });
    await firstLines(child, 3);
    expect(groupAlive(child.pid!)).toBe(true);
    // What afterEach does after a failed or timed-out test that never sent SIGTERM.
    await stopServeChildren();
    expect(child.signalCode).toBe('SIGKILL');
    expect(groupAlive(child.pid!)).toBe(false);
    expect(serveChildren).toEqual([]);
  }, 60_000);
});

describe('pairgate box with an empty PAIRGATE_SERVER (`export PAIRGATE_SERVER=`, a compose file\'s `PAIRGATE_SERVER=`)', () => {
  it('counts it as unset: the default registry, not the URL ""', async () => {
    const help = await run(['box', 'announce', '--help'], { PAIRGATE_SERVER: '' });
    expect(help.stdout).toMatch(/\(PAIRGATE_SERVER, default:\s+http:\/\/127\.0\.0\.1:8080\)/);
  });
});
