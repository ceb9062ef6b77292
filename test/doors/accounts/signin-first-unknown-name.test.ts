import { describe, expect, it } from 'vitest';
import { useListeningApp } from '../../helpers/app.js';
import { FormClient } from '../access/form-client.js';

/**
 * An unknown name is checked against a dummy hash, so it costs what a wrong password costs. The
 * dummy was made at the first sign-in that needed it: the first unknown name after a start cost
 * two scrypts (make the dummy, check against it), twice a known name's, so whoever signed in first
 * after a restart (a deploy) learnt whether the name they typed was an account's.
 */
describe('the first sign-in with an unknown name after a start', () => {
  const s = useListeningApp({ PAIRGATE_SCRYPT_COST: '16', PAIRGATE_SIGNIN_FAILURES_PER_ACCOUNT: '100', PAIRGATE_SIGNIN_FAILURES_PER_IP: '100' });

  // This process's CPU time (the server runs in it; scrypt runs on libuv's threads, which count
  // too), not wall time, which a busy machine stretches at random (as test/doors/access/accounts.test.ts).
  const cpuMs = (): number => {
    const { user, system } = process.cpuUsage();
    return (user + system) / 1000;
  };
  const time = async (login: string): Promise<number> => {
    const client = new FormClient(s.base);
    await client.get('/account/signin');
    const started = cpuMs();
    expect((await client.post('/account/signin', { login, password: 'a wrong password' })).status).toBe(401);
    return cpuMs() - started;
  };

  it('costs what a wrong password for a known name costs', async () => {
    // No sign-in before this one: registering hashes a password but checks none.
    await new FormClient(s.base).register('first-known', 'the right password');
    const first = await time('first-unknown-name');
    const known: number[] = [];
    for (let i = 0; i < 3; i++) known.push(await time('first-known'));
    const median = known.sort((a, b) => a - b)[1]!;
    expect(first / median).toBeLessThan(1.5);
  }, 30_000);
});
