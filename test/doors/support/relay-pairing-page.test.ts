import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RELAY_NOT_FOUND } from '../../../src/doors/support/relay-routes.js';
import type { TestApp } from '../../helpers/app.js';
import { ROOMY_MISSES, startRelay } from './helpers.js';

const BROWSER = { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' };

describe('relay: GET /pairing/<code> refused, a page for a browser, JSON for a program', () => {
  // Many unknown codes from one address, on purpose: a roomier miss budget than the default five.
  const servers = {} as { relay: TestApp };
  beforeAll(async () => {
    servers.relay = await startRelay(ROOMY_MISSES);
  });
  afterAll(async () => {
    await servers.relay?.close();
  });

  it('an unknown code opened in a browser is the relay\'s page with the refusal and its form, still 404', async () => {
    const { relay } = servers;
    const answer = await relay.app.inject({ method: 'GET', url: '/pairing/zzzzzz', headers: BROWSER });
    expect(answer.statusCode).toBe(404);
    expect(answer.headers['content-type']).toMatch(/^text\/html/);
    expect(answer.headers['cache-control']).toBe('no-store');
    expect(answer.body).toContain('No session has this code');
    expect(answer.body).toContain('action="/go"');
    expect(answer.body).toContain('value="zzzzzz"');
    // What cannot be a code: the page too, with its own words, status unchanged.
    const short = await relay.app.inject({ method: 'GET', url: '/pairing/abc', headers: BROWSER });
    expect(short.statusCode).toBe(400);
    expect(short.headers['content-type']).toMatch(/^text\/html/);
    expect(short.body).toContain('action="/go"');
    // Longer than any code (refused before the handler): the error page, not the JSON.
    const long = await relay.app.inject({ method: 'GET', url: `/pairing/${'a'.repeat(65)}`, headers: BROWSER });
    expect(long.statusCode).toBe(400);
    expect(long.headers['content-type']).toMatch(/^text\/html/);
  });

  it('a program (no Accept, application/json, */*) still gets the relay\'s JSON with the stable code', async () => {
    const { relay } = servers;
    for (const headers of [{}, { accept: 'application/json' }, { accept: '*/*' }, { accept: 'application/json, text/html;q=0.5' }]) {
      const answer = await relay.app.inject({ method: 'GET', url: '/pairing/zzzzzz', headers });
      expect(answer.statusCode).toBe(404);
      expect(answer.headers['content-type']).toMatch(/^application\/json/);
      expect(answer.json()).toEqual({ success: false, error: RELAY_NOT_FOUND, code: 'code_not_found' });
    }
    const short = await relay.app.inject({ method: 'GET', url: '/pairing/abc', headers: { accept: 'application/json' } });
    expect(short.statusCode).toBe(400);
    expect(short.json()).toMatchObject({ success: false, code: 'code_wrong_length' });
  });

  it('a live code still redirects a browser and a program alike', async () => {
    const { relay } = servers;
    const published = await relay.app.inject({ method: 'POST', url: '/pairing/', payload: { url: 'https://origin.example/pairing' } });
    const { code, redirect_url } = published.json();
    for (const headers of [{}, BROWSER]) {
      const answer = await relay.app.inject({ method: 'GET', url: `/pairing/${code}`, headers });
      expect(answer.statusCode).toBe(302);
      expect(answer.headers.location).toBe(redirect_url);
    }
  });
});
