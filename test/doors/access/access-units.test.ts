import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/core/errors.js';
import { checkPermissions, parsePermissions, samePermissions } from '../../../src/doors/access/permissions.js';
import { appendReturnParams, checkReturnUrl, parseReturnOrigins } from '../../../src/doors/access/return-url.js';
import { renderDescription } from '../../../src/doors/access/markdown.js';
import { parseTrustedAuthUrls, trustedAuthUrl } from '../../../src/doors/access/auth-url.js';
import { accessKey, newAccessRequestId, parseAccessKey } from '../../../src/doors/access/access-key.js';
import { openOutcome, sealOutcome } from '../../../src/doors/access/sealed-result.js';
import { requestUrls, type AccessRequest } from '../../../src/doors/access/access-request.js';

describe('return URLs', () => {
  it('appends encoded parameters to the query, before a fragment, or into a trailing #', () => {
    const params = { prYvkey: 'k', prYvapiEndpoint: 'https://tok@host/u/', prYvmessage: 'a b&c=d' };
    expect(appendReturnParams('https://app.example/cb', params)).toBe('https://app.example/cb?prYvkey=k&prYvapiEndpoint=https%3A%2F%2Ftok%40host%2Fu%2F&prYvmessage=a%20b%26c%3Dd');
    expect(appendReturnParams('https://app.example/cb?x=1', { a: '1' })).toBe('https://app.example/cb?x=1&a=1');
    expect(appendReturnParams('https://app.example/cb?', { a: '1' })).toBe('https://app.example/cb?a=1');
    expect(appendReturnParams('https://app.example/cb?x=1&', { a: '1' })).toBe('https://app.example/cb?x=1&a=1');
    expect(appendReturnParams('https://app.example/cb#section', { a: '1' })).toBe('https://app.example/cb?a=1#section');
    expect(appendReturnParams('https://app.example/#', { a: '1', b: null })).toBe('https://app.example/#a=1');
  });

  it('any values survive the trip: the app reads back exactly what was sent', () => {
    fc.assert(fc.property(
      fc.dictionary(fc.stringMatching(/^prYv[a-zA-Z]{1,10}$/), fc.string({ unit: 'grapheme', maxLength: 40 }), { maxKeys: 6 }),
      fc.constantFrom('https://app.example/cb', 'https://app.example/cb?x=1', 'https://app.example/cb?', 'https://app.example/cb#frag'),
      (params, returnURL) => {
        const target = new URL(appendReturnParams(returnURL, params));
        for (const [name, value] of Object.entries(params)) expect(target.searchParams.get(name)).toBe(value);
        expect(target.origin + target.pathname).toBe('https://app.example/cb');
      },
    ), { numRuns: 300 });
  });

  it('accepts only http(s) without credentials, and the configured origins of an app', () => {
    const allowed = parseReturnOrigins('{"locked-app":["https://good.example:8443/any/path"]}');
    expect(checkReturnUrl('https://good.example:8443/cb?', 'locked-app', allowed)).toBe('https://good.example:8443/cb?');
    expect(() => checkReturnUrl('https://good.example/cb?', 'locked-app', allowed)).toThrow(/not an allowed origin/);
    expect(checkReturnUrl('http://anything.example/', 'free-app', allowed)).toBe('http://anything.example/');
    for (const bad of ['javascript:alert(1)', 'data:text/html,x', 'file:///etc/passwd', '//evil.example/', 'https://u:p@evil.example/']) {
      expect(() => checkReturnUrl(bad, 'free-app', allowed)).toThrow();
    }
    // Hosts a CSP source can hold as they are: names (punycode for others), IPv4 and IPv6 addresses, any port.
    for (const good of ['https://app.example/cb', 'http://127.0.0.1:8080/', 'http://[::1]:3000/cb', 'https://café.example/', 'http://localhost:5173/', 'https://a-b.c-d.example./x']) {
      expect(checkReturnUrl(good, 'free-app', allowed), good).toBe(good);
    }
  });

  it('refuses a bad origins configuration at start-up', () => {
    for (const bad of ['not json', '["x"]', '{"app":"https://x"}', '{"app":["ftp://x"]}', '{"app":["nope"]}']) expect(() => parseReturnOrigins(bad)).toThrow(ConfigError);
    expect(parseReturnOrigins('').size).toBe(0);
  });
});

describe('trusted auth URLs', () => {
  const trustedUrls = ['https://good.example.com', 'https://pages.example.org/auth', 'https://spa.example.net/app/'];

  it('admit the same origin with a path under the trusted one, on a segment boundary', () => {
    for (const good of ['https://good.example.com', 'https://good.example.com/', 'https://good.example.com/any/page?x=1', 'https://GOOD.example.com:443/p', 'https://pages.example.org/auth', 'https://pages.example.org/auth/', 'https://pages.example.org/auth/page.html', 'https://spa.example.net/app/', 'https://spa.example.net/app/x']) {
      expect(trustedAuthUrl(good, trustedUrls), good).toBeDefined();
    }
    // What is handed on is the parsed URL, what a browser will open.
    expect(trustedAuthUrl('https://pages.example.org/auth/x/../page', trustedUrls)).toBe('https://pages.example.org/auth/page');
  });

  it('refuse look-alike hosts, other origins, credentials, sibling paths and dot segments', () => {
    const evil = [
      'https://good.example.com.evil.net/',
      'https://good.example.com.evil.net/auth',
      'https://good.example.com@evil.net/',
      'https://good.example.com:pw@evil.net/',
      'https://user@good.example.com/',
      'https://good.example.com:8443/',
      'http://good.example.com/',
      'https://evil.good.example.com/',
      'https://pages.example.org/authority',
      'https://pages.example.org/auth.evil',
      'https://pages.example.org/auth/../evil',
      'https://pages.example.org/auth/%2e%2e/evil',
      'https://pages.example.org\\@evil.net/auth',
      'https://pages.example.org/',
      'https://spa.example.net/app',
      'https://spa.example.net/application',
      'javascript:alert(1)//https://good.example.com',
      '//good.example.com/',
      'not a url',
    ];
    for (const bad of evil) expect(trustedAuthUrl(bad, trustedUrls), bad).toBeUndefined();
  });

  it('are checked at start-up: absolute http(s), no credentials, query or fragment', () => {
    expect(parseTrustedAuthUrls(' https://a.example/auth , https://b.example ,')).toEqual(['https://a.example/auth', 'https://b.example']);
    for (const bad of ['auth.example.com', 'ftp://a.example/', 'https://u:p@a.example/', 'https://a.example/auth?x=1', 'https://a.example/auth#f', 'https://a.example/?']) {
      expect(() => parseTrustedAuthUrls(bad), bad).toThrow(/PAIRGATE_ACCESS_TRUSTED_AUTH_URLS/);
    }
  });
});

describe('the auth page URLs of a request', () => {
  const stored = (authBase: string): AccessRequest => ({
    requestingAppId: 'url-app', requestedPermissions: [{ streamId: 'diary', level: 'read' }], lang: 'en', languageAsked: true, returnURL: null, oauthState: null, clientData: null,
    serviceInfo: {}, deviceName: null, referer: null, expireAfter: null, authBase, pollBase: 'https://pair.example/access/', domain: 'pair.example', pollRateMs: 1000,
  });
  const key = accessKey('i'.repeat(22), 's'.repeat(43));

  it('put the parameters in the query, also of an auth page stored with a fragment before such pages were refused', () => {
    const { url, authUrl, poll } = requestUrls(stored('https://pages.example.org/auth#frag'), key);
    expect(new URL(url).searchParams.get('key')).toBe(key.value);
    expect(url).toMatch(/^https:\/\/pages\.example\.org\/auth\?lang=en&key=[^#]+#frag$/);
    expect(authUrl).toBe(`https://pages.example.org/auth?poll=${encodeURIComponent(poll)}#frag`);
  });

  it('keep a query of the page\'s own, and write spaces as %20', () => {
    const { url } = requestUrls({ ...stored('https://pages.example.org/auth?tenant=x'), requestingAppId: 'url app+1' }, key);
    expect(url).toContain('https://pages.example.org/auth?tenant=x&lang=en&key=');
    expect(url).toContain('requestingAppId=url%20app%2B1&');
  });
});

describe('auth request keys and sealed results', () => {
  it('a key is the 22-character id followed by the secret, in Pryv\'s key syntax', () => {
    const id = newAccessRequestId();
    expect(id).toMatch(/^[a-zA-Z0-9_-]{22}$/);
    const key = accessKey(id, 'S'.repeat(43));
    expect(key.value).toMatch(/^[a-zA-Z0-9_-]{10,200}$/);
    expect(parseAccessKey(key.value)).toEqual(key);
    for (const bad of [id, id.slice(0, 10), `${id}.secret`, `${id}${'s'.repeat(200)}`, '', 'a b'.repeat(10)]) expect(parseAccessKey(bad), bad).toBeUndefined();
  });

  it('an accepted outcome opens only with its secret, and only for its own request', () => {
    const outcome = { status: 'ACCEPTED' as const, username: 'someone', token: 'T'.repeat(43), apiEndpoint: `https://${'T'.repeat(43)}@api.example/someone/` };
    const sealed = sealOutcome(outcome, 'grant-id-one', 'the secret');
    expect(sealed).not.toContain('T'.repeat(10));
    expect(sealed).not.toContain('someone');
    expect(openOutcome(sealed, 'grant-id-one', 'the secret')).toEqual(outcome);
    expect(openOutcome(sealed, 'grant-id-one', 'the secreT')).toBeUndefined();
    expect(openOutcome(sealed, 'grant-id-two', 'the secret')).toBeUndefined();
    expect(openOutcome(`${sealed.slice(0, -2)}AA`, 'grant-id-one', 'the secret')).toBeUndefined();
    expect(sealOutcome(outcome, 'grant-id-one', 'the secret')).not.toBe(sealed); // a fresh nonce each time
  });
});

describe('configuration checks', () => {
  it('stops start-up on a bad SMTP URL, origins list or API template, naming the key', async () => {
    const { accountsDoor } = await import('../../../src/doors/accounts/accounts-door.js');
    const { accessDoor } = await import('../../../src/doors/access/access-door.js');
    const { loadConfig } = await import('../../../src/server/config.js');
    const load = (env: Record<string, string>) => loadConfig([accountsDoor.configSchema!, accessDoor.configSchema!], { env });
    expect(() => accountsDoor.checkConfig!(load({ PAIRGATE_SMTP_URL: 'http://mail.example' }))).toThrow(/PAIRGATE_SMTP_URL/);
    expect(() => accountsDoor.checkConfig!(load({ PAIRGATE_SMTP_URL: 'smtp://mail.example:587' }))).not.toThrow();
    expect(() => accessDoor.checkConfig!(load({ PAIRGATE_ACCESS_RETURN_ORIGINS: '{bad' }))).toThrow(/PAIRGATE_ACCESS_RETURN_ORIGINS/);
    expect(() => accessDoor.checkConfig!(load({ PAIRGATE_ACCESS_API_TEMPLATE: 'https://api.example/' }))).toThrow(/PAIRGATE_ACCESS_API_TEMPLATE/);
    expect(() => accessDoor.checkConfig!(load({ PAIRGATE_ACCESS_API_TEMPLATE: 'https://{username}.api.example/' }))).not.toThrow();
    expect(() => accessDoor.checkConfig!(load({ PAIRGATE_ACCESS_TRUSTED_AUTH_URLS: 'auth.example.com' }))).toThrow(/PAIRGATE_ACCESS_TRUSTED_AUTH_URLS/);
  });
});

describe('permissions', () => {
  it('match as sets: order, names and duplicates do not matter; levels and subjects do', () => {
    const a = parsePermissions([{ streamId: 'a', level: 'read', defaultName: 'A' }, { tag: 't', level: 'manage' }]);
    const b = parsePermissions([{ tag: 't', level: 'manage' }, { streamId: 'a', level: 'read', name: 'Other' }, { streamId: 'a', level: 'read' }]);
    expect(samePermissions(a, b)).toBe(true);
    expect(samePermissions(a, parsePermissions([{ streamId: 'a', level: 'contribute' }, { tag: 't', level: 'manage' }]))).toBe(false);
    expect(samePermissions(a, parsePermissions([{ streamId: 'a', level: 'read' }]))).toBe(false);
  });

  it('checkPermissions drops duplicates and makes display names unique', () => {
    const checked = checkPermissions(parsePermissions([
      { streamId: 'a', level: 'read', defaultName: 'Notes' },
      { streamId: 'b', level: 'read', defaultName: 'Notes' },
      { streamId: 'a', level: 'read', defaultName: 'Notes' },
      { feature: 'selfRevoke', setting: 'forbidden' },
    ]));
    expect(checked).toEqual([
      { streamId: 'a', level: 'read', defaultName: 'Notes', name: 'Notes' },
      { streamId: 'b', level: 'read', defaultName: 'Notes', name: 'Notes (2)' },
      { feature: 'selfRevoke', setting: 'forbidden' },
    ]);
  });
});

describe('description markdown', () => {
  it('keeps formatting and http(s) links, and renders HTML and other schemes as text', () => {
    const html = renderDescription('**b** [ok](https://x.example) [no](javascript:alert(1)) <script>x()</script> ![i](data:image/png;base64,AAAA)');
    expect(html).toContain('<strong>b</strong>');
    expect(html).toContain('<a href="https://x.example" rel="noopener noreferrer nofollow" target="_blank">ok</a>');
    expect(html).not.toMatch(/<script|href="javascript|src="data/);
    expect(html).toContain('&lt;script&gt;');
  });

  it('shows headings as bold paragraphs: the page\'s own heading stays the only one', () => {
    const html = renderDescription('# ✅ Verified by pairgate\n\nSetext\n===\n\n###### small');
    expect(html).not.toMatch(/<h[1-6]/);
    expect(html).toBe('<p><strong>✅ Verified by pairgate</strong></p>\n<p><strong>Setext</strong></p>\n<p><strong>small</strong></p>\n');
  });

  it('shows an image as its alt text and fetches nothing (no tracking pixel, no painted badge)', () => {
    const html = renderDescription('Hi ![Verified <b>by</b> pairgate](https://tracker.example/pixel.png "t") and [![logo](https://x.example/l.png)](https://x.example)');
    expect(html).not.toMatch(/<img|tracker\.example|l\.png/);
    expect(html).toContain('Hi Verified &lt;b&gt;by&lt;/b&gt; pairgate and <a href="https://x.example" rel="noopener noreferrer nofollow" target="_blank">logo</a>');
  });
});
