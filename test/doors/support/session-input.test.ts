import { describe, expect, it } from 'vitest';
import { useListeningApp } from '../../helpers/app.js';
import { ADMIN, ADMIN_AUTH, basicAuth, postJson } from './helpers.js';

/** An origin without pairing (no relay): what POST /session takes and refuses of its fields. */
describe('support origin: loose session fields refused', () => {
  const server = useListeningApp({ PLEXUS_AUTH_USER: ADMIN.user, PLEXUS_AUTH_PASS: ADMIN.password });
  const create = (body: Record<string, unknown>) => postJson(`${server.base}/session`, body, { authorization: ADMIN_AUTH });

  it('a session login whose username holds ":" is refused (Basic auth splits at the first colon, so it could never sign in)', async () => {
    const refused = await create({ id: 'colon-login', username: 'bob:smith', password: 'secret' });
    expect(refused.status).toBe(400);
    expect(await refused.json()).toEqual({ Error: 'Bad Request', Code: 'credentials_incomplete', Description: expect.stringMatching(/may not contain ":": Basic auth splits .* at the first colon .*could never sign in/) });
    // Nothing was made: the id is free, and a login without a colon works.
    expect((await create({ id: 'colon-login', username: 'bob', password: 'secret' })).status).toBe(201);
    expect((await fetch(`${server.base}/session/colon-login`, { headers: { authorization: basicAuth('bob', 'secret') } })).status).toBe(200);
  });

  it('a supporter_avatar must be an absolute https URL with "//": "https:x" is refused', async () => {
    for (const avatar of ['https:x', 'https:/img.example/a.png', 'HTTPS:img.example/a.png']) {
      const refused = await create({ supporter_name: 'T', supporter_avatar: avatar });
      expect(refused.status, avatar).toBe(400);
      expect(await refused.json(), avatar).toMatchObject({ Code: 'supporter_avatar_invalid' });
    }
    expect((await create({ supporter_name: 'T', supporter_avatar: 'HTTPS://img.example/a.png' })).status).toBe(201);
  });

  it('a supporter_avatar with a space, a tab, a line break or another control character inside is refused (it was kept as typed)', async () => {
    for (const avatar of ['https://img.example/ a.png', 'https://img.example/a\t.png', 'https://img.example/a\n.png', 'https://img.example/a\u0000.png', 'https://img.example/a\u00a0.png']) {
      const refused = await create({ supporter_name: 'T', supporter_avatar: avatar });
      expect(refused.status, JSON.stringify(avatar)).toBe(400);
      expect(await refused.json(), JSON.stringify(avatar)).toMatchObject({ Code: 'supporter_avatar_invalid' });
    }
    // Surrounding spaces are trimmed before the check, as before.
    expect((await create({ supporter_name: 'T', supporter_avatar: '  https://img.example/a%20b.png ' })).status).toBe(201);
  });
});
