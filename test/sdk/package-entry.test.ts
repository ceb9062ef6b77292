import { describe, expect, it } from 'vitest';
// By the package's own name: what an integrator imports (package.json `exports`, the built SDK).
import { PairgateApiError, PairgateClient } from 'pairgate/sdk';
import { useListeningApp } from '../helpers/app.js';

describe('the SDK as a package entry point (pairgate/sdk)', () => {
  const server = useListeningApp();

  it('runs the README example: create, wait with a signal, approve by code, redeem', async () => {
    const client = new PairgateClient({ baseUrl: server.base });
    const created = await client.createGrant({ label: 'Sign in on the kiosk' });
    const signal = AbortSignal.timeout(30_000);
    const decision = client.waitForDecision(created.id, { signal });
    await client.approveCode(created.code, 'at the desk');
    const decided = await decision;
    expect(decided.state).toBe('approved');
    expect(await client.redeem(created.id, created.secret)).toMatchObject({ id: created.id, state: 'redeemed' });
    const again = await client.redeem(created.id, created.secret).catch((error: unknown) => error);
    expect(again).toBeInstanceOf(PairgateApiError);
    expect((again as PairgateApiError).retryable).toBe(false);
  });
});
