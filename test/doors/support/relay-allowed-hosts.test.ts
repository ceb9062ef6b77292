import { describe, expect, it } from 'vitest';
import { allowedHostEntry, checkOriginUrl } from '../../../src/doors/support/relay-url.js';

const rules = (entries: string[]) => ({ allowHttp: true, allowedHosts: entries.map(allowedHostEntry), maxLength: 2000 });

/**
 * PAIRGATE_RELAY_ALLOWED_HOSTS entries are compared with origins' URLs as URLs hold their hosts:
 * typed as written, an IDN entry (`bücher.example`) matched no URL, since a URL's host is in
 * punycode, and a URL naming the host with DNS's trailing dot was refused.
 */
describe('the relay\'s allowed hosts', () => {
  it('writes entries as a URL holds the host: lower case, punycode, no trailing dot, the port as a number', () => {
    expect(allowedHostEntry('Origin.Example')).toBe('origin.example');
    expect(allowedHostEntry(' bücher.example ')).toBe('xn--bcher-kva.example');
    expect(allowedHostEntry('good.example.')).toBe('good.example');
    expect(allowedHostEntry('good.example:0443')).toBe('good.example:443');
    expect(allowedHostEntry('[2001:DB8::1]:8443')).toBe('[2001:db8::1]:8443');
  });

  it('refuses at start-up an entry that is no host, naming the key', () => {
    for (const bad of ['https://good.example', 'good.example/path', 'user@good.example', 'good.example:99999', 'good.example:', '2001:db8::1', 'a b']) {
      expect(() => allowedHostEntry(bad), bad).toThrow(/PAIRGATE_RELAY_ALLOWED_HOSTS: .* is not a host or host:port/);
    }
  });

  it('an IDN entry allows its origins however the URL writes the name; a trailing dot is the same host', () => {
    const allowed = rules(['bücher.example', 'good.example']);
    expect(checkOriginUrl('https://bücher.example/pairing', allowed)).toBe('https://xn--bcher-kva.example/pairing');
    expect(checkOriginUrl('https://xn--bcher-kva.example/pairing', allowed)).toBe('https://xn--bcher-kva.example/pairing');
    expect(checkOriginUrl('https://good.example./pairing', allowed)).toBe('https://good.example./pairing');
  });

  it('still refuses every other host and port: a look-alike, a suffix, a user part, another port', () => {
    const allowed = rules(['good.example']);
    for (const url of ['https://good.example.evil.example/p', 'https://evil.example/p', 'https://good.example:8443/p', 'https://xn--gd-0ia.example/p', 'https://gооd.example/p']) {
      expect(() => checkOriginUrl(url, allowed), url).toThrow(/may not publish on this relay/);
    }
    expect(() => checkOriginUrl('https://good.example@evil.example/p', allowed)).toThrow(/credentials/);
  });
});

/**
 * An open relay (no allowed hosts) that takes https origins only is one for the internet: a code
 * of it must not send a person's browser, or `pairgate join`'s confirmation, to an address inside
 * their own network (it did: loopback, private, link-local and metadata addresses all got codes).
 */
describe('an open https relay and addresses inside a network', () => {
  const open = { allowHttp: false, allowedHosts: [] as string[], maxLength: 2000 };

  it('refuses loopback, private, link-local, shared and unspecified addresses, however the URL writes them', () => {
    for (const url of [
      'https://127.0.0.1/p', 'https://0x7f000001/p', 'https://2130706433/p', 'https://127.1/p', 'https://10.1.2.3/p', 'https://172.16.0.1/p',
      'https://192.168.1.1/p', 'https://169.254.169.254/latest/meta-data', 'https://100.64.0.1/p', 'https://0.0.0.0/p', 'https://[::1]:22/x',
      'https://[::]/p', 'https://[fd00::1]/p', 'https://[fe80::1]/p', 'https://[::ffff:127.0.0.1]/p', 'https://[::ffff:a9fe:a9fe]/p', 'https://[::127.0.0.1]/p', 'https://127.0.0.1./p',
      // 127.0.0.1 through NAT64's well-known prefix and as 6to4; reserved, benchmarking, documentation and multicast ranges.
      'https://[64:ff9b::7f00:1]/p', 'https://[64:ff9b::10.0.0.1]/p', 'https://[2002:7f00:1::]/p', 'https://[2002:c0a8:101::1]/p',
      'https://198.18.0.1/p', 'https://192.0.0.8/p', 'https://240.1.2.3/p', 'https://255.255.255.255/p', 'https://224.0.0.251/p', 'https://203.0.113.7/p',
      'https://[2001:db8::1]/p', 'https://[ff02::fb]/p', 'https://[64:ff9b:1::1]/p',
      // Names every machine resolves to itself or its own network without public DNS, and one-label names its search domains complete.
      'https://localhost/p', 'https://foo.localhost/p', 'https://LOCALHOST./p', 'https://printer.local/p', 'https://nas.home.arpa/p', 'https://db.internal/p', 'https://intranet/p',
    ]) {
      expect(() => checkOriginUrl(url, open), url).toThrow(/inside a network/);
    }
  });

  it('takes public addresses and names (where a public name points is not the relay\'s to resolve)', () => {
    for (const url of ['https://93.184.215.14/p', 'https://[2606:4700:4700::1111]/p', 'https://[64:ff9b::5db8:d70e]/p', 'https://[2002:5db8:d70e::1]/p', 'https://origin.example/p', 'https://localhost.example.com/p']) {
      expect(checkOriginUrl(url, open), url).toBe(url.replace(/\/$/, ''));
    }
  });

  it('the local set-up (http allowed) and a host listed in PAIRGATE_RELAY_ALLOWED_HOSTS may use one', () => {
    expect(checkOriginUrl('http://127.0.0.1:8080/pairing', { ...open, allowHttp: true })).toBe('http://127.0.0.1:8080/pairing');
    expect(checkOriginUrl('https://10.1.2.3/pairing', { ...open, allowedHosts: [allowedHostEntry('10.1.2.3')] })).toBe('https://10.1.2.3/pairing');
  });
});
