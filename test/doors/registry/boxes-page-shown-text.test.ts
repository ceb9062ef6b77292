import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Announcements } from '../../../src/doors/registry/announcements.js';
import { initBoxIdentity, type BoxIdentity } from '../../../src/doors/registry/box-identity.js';
import { signAnnouncement } from '../../../src/sdk/registry.js';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { httpFrom } from '../../helpers/http-from.js';

/**
 * A box's name and addresses are its own words, shown on the boxes page to the people deciding
 * which box behind their address to trust, beside its fingerprint. Any box on the same public
 * network (a café's, a carrier-grade NAT's) can announce, so what it says must not change how the
 * page reads.
 */
describe('the boxes page shows what a box announces without letting it rewrite the page', () => {
  let t: TestApp;
  let base: string;
  let box: BoxIdentity;

  beforeAll(async () => {
    t = await createTestApp({ PAIRGATE_RATE_LIMIT_MAX: '10000', PAIRGATE_REGISTRY_REGISTER_PER_MINUTE: '100' });
    base = await t.listen();
    box = await initBoxIdentity(join(mkdtempSync(join(tmpdir(), 'pairgate-boxes-text-')), 'kitchen'), { name: 'kitchen' });
  });
  afterAll(() => t.close());

  async function announce(from: string, body: unknown) {
    const raw = JSON.stringify(body);
    const authorization = await signAnnouncement(box, raw, { now: Date.now() });
    return httpFrom(from, `${base}/register`, { method: 'POST', body: raw, headers: { authorization } });
  }

  /** The list of boxes on the page seen from `from`. */
  async function listed(from: string): Promise<string> {
    const page = await httpFrom(from, `${base}/boxes`);
    expect(page.status).toBe(200);
    const start = page.text.indexOf('<ul class="boxes">');
    expect(start, page.text).toBeGreaterThan(0);
    return page.text.slice(start, page.text.indexOf('</ul>', start));
  }

  /** Stores an announcement as a registry of an earlier version took it (such names are refused now). */
  async function stored(from: string, message: string): Promise<void> {
    await new Announcements(t.app.pairgate.stores.ephemeral, 120_000).put(from, { client: box.fingerprint, message, timestamp: Date.now() }, Date.now());
  }

  it('a name already stored in Project Link\'s opaque message is shown without its control and text-direction characters, cut between characters', async () => {
    // An unterminated U+202E in the name turned the fingerprint shown after it around.
    await stored('127.0.0.41', JSON.stringify({ local_origin: 'https://192.168.1.20:4443', name: `\u202eKitchen\u0007 ${'x'.repeat(91)}\u2066\u{1F600}z` }));
    const list = await listed('127.0.0.41');
    // 100 characters: what the name says, without the characters that say nothing but rewrite the line.
    expect(list).toContain(`<strong><bdi>Kitchen ${'x'.repeat(91)}\u{1F600}</bdi></strong>`);
    for (const unshown of ['\u202e', '\u0007', '\u2066']) expect(list).not.toContain(unshown);
    expect(list).toContain(`<code>${box.fingerprint}</code>`);
    // Cut at 100 UTF-16 units, a character beyond U+FFFF on the edge lost half and showed as U+FFFD.
    expect((await announce('127.0.0.46', { client: box.fingerprint, message: JSON.stringify({ name: `${'y'.repeat(99)}\u{1F600}z` }) })).status).toBe(200);
    const cut = await listed('127.0.0.46');
    expect(cut).toContain(`<strong><bdi>${'y'.repeat(99)}\u{1F600}</bdi></strong>`);
    expect(cut).not.toContain('\ufffd');
  });

  it('a name of nothing but such characters is shown as an unnamed box', async () => {
    await stored('127.0.0.42', JSON.stringify({ name: '\u202e\u202c' }));
    expect(await listed('127.0.0.42')).toContain(`<strong><bdi>Box ${box.fingerprint.slice(0, 8)}</bdi></strong>`);
  });

  it('an address with a user name or password in the opaque message is no link (https://kitchen.local@evil.example goes to evil.example)', async () => {
    const message = JSON.stringify({ local_origin: 'https://kitchen.local@evil.example/', tunnel_origin: 'http://user:secret@192.168.1.2/', origin: 'https://192.168.1.20:4443' });
    expect((await announce('127.0.0.43', { client: box.fingerprint, message })).status).toBe(200);
    const list = await listed('127.0.0.43');
    expect(list).not.toContain('evil.example');
    expect(list).not.toContain('secret');
    expect(list).toContain('href="https://192.168.1.20:4443/"');
  });

  it('the structured form refuses such a name or origin: 400 validation_failed naming the field (the password not repeated)', async () => {
    const refused = async (body: Record<string, unknown>) => {
      const res = await announce('127.0.0.44', { fingerprint: box.fingerprint, local_origin: 'https://192.168.1.20:4443', ...body });
      expect(res.status, res.text).toBe(400);
      expect(res.json).toMatchObject({ code: 400, errno: 101, reason: 'validation_failed' });
      return (res.json as { message: string }).message;
    };
    expect(await refused({ name: 'Kitchen\u202e' })).toMatch(/^body\.name must not contain control, invisible or text-direction characters/);
    expect(await refused({ name: 'Kitchen\u0000' })).toMatch(/^body\.name must not contain/);
    expect(await refused({ local_origin: 'https://x\u0000y.example' })).toMatch(/^body\.local_origin must not contain/);
    const withPassword = await refused({ local_origin: 'https://kitchen:hunter2@192.168.1.20' });
    expect(withPassword).toMatch(/^body\.local_origin holds a user name or password/);
    expect(withPassword).not.toContain('hunter2');
    expect(await refused({ tunnel_origin: 'https://kitchen.local@evil.example' })).toMatch(/^body\.tunnel_origin holds a user name or password/);
    // Nothing was listed from those.
    expect((await httpFrom('127.0.0.44', `${base}/ping`)).json).toEqual([]);
    // A plain name and origin still pass.
    expect((await announce('127.0.0.44', { fingerprint: box.fingerprint, local_origin: 'https://192.168.1.20:4443', name: 'Küche · كوخ' })).status).toBe(200);
  });

  describe('a box\'s name holds no invisible characters (shown-text.ts\'s strict rule)', () => {
    /** The refusal of an announcement from a network of its own: 400 validation_failed (errno 101); its message. */
    async function refusedName(body: Record<string, unknown>): Promise<string> {
      const res = await announce('127.0.0.47', body);
      expect(res.status, res.text).toBe(400);
      expect(res.json).toMatchObject({ code: 400, errno: 101, error: 'Bad Request', reason: 'validation_failed' });
      return (res.json as { message: string }).message;
    }
    const structured = (name: string) => ({ fingerprint: box.fingerprint, local_origin: 'https://192.168.1.20:4443', name });
    const projectLink = (name: string) => ({ client: box.fingerprint, message: JSON.stringify({ local_origin: 'https://192.168.1.20:4443', name }) });

    it('refuses a name with U+200B in either form, saying why in words', async () => {
      // "Kitchen" and "Kitc\u200bhen" look alike on the page, and are two boxes.
      const inStructured = await refusedName(structured('Kitc\u200bhen'));
      expect(inStructured).toMatch(/^body\.name must not contain control, invisible or text-direction characters \(such as U\+0000, U\+200B or U\+202E\)/);
      expect(inStructured).toContain('beside the box\'s fingerprint');
      expect(await refusedName(projectLink('Kitc\u200bhen'))).toMatch(/^body\.message's "name" must not contain control, invisible or text-direction characters/);
      expect((await httpFrom('127.0.0.47', `${base}/ping`)).json).toEqual([]);
    });

    it('refuses the other invisible characters, and piled accents', async () => {
      // Soft hyphen, word joiner, BOM, combining grapheme joiner, variation selector, Hangul filler, blank Braille, zalgo.
      for (const name of ['Kit\u00adchen', 'Kit\u2060chen', '\ufeffKitchen', 'Kit\u034fchen', 'Kitchen\ufe0f', '\u3164', '\u2800', 'Kitche\u0301\u0302\u0303\u0304n']) {
        expect(await refusedName(structured(name)), JSON.stringify(name)).toMatch(/^body\.name must not contain/);
        expect(await refusedName(projectLink(name)), JSON.stringify(name)).toMatch(/^body\.message's "name" must not contain/);
      }
      // And what the earlier rule refused, in Project Link's message too now.
      expect(await refusedName(projectLink('\u202eKitchen'))).toMatch(/^body\.message's "name" must not contain/);
    });

    it('takes names with accents and in other scripts, and a Project Link message that names no box', async () => {
      for (const name of ['Küche · كوخ', 'Cuisine crème brûlée', 'Nhà bếp', '台所のボックス', '厨房盒子', '부엌 상자']) {
        expect((await announce('127.0.0.48', structured(name))).status, name).toBe(200);
        expect(await listed('127.0.0.48')).toContain(`<bdi>${name}</bdi>`);
        expect((await announce('127.0.0.48', projectLink(name))).status, name).toBe(200);
      }
      // Mozilla's message is otherwise opaque: not JSON, or JSON without a name, is kept as sent.
      expect((await announce('127.0.0.48', { client: box.fingerprint, message: 'the kitchen box \u200b' })).status).toBe(200);
      expect((await announce('127.0.0.48', { client: box.fingerprint, message: JSON.stringify({ label: 'Kitc\u200bhen' }) })).status).toBe(200);
    });

    it('refuses an invisible character in a structured origin too', async () => {
      // https://kitc\u200bhen.example goes to kitchen.example.
      const res = await announce('127.0.0.47', { fingerprint: box.fingerprint, local_origin: 'https://kitc\u200bhen.example' });
      expect(res.status, res.text).toBe(400);
      expect((res.json as { message: string }).message).toMatch(/^body\.local_origin must not contain control, invisible or text-direction characters/);
    });
  });
});
