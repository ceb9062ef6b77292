import { describe, expect, it } from 'vitest';
import { ADMIN_AUTH, postJson, useSupportServers } from './helpers.js';

/**
 * The support door's answers that carry the agent token or the session credential are kept by no
 * cache, JSON as well as the page (the JSON variants of a page's address had no Cache-Control),
 * and the address that is a page or JSON by Accept says it varies by it.
 */
describe('support: pairing answers and caches', () => {
  const servers = useSupportServers();

  it('the pairing info and the confirmation, as JSON, are no-store; the code\'s address varies by Accept', async () => {
    const origin = servers.origin.url;
    const created = await postJson(`${origin}/session`, { id: 'no-store', supporter_name: 'T', supporter_avatar: 'https://img.example/t.png' }, { authorization: ADMIN_AUTH });
    const { PairingCode } = (await created.json()) as { PairingCode: string };
    const info = await fetch(`${origin}/pairing/${PairingCode}`, { headers: { accept: 'application/json' } });
    expect(info.status).toBe(200);
    expect(((await info.json()) as { AgentMSH: string }).AgentMSH).toContain('/config/no-store:');
    expect(info.headers.get('cache-control')).toBe('no-store');
    expect(info.headers.get('vary')).toMatch(/\bAccept\b/);
    const page = await fetch(`${origin}/pairing/${PairingCode}`, { headers: { accept: 'text/html' } });
    expect(page.headers.get('cache-control')).toBe('no-store');
    expect(page.headers.get('vary')).toMatch(/\bAccept\b/);
    const confirmed = await postJson(`${origin}/pairing/${PairingCode}/confirm`, { Decision: 'accept' });
    expect(confirmed.status).toBe(200);
    expect(((await confirmed.json()) as { AgentCredential?: string }).AgentCredential).toBeTruthy();
    expect(confirmed.headers.get('cache-control')).toBe('no-store');
  });
});
