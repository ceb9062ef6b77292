import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import editDistance from 'damerau-levenshtein';
import { allDoors } from '../../src/doors/index.js';
import { loadConfig } from '../../src/server/config.js';
import { coreConfigSchema } from '../../src/server/config-schema.js';
import { configWarnings, isLoopbackHost, TOOLING_ENV_KEYS, unknownKeyWarnings } from '../../src/server/config-warnings.js';
import { startServer } from '../../src/server/start.js';
import { logCollector } from '../helpers/log-lines.js';

const sections = allDoors.flatMap((door) => (door.configSchema ? [door.configSchema] : []));
const warningsFor = (env: Record<string, string>) => configWarnings(loadConfig(sections, { env }), allDoors);

describe('start-up warnings about risky settings', () => {
  it('says nothing on a loopback address, where only this machine reaches the server', () => {
    for (const host of ['127.0.0.1', '127.0.0.2', '::1', 'localhost']) expect(isLoopbackHost(host)).toBe(true);
    for (const host of ['0.0.0.0', '::', '10.0.0.5', 'pair.example.com']) expect(isLoopbackHost(host)).toBe(false);
    expect(warningsFor({})).toEqual([]);
  });

  it('on a public address: open metrics, no https public URL, each with what to set', () => {
    const warnings = warningsFor({ PAIRGATE_HOST: '0.0.0.0' });
    expect(warnings).toEqual(expect.arrayContaining([
      expect.stringMatching(/\/metrics is open .*PAIRGATE_METRICS_TOKEN/),
      expect.stringMatching(/PAIRGATE_PUBLIC_URL is not set/),
    ]));
    // Introspection without its secret is closed, not open: nothing to warn about.
    expect(warnings.filter((warning) => /introspect/i.test(warning))).toEqual([]);
    expect(warningsFor({ PAIRGATE_HOST: '0.0.0.0', PAIRGATE_PUBLIC_URL: 'http://pair.example.com' })).toEqual(expect.arrayContaining([expect.stringMatching(/is http .*https/)]));
  });

  it('a short support admin password on a server others reach: said, with how to make a long one', () => {
    const origin = { PLEXUS_AUTH_USER: 'support', PAIRGATE_RELAY_ENABLED: 'false' };
    const short = /PLEXUS_AUTH_PASS has 4 characters: anyone reaching this server may try passwords for the support admin \(30 every 15 minutes from each address\)\. Set a random one of 16 characters or more/;
    expect(warningsFor({ PAIRGATE_HOST: '0.0.0.0', ...origin, PLEXUS_AUTH_PASS: '1234' })).toEqual(expect.arrayContaining([expect.stringMatching(short)]));
    expect(warningsFor({ PAIRGATE_HOST: '0.0.0.0', ...origin, PLEXUS_AUTH_PASS: 'x'.repeat(16) }).filter((warning) => /PLEXUS_AUTH_PASS/.test(warning))).toEqual([]);
    // A window that is not whole minutes is said in seconds, not as a fraction of a minute.
    expect(warningsFor({ PAIRGATE_HOST: '0.0.0.0', ...origin, PLEXUS_AUTH_PASS: '1234', PAIRGATE_SUPPORT_AUTH_WINDOW_SECONDS: '90' })).toEqual(expect.arrayContaining([expect.stringMatching(/\(30 every 90 seconds from each address\)/)]));
    // On loopback only, nobody else can try.
    expect(warningsFor({ ...origin, PLEXUS_AUTH_PASS: '1234' }).filter((warning) => /PLEXUS_AUTH_PASS/.test(warning))).toEqual([]);
  });

  it('an open support relay: anyone could make links on this server that redirect anywhere; quiet with an allow-list, API keys or no relay', () => {
    const open = /support relay \(\/relay\) publishes codes for any https URL from anyone.*PAIRGATE_RELAY_ALLOWED_HOSTS.*PAIRGATE_RELAY_API_KEYS/;
    expect(warningsFor({ PAIRGATE_HOST: '0.0.0.0' })).toEqual(expect.arrayContaining([expect.stringMatching(open)]));
    expect(warningsFor({ PAIRGATE_HOST: '0.0.0.0', PAIRGATE_RELAY_ONLY: 'true' })).toEqual(expect.arrayContaining([expect.stringMatching(/support relay \(\/\) publishes/)]));
    const quietSettings: Record<string, string>[] = [{ PAIRGATE_RELAY_ALLOWED_HOSTS: 'support.example.com' }, { PAIRGATE_RELAY_API_KEYS: 'relay-key-0123456789abcdefghijklmnop' }, { PAIRGATE_RELAY_ENABLED: 'false' }];
    for (const quiet of quietSettings) {
      expect(warningsFor({ PAIRGATE_HOST: '0.0.0.0', ...quiet }).filter((warning) => /support relay/.test(warning))).toEqual([]);
    }
    // With http allowed, the internal-address check is off: the warning says links may lead into the opener's network.
    const intoNetworks = /support relay \(\/relay\) publishes codes for any http or https URL from anyone \(PAIRGATE_RELAY_ALLOW_HTTP=true\), internal addresses included.*into the network of whoever opens it.*PAIRGATE_RELAY_ALLOWED_HOSTS/;
    expect(warningsFor({ PAIRGATE_HOST: '0.0.0.0', PAIRGATE_RELAY_ALLOW_HTTP: 'true' })).toEqual(expect.arrayContaining([expect.stringMatching(intoNetworks)]));
    expect(warningsFor({ PAIRGATE_HOST: '0.0.0.0', PAIRGATE_RELAY_ALLOW_HTTP: 'true', PAIRGATE_RELAY_ALLOWED_HOSTS: 'support.example.com' }).filter((warning) => /support relay/.test(warning))).toEqual([]);
    // On loopback only, as every warning: the documented one-machine set-up says nothing.
    expect(warningsFor({ PAIRGATE_RELAY_ALLOW_HTTP: 'true' })).toEqual([]);
  });

  it('the install door on a shared database without PAIRGATE_INSTALL_SECRET_KEY: each node would seal with its own key file; quiet with the key, alone, or without the door', () => {
    const shared = { PAIRGATE_HOST: '0.0.0.0', PAIRGATE_DATABASE_URL: 'postgres://db/pairgate' };
    const perNode = /^PAIRGATE_INSTALL_SECRET_KEY is not set: .*another node than the one the installation was made on fails \(401 jwt_signature_invalid\)\. Set PAIRGATE_INSTALL_SECRET_KEY, the same on every node/;
    expect(warningsFor(shared)).toEqual(expect.arrayContaining([expect.stringMatching(perNode)]));
    const about = (env: Record<string, string>) => warningsFor(env).filter((warning) => warning.includes('PAIRGATE_INSTALL_SECRET_KEY'));
    expect(about({ ...shared, PAIRGATE_INSTALL_SECRET_KEY: 'A'.repeat(43) + '=' })).toEqual([]);
    expect(about({ ...shared, PAIRGATE_INSTALL_ENABLED: 'false' })).toEqual([]);
    expect(about({ PAIRGATE_HOST: '0.0.0.0' })).toEqual([]);
  });

  it('relay API keys short enough to be guessed: said, counted, never quoted; quiet with long ones', () => {
    const keyWarnings = (keys: string) => warningsFor({ PAIRGATE_HOST: '0.0.0.0', PAIRGATE_RELAY_API_KEYS: keys }).filter((warning) => /PAIRGATE_RELAY_API_KEYS/.test(warning));
    expect(keyWarnings('k-origin')).toEqual([expect.stringMatching(/^One of PAIRGATE_RELAY_API_KEYS is shorter than 20 characters, short enough to be guessed.*openssl rand/)]);
    expect(keyWarnings('k-one, relay-key-0123456789abcdefghij ,k-two')).toEqual([expect.stringMatching(/^2 of PAIRGATE_RELAY_API_KEYS are shorter than 20 characters/)]);
    expect(keyWarnings('k-origin')[0]).not.toContain('k-origin');
    expect(keyWarnings('relay-key-0123456789abcdefghijklmnop')).toEqual([]);
    // Listening on loopback only, no one else can guess: nothing said.
    expect(warningsFor({ PAIRGATE_HOST: '127.0.0.1', PAIRGATE_RELAY_API_KEYS: 'k-origin' }).filter((warning) => /PAIRGATE_RELAY_API_KEYS/.test(warning))).toEqual([]);
  });

  it('behind a proxy on this machine (loopback, with a public URL that is not, or a trusted proxy) the same warnings, naming how it is reached', () => {
    const proxied = warningsFor({ PAIRGATE_PUBLIC_URL: 'https://pair.example.com' });
    expect(proxied).toEqual(expect.arrayContaining([
      expect.stringMatching(/^\/metrics is open to anyone reaching https:\/\/pair\.example\.com \(through the proxy\)/),
      expect.stringMatching(/^Anyone reaching https:\/\/pair\.example\.com \(through the proxy\) can create generic grants/),
      expect.stringMatching(/support relay .* publishes codes for any https URL/),
    ]));
    expect(warningsFor({ PAIRGATE_TRUST_PROXY: '127.0.0.1' })).toEqual(expect.arrayContaining([expect.stringMatching(/^\/metrics is open to anyone reaching the proxy \(PAIRGATE_TRUST_PROXY\)/)]));
    // A public URL on this machine too: nobody else reaches it.
    expect(warningsFor({ PAIRGATE_PUBLIC_URL: 'http://localhost:8080' })).toEqual([]);
    expect(warningsFor({ PAIRGATE_PUBLIC_URL: 'http://[::1]:8080' })).toEqual([]);
  });

  it('grant creation open to anyone: a few networks could hold every live code; quiet with a creation token or the API off', () => {
    const open = /Anyone reaching 0\.0\.0\.0 can create generic grants .*PAIRGATE_GRANTS_CREATE_TOKEN/;
    expect(warningsFor({ PAIRGATE_HOST: '0.0.0.0' })).toEqual(expect.arrayContaining([expect.stringMatching(open)]));
    const quietSettings: Record<string, string>[] = [{ PAIRGATE_GRANTS_CREATE_TOKEN: 'create-token-0123456789abcdefghijklm' }, { PAIRGATE_GRANTS_ENABLED: 'false' }];
    for (const quiet of quietSettings) {
      expect(warningsFor({ PAIRGATE_HOST: '0.0.0.0', ...quiet }).filter((warning) => /generic grants/.test(warning))).toEqual([]);
    }
  });

  it('a port browsers and fetch refuse to call, on any address, loopback included', () => {
    for (const host of ['127.0.0.1', '0.0.0.0']) {
      expect(warningsFor({ PAIRGATE_HOST: host, PAIRGATE_PORT: '10080' })).toEqual(expect.arrayContaining([expect.stringMatching(/^Port 10080 is one browsers and fetch refuse to call .*Choose another port/)]));
    }
    expect(warningsFor({ PAIRGATE_PORT: '6000' })).toHaveLength(1);
    expect(warningsFor({ PAIRGATE_PORT: '8080' })).toEqual([]);
  });

  it('a DNS zone whose own name server has no address (ns1.<zone> by default): said wherever the server listens, with what to set', () => {
    const zone = { PAIRGATE_DNS_ZONE: 'box.example.com' };
    const broken = /^The DNS zone's name server ns1\.box\.example\.com is inside box\.example\.com but PAIRGATE_DNS_NS_ADDRESSES is empty: this server answers NXDOMAIN for ns1\.box\.example\.com while its NS records name it, so resolvers cannot follow the delegation\. Set PAIRGATE_DNS_NS_ADDRESSES .* or name servers outside the zone in PAIRGATE_DNS_NS\.$/;
    // On loopback too: the DNS server listens where PAIRGATE_DNS_HOST says, not where HTTP does.
    expect(warningsFor(zone)).toEqual([expect.stringMatching(broken)]);
    expect(warningsFor({ ...zone, PAIRGATE_HOST: '0.0.0.0' })).toEqual(expect.arrayContaining([expect.stringMatching(broken)]));
    // Several, the apex itself among them; a name server outside the zone is not this server's to answer.
    expect(warningsFor({ ...zone, PAIRGATE_DNS_NS: 'ns1.box.example.com,box.example.com,ns.example.net' })).toEqual([expect.stringMatching(/^The DNS zone's name servers ns1\.box\.example\.com, box\.example\.com are inside box\.example\.com .* while its NS records name them,/)]);
    const quiet: Record<string, string>[] = [
      { ...zone, PAIRGATE_DNS_NS_ADDRESSES: '192.0.2.53' },
      { ...zone, PAIRGATE_DNS_NS: 'ns1.example.net,ns2.example.net' },
      // A name under a box's own name: the box sets its records.
      { ...zone, PAIRGATE_DNS_NS: `ns.${'a'.repeat(52)}.box.example.com` },
      {},
    ];
    for (const settings of quiet) expect(warningsFor(settings)).toEqual([]);
    // Without the DNS door (a relay-only server), nothing is said about DNS.
    expect(configWarnings(loadConfig(sections, { env: zone }), allDoors.filter((door) => door.name !== 'dns'))).toEqual([]);
  });

  it('none once those are set', () => {
    expect(warningsFor({
      PAIRGATE_HOST: '0.0.0.0',
      PAIRGATE_PUBLIC_URL: 'https://pair.example.com',
      PAIRGATE_METRICS_TOKEN: 'metrics-token-0123456789abcdefghijkl',
      PAIRGATE_RELAY_ALLOWED_HOSTS: 'support.example.com',
      PAIRGATE_GRANTS_CREATE_TOKEN: 'create-token-0123456789abcdefghijklm',
    })).toEqual([]);
  });

  it('are logged when the server starts on a public address', async () => {
    const log = logCollector();
    const server = await startServer({ env: { PAIRGATE_HOST: '0.0.0.0', PAIRGATE_PORT: '0', PAIRGATE_DATA_DIR: mkdtempSync(join(tmpdir(), 'pairgate-warn-')) } }, allDoors, log.stream);
    try {
      const warning = log.entries.find((entry) => entry.msg.startsWith('/metrics is open'));
      expect(warning?.level).toBe(40);
    } finally {
      await server.close();
    }
  });
});

describe('unknown configuration keys', () => {
  const known = [coreConfigSchema, ...sections].flatMap((section) => Object.keys(section.properties));

  it('counts edits as people make them: a swap of neighbours is one (the library\'s optimal string alignment, which the suggestions rely on)', () => {
    expect(editDistance('PAIRGATE_PROT', 'PAIRGATE_PORT').steps).toBe(1);
    expect(editDistance('PAIRGATE_POR', 'PAIRGATE_PORT').steps).toBe(1);
    expect(editDistance('PAIRGATE_PORTT', 'PAIRGATE_PORT').steps).toBe(1);
    expect(editDistance('PAIRGATE_HOST', 'PAIRGATE_PORT').steps).toBe(2);
    expect(editDistance('', 'abc').steps).toBe(3);
  });

  it('names the key meant when one is close, and only then; never the value', () => {
    expect(unknownKeyWarnings(['PAIRGATE_PROT', 'PAIRGATE_DATADIR', 'PAIRGATE_MAX_LIVE_CODE', 'PAIRGATE_NOTHING_LIKE_IT', 'PAIRGATE_PORT', 'HOME'], known, ['PAIRGATE_'])).toEqual([
      'PAIRGATE_PROT is not a configuration key and is ignored (did you mean PAIRGATE_PORT?)',
      'PAIRGATE_DATADIR is not a configuration key and is ignored (did you mean PAIRGATE_DATA_DIR?)',
      'PAIRGATE_MAX_LIVE_CODE is not a configuration key and is ignored (did you mean PAIRGATE_MAX_LIVE_CODES?)',
      'PAIRGATE_NOTHING_LIKE_IT is not a configuration key and is ignored (misspelt? see serve --help-config)',
    ]);
    // A short name is one slip from many others: two edits away is another key, not a typo.
    expect(unknownKeyWarnings(['PAIRGATE_HOTT'], known, ['PAIRGATE_'])).toEqual(['PAIRGATE_HOTT is not a configuration key and is ignored (did you mean PAIRGATE_HOST?)']);
    expect(unknownKeyWarnings(['PAIRGATE_PRTO'], known, ['PAIRGATE_'])[0]).toMatch(/misspelt\?/);
  });

  it('warns of a known key written in lower case, which is ignored (keys are read in upper case only)', () => {
    expect(unknownKeyWarnings(['pairgate_port', 'Pairgate_Host', 'pairgate_prot', 'plexus_auth_user', 'other_key'], known, ['PAIRGATE_'])).toEqual([
      'pairgate_port is not a configuration key and is ignored (keys are upper case: PAIRGATE_PORT)',
      'Pairgate_Host is not a configuration key and is ignored (keys are upper case: PAIRGATE_HOST)',
      'pairgate_prot is not a configuration key and is ignored (did you mean PAIRGATE_PORT?)',
    ]);
  });

  it('says how the configuration file is named to one who set a variable for it (it was ignored, the server ran on defaults)', () => {
    expect(unknownKeyWarnings(['PAIRGATE_CONFIG', 'PAIRGATE_CONFIG_FILE'], [...known, ...TOOLING_ENV_KEYS], ['PAIRGATE_'])).toEqual([
      'PAIRGATE_CONFIG is not a configuration key and is ignored (the configuration file is named with serve --config FILE)',
      'PAIRGATE_CONFIG_FILE is not a configuration key and is ignored (the configuration file is named with serve --config FILE)',
    ]);
  });

  it('knows every PAIRGATE_ variable that pairgate\'s own tooling reads (src, bench, test, .ci), and nothing it no longer reads', () => {
    const files = (dir: string): string[] => readdirSync(dir, { withFileTypes: true, recursive: true }).filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name));
    const read = new Set<string>();
    for (const file of ['src', 'bench', 'test', '.ci'].flatMap(files)) {
      // process.env.X or env.X in code; $X or ${X} in shell scripts (a template's ${X} is no variable).
      const reads = /\.(ts|js|mjs)$/.test(file) ? /(?:process\.env|\benv)(?:\.|\[')(PAIRGATE_[A-Z0-9_]+)/g : /\.sh$|\/run$/.test(file) ? /\$\{?(PAIRGATE_[A-Z0-9_]+)/g : undefined;
      for (const match of reads ? readFileSync(file, 'utf8').matchAll(reads) : []) read.add(match[1]!);
    }
    expect([...read].filter((key) => !known.includes(key) && !TOOLING_ENV_KEYS.includes(key))).toEqual([]);
    expect(TOOLING_ENV_KEYS.filter((key) => !read.has(key))).toEqual([]);
    // A tooling key the server came to read would be known twice over.
    expect(TOOLING_ENV_KEYS.filter((key) => known.includes(key))).toEqual([]);
    expect(unknownKeyWarnings(TOOLING_ENV_KEYS, [...known, ...TOOLING_ENV_KEYS], ['PAIRGATE_'])).toEqual([]);
  });
});
