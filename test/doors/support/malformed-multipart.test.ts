import { describe, expect, it } from 'vitest';
import { ADMIN_AUTH, useSupportServers } from './helpers.js';

/** Bodies that say they are multipart and are not: each a clear 400, never a 500. */
const MALFORMED: Record<string, { type: string; body: string }> = {
  'no boundary': { type: 'multipart/form-data', body: 'id=x' },
  'not multipart at all': { type: 'multipart/form-data; boundary=abc', body: 'garbage' },
  'cut off in a field': { type: 'multipart/form-data; boundary=abc', body: '--abc\r\nContent-Disposition: form-data; name="id"\r\n\r\nhelping' },
};

describe('support origin: malformed multipart bodies', () => {
  const servers = useSupportServers();

  it('POST /session (with or without credentials) and POST /pairing/:code/confirm answer 400 invalid_multipart, log no error', async () => {
    const targets: { url: () => string; headers: Record<string, string> }[] = [
      { url: () => `${servers.origin.url}/session`, headers: { authorization: ADMIN_AUTH } },
      { url: () => `${servers.origin.url}/session`, headers: {} },
      { url: () => `${servers.origin.url}/pairing/7auu83/confirm`, headers: {} },
    ];
    for (const target of targets) {
      for (const [what, { type, body }] of Object.entries(MALFORMED)) {
        const response = await fetch(target.url(), { method: 'POST', headers: { ...target.headers, 'content-type': type }, body });
        expect({ what, url: target.url(), status: response.status }).toEqual({ what, url: target.url(), status: 400 });
        expect(await response.json()).toEqual({ Error: 'Bad Request', Description: expect.any(String), Code: 'invalid_multipart' });
      }
    }
    // Bad input is no server error: nothing at level error (50) or above.
    expect(servers.origin.logs.filter((line) => /"level":(50|60)/.test(line))).toEqual([]);
  });

  it('a well-formed multipart body still works, and a file part is still 413', async () => {
    const form = new FormData();
    form.set('id', 'multipart-ok');
    form.set('supporter_name', 'Thorsten');
    form.set('supporter_avatar', 'https://img.example/a.png');
    const created = await fetch(`${servers.origin.url}/session`, { method: 'POST', headers: { authorization: ADMIN_AUTH }, body: form });
    expect(created.status).toBe(201);
    expect(((await created.json()) as { ID: string }).ID).toBe('multipart-ok');
    const withFile = new FormData();
    withFile.set('supporter_name', 'T');
    withFile.set('supporter_avatar', new Blob(['png']), 'a.png');
    const refused = await fetch(`${servers.origin.url}/session`, { method: 'POST', headers: { authorization: ADMIN_AUTH }, body: withFile });
    expect(refused.status).toBe(413);
    expect(await refused.json()).toEqual({ Error: 'Payload Too Large', Description: 'Files are not accepted here: send each field as text (curl -F name=value), or send JSON or an urlencoded form, not name=@file.', Code: 'file_not_accepted' });
  });

  it('the multipart plugin\'s other refusals are said in words with pairgate\'s codes, not its own English and fst_ codes (nor a 406)', async () => {
    const post = async (form: FormData) => {
      const response = await fetch(`${servers.origin.url}/session`, { method: 'POST', headers: { authorization: ADMIN_AUTH }, body: form });
      return { status: response.status, body: (await response.json()) as { Code: string; Description: string } };
    };
    const many = new FormData();
    for (let i = 0; i < 25; i++) many.set(`field${i}`, 'x');
    expect(await post(many)).toEqual({ status: 413, body: expect.objectContaining({ Code: 'too_many_fields', Description: 'The form has more than 20 fields: send only the fields this request takes.' }) });
    const proto = new FormData();
    proto.set('__proto__', 'x');
    expect(await post(proto)).toEqual({ status: 400, body: expect.objectContaining({ Code: 'validation_failed', Description: expect.stringMatching(/^A form field has a name that is not accepted/) }) });
    const jsonField = await fetch(`${servers.origin.url}/session`, {
      method: 'POST',
      headers: { authorization: ADMIN_AUTH, 'content-type': 'multipart/form-data; boundary=b' },
      body: '--b\r\nContent-Disposition: form-data; name="id"\r\nContent-Type: application/json\r\n\r\n{bad\r\n--b--\r\n',
    });
    expect(jsonField.status).toBe(400);
    expect(await jsonField.json()).toMatchObject({ Code: 'invalid_multipart', Description: expect.stringMatching(/sent with the type application\/json: send each field as text/) });
    // A part that names no field was refused as a field called "undefined", which the form never had.
    const nameless = await fetch(`${servers.origin.url}/session`, {
      method: 'POST',
      headers: { authorization: ADMIN_AUTH, 'content-type': 'multipart/form-data; boundary=b' },
      body: '--b\r\nContent-Disposition: form-data; name="id"\r\n\r\nnameless\r\n--b\r\nContent-Disposition: form-data\r\n\r\nx\r\n--b--\r\n',
    });
    expect(nameless.status).toBe(400);
    const namelessBody = (await nameless.json()) as { Code: string; Description: string };
    expect(namelessBody).toMatchObject({ Code: 'invalid_multipart', Description: expect.stringMatching(/^The multipart body has a part without a name/) });
    expect(namelessBody.Description).not.toMatch(/undefined/);
    expect(servers.origin.logs.filter((line) => /"level":(50|60)/.test(line))).toEqual([]);
  });

  describe('fields that are not UTF-8', () => {
    const AVATAR = 'https://img.example/a.png';
    /** A multipart body of `fields` (name, bytes of the value, optional Content-Type of the part). */
    const multipart = (fields: [string, Buffer, string?][]) =>
      Buffer.concat([
        ...fields.flatMap(([name, value, type]) => [
          Buffer.from(`--b\r\nContent-Disposition: form-data; name="${name}"\r\n${type ? `Content-Type: ${type}\r\n` : ''}\r\n`),
          value,
          Buffer.from('\r\n'),
        ]),
        Buffer.from('--b--\r\n'),
      ]);
    const create = (body: Buffer | ReadableStream<Uint8Array>) =>
      fetch(`${servers.origin.url}/session`, { method: 'POST', headers: { authorization: ADMIN_AUTH, 'content-type': 'multipart/form-data; boundary=b' }, body, duplex: 'half' } as RequestInit);
    const supporterName = async (response: Response) => {
      const created = (await response.json()) as { PairingCode: string };
      const info = await fetch(`${servers.origin.url}/pairing/${created.PairingCode}`, { headers: { accept: 'application/json' } });
      return ((await info.json()) as { SupporterName: string }).SupporterName;
    };

    it('a Latin-1 field with no charset declared is a 400 body_not_utf8, and nothing is stored', async () => {
      const latin1 = multipart([['id', Buffer.from('latin-1')], ['supporter_name', Buffer.from('caf\xe9', 'latin1')], ['supporter_avatar', Buffer.from(AVATAR)]]);
      const refused = await create(latin1);
      expect(refused.status).toBe(400);
      expect(await refused.json()).toEqual({ Error: 'Bad Request', Description: expect.stringMatching(/^A field of the multipart form is not valid UTF-8, and its part declares no other charset\. Send each field as UTF-8 text/), Code: 'body_not_utf8' });
      // The id was not taken: the same session sent as UTF-8 is created, with its accent.
      const accepted = await create(multipart([['id', Buffer.from('latin-1')], ['supporter_name', Buffer.from('café')], ['supporter_avatar', Buffer.from(AVATAR)]]));
      expect(accepted.status).toBe(201);
      expect(await supporterName(accepted)).toBe('café');
      expect(servers.origin.logs.filter((line) => /"level":(50|60)/.test(line))).toEqual([]);
    });

    it('a field whose part declares Latin-1 is read as Latin-1; U+FFFD sent as UTF-8 is kept as sent', async () => {
      const declared = await create(multipart([['id', Buffer.from('declared')], ['supporter_name', Buffer.from('caf\xe9', 'latin1'), 'text/plain; charset=ISO-8859-1'], ['supporter_avatar', Buffer.from(AVATAR)]]));
      expect(declared.status).toBe(201);
      expect(await supporterName(declared)).toBe('café');
      const replacement = await create(multipart([['id', Buffer.from('replacement')], ['supporter_name', Buffer.from('a \uFFFD b')], ['supporter_avatar', Buffer.from(AVATAR)]]));
      expect(replacement.status).toBe(201);
      expect(await supporterName(replacement)).toBe('a \uFFFD b');
    });

    it('a body sent in pieces is read whole: a character cut between two pieces is fine, a bad byte in a later piece is refused', async () => {
      /** `bytes` streamed in pieces of `size` bytes, a few milliseconds apart. */
      const pieces = (bytes: Buffer, size: number) =>
        new ReadableStream<Uint8Array>({
          async start(controller) {
            for (let at = 0; at < bytes.length; at += size) {
              controller.enqueue(bytes.subarray(at, at + size));
              await new Promise((resolve) => setTimeout(resolve, 2));
            }
            controller.close();
          },
        });
      const good = multipart([['id', Buffer.from('pieces')], ['supporter_name', Buffer.from('ééééé')], ['supporter_avatar', Buffer.from(AVATAR)]]);
      const whole = await create(pieces(good, 7));
      expect(whole.status).toBe(201);
      expect(await supporterName(whole)).toBe('ééééé');
      const bad = multipart([['id', Buffer.from('pieces-bad')], ['supporter_avatar', Buffer.from(AVATAR)], ['supporter_name', Buffer.from('caf\xe9', 'latin1')]]);
      const refused = await create(pieces(bad, 16));
      expect(refused.status).toBe(400);
      expect(((await refused.json()) as { Code: string }).Code).toBe('body_not_utf8');
    });
  });
});
