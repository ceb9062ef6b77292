import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { FormClient } from '../access/form-client.js';

/** The `<input>` of `id` in `html`. */
function input(html: string, id: string): string {
  return new RegExp(`<input type="password" id="${id}"[^>]*>`).exec(html)?.[0] ?? '';
}

/**
 * The change-password form shown again says which of its two password fields is at fault: the one
 * the error is about has the focus, is marked invalid and is described by the error; the other is
 * left alone. Before, the focus was always on the current password and neither field was marked.
 */
describe('the change-password form refused', () => {
  let t: TestApp;
  let base: string;
  beforeAll(async () => {
    t = await createTestApp({ PAIRGATE_SCRYPT_COST: '10' });
    base = await t.listen();
  });
  afterAll(() => t.close());

  it('marks the current password when it is wrong, and the new one when it is too short', async () => {
    const client = new FormClient(base);
    await client.register('field-fault', 'the old password');
    await client.get('/account/password');

    const wrong = await client.post('/account/password', { current: 'not the password', password: 'the new password' });
    expect(wrong.status).toBe(401);
    expect(input(wrong.text, 'current')).toMatch(/autofocus aria-invalid="true" aria-describedby="form-error"/);
    expect(input(wrong.text, 'password')).not.toMatch(/autofocus|aria-invalid/);

    const short = await client.post('/account/password', { current: 'the old password', password: 'short' });
    expect(short.status).toBe(400);
    expect(input(short.text, 'password')).toMatch(/aria-describedby="form-error password-hint" required autofocus aria-invalid="true"/);
    expect(input(short.text, 'current')).not.toMatch(/autofocus|aria-invalid/);

    const forged = await client.post('/account/password', { current: 'the old password', password: 'the new password', _csrf: '' });
    expect(forged.status).toBe(403);
    expect(forged.text).not.toContain('aria-invalid');
  });
});
