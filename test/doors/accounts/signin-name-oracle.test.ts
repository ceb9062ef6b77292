import { describe, expect, it } from 'vitest';
import { useListeningApp } from '../../helpers/app.js';
import { FormClient } from '../access/form-client.js';

/**
 * The failure budget a sign-in counts against must not tell whether its name names an account. An
 * account's counter is found through the name as the look-up reads it (trimmed, lower case, NFC);
 * a name that names none was counted as typed but trimmed and lowered, without NFC, and a name
 * past 254 characters (spaces after it included) was not looked up at all. So after spending a
 * name's budget, another spelling of it was refused (429) when the name was an account's and tried
 * (401) when it was not: whoever spent a budget learnt whether the account exists.
 */
describe('spellings of a name whose failure budget is spent', () => {
  const s = useListeningApp({ PAIRGATE_SCRYPT_COST: '10', PAIRGATE_SIGNIN_FAILURES_PER_ACCOUNT: '3', PAIRGATE_SIGNIN_FAILURES_PER_IP: '100000' });

  /** Spends the budget of `login` with three wrong passwords, then answers a sign-in as `spelling`. */
  async function afterSpending(login: string, spelling: string): Promise<number> {
    const client = new FormClient(s.base);
    for (let i = 0; i < 3; i++) expect((await client.signIn(login, `wrong password ${i}`)).status).toBe(401);
    return (await client.signIn(spelling, 'yet another wrong one')).status;
  }

  it('are refused alike whether the name is an account or not: another Unicode form (NFD)', async () => {
    await new FormClient(s.base).register('jose-oracle', 'the right password', 'jos\u00e9@example.test');
    const account = await afterSpending('jos\u00e9@example.test', 'jose\u0301@example.test');
    const nobody = await afterSpending('ren\u00e9@example.test', 'rene\u0301@example.test');
    expect([account, nobody]).toEqual([429, 429]);
  });

  it('are refused alike whether the name is an account or not: spaces after the name past 254 characters', async () => {
    await new FormClient(s.base).register('padded-owner', 'the right password');
    const padding = ' '.repeat(280);
    const account = await afterSpending('padded-owner', `padded-owner${padding}`);
    const nobody = await afterSpending('padded-nobody', `padded-nobody${padding}`);
    expect([account, nobody]).toEqual([429, 429]);
  });

  it('still sign the owner in, spaces after the name past 254 characters included', async () => {
    await new FormClient(s.base).register('spelled-owner', 'the right password', 'spell\u00e9@example.test');
    expect((await new FormClient(s.base).signIn(`  SPELLE\u0301@example.test  `, 'the right password')).status).toBe(303);
    expect((await new FormClient(s.base).signIn(`spelled-owner${' '.repeat(250)}`, 'the right password')).status).toBe(303);
  });
});
