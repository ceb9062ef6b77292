import { describe, expect, it } from 'vitest';
import { useListeningApp } from '../helpers/app.js';

/**
 * The pages' static files are cached for an hour and then revalidated with a validator (RFC 9110
 * 8.8, 13.1.2): a browser whose copy went stale asks with If-None-Match and gets a 304 without the
 * file, rather than the same bytes again.
 */
describe('static files carry a validator and answer a conditional GET with 304', () => {
  const server = useListeningApp();

  it('a file has a strong ETag, the same on every request and different from another file\'s', async () => {
    const css = await fetch(`${server.base}/static/pairgate.css`);
    const again = await fetch(`${server.base}/static/pairgate.css`);
    const script = await fetch(`${server.base}/static/form-once.js`);
    expect(css.headers.get('etag')).toMatch(/^"[\w-]{22}"$/);
    expect(again.headers.get('etag')).toBe(css.headers.get('etag'));
    expect(script.headers.get('etag')).not.toBe(css.headers.get('etag'));
    expect(css.headers.get('cache-control')).toBe('public, max-age=3600');
  });

  it('If-None-Match naming it (or W/ of it, or *, or in a list) is a 304 with no body, keeping the validator and caching', async () => {
    const etag = (await fetch(`${server.base}/static/pairgate.css`)).headers.get('etag')!;
    for (const condition of [etag, `W/${etag}`, '*', `"other", ${etag}`]) {
      const response = await fetch(`${server.base}/static/pairgate.css`, { headers: { 'if-none-match': condition } });
      expect(response.status, condition).toBe(304);
      expect(await response.text(), condition).toBe('');
      expect(response.headers.get('etag'), condition).toBe(etag);
      expect(response.headers.get('cache-control'), condition).toBe('public, max-age=3600');
    }
  });

  it('If-None-Match naming another version (a file changed by an upgrade) gets the file', async () => {
    const response = await fetch(`${server.base}/static/pairgate.css`, { headers: { 'if-none-match': '"AAAAAAAAAAAAAAAAAAAAAA"' } });
    expect(response.status).toBe(200);
    expect((await response.text()).length).toBeGreaterThan(100);
  });

  it('HEAD gets the same validator', async () => {
    const get = await fetch(`${server.base}/static/favicon.svg`);
    const head = await fetch(`${server.base}/static/favicon.svg`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('etag')).toBe(get.headers.get('etag'));
  });
});
