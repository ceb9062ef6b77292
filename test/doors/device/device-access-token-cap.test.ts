import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/core/clock.js';
import { hashToken } from '../../../src/core/ids.js';
import { DeviceTokens, MAX_ACCESS_TOKENS_PER_FAMILY } from '../../../src/doors/device/device-tokens.js';
import { storeSetups } from '../../helpers/services.js';
import { listeningNodes } from '../../helpers/setup-nodes.js';
import { connectDevice, createUser, DEVICE_ENV, introspect, refreshToken } from './device-helpers.js';

const ENV = { ...DEVICE_ENV, PAIRGATE_RATE_LIMIT_MAX: '100000', PAIRGATE_DEVICE_TOKEN_REQUESTS_PER_MINUTE: '100000', PAIRGATE_DEVICE_AUTHORIZATIONS_PER_MINUTE: '100000' };

// The durable stores: SQLite, and PostgreSQL (where the trim runs under a per-family lock).
const setups = (await storeSetups()).slice(0, 2);

/**
 * A family (one device) holds at most MAX_ACCESS_TOKENS_PER_FAMILY live access tokens. Each refresh
 * issued one, and none was revoked before it expired: a device refreshing as fast as its network's
 * token limit allowed held thousands at once, every one of them opening the account, and
 * /account/devices read them all.
 */
for (const setup of setups) describe.skipIf(Boolean(setup.skip))(`the access tokens of a device family, ${setup.name}${setup.skip ? ` (skipped: ${setup.skip})` : ''}`, () => {
  const clock = new ManualClock(Date.now());
  const { nodes } = listeningNodes(setup, ENV, { clock });
  const node = (i: number) => nodes[i % nodes.length]!.app;
  const familyRows = (family: string) => node(0).pairgate.stores.db.selectFrom('device_access_tokens').select('token_hash').where('grant_id', '=', family).execute();

  it('a refresh keeps the family\'s newest access tokens (the previous one still works) and revokes the older ones; introspection and the devices list agree', async () => {
    const user = await createUser(node(0), `cap-refresh-${setup.nodes}-${nodes.length}`);
    const first = await connectDevice(node(0), user, 'cli', 'read write');
    expect(first.status).toBe(200);
    const accessTokens = [String(first.body.access_token)];
    let refresh = String(first.body.refresh_token);
    for (let i = 1; i <= 6; i++) {
      clock.advance(1_000);
      const answer = await refreshToken(node(i), refresh, 'cli', i % 2 === 0 ? 'read' : undefined);
      expect(answer.status).toBe(200);
      accessTokens.push(String(answer.body.access_token));
      refresh = String(answer.body.refresh_token);
    }
    const family = (await node(0).pairgate.stores.db.selectFrom('device_access_tokens').select('grant_id').where('token_hash', '=', hashToken(accessTokens.at(-1)!)).executeTakeFirstOrThrow()).grant_id;
    expect((await familyRows(family)).map((row) => row.token_hash).sort()).toEqual(accessTokens.slice(-MAX_ACCESS_TOKENS_PER_FAMILY).map(hashToken).sort());
    const active = await Promise.all(accessTokens.map(async (token, i) => (await introspect(node(i), token)).body.active));
    expect(active).toEqual([...Array(accessTokens.length - MAX_ACCESS_TOKENS_PER_FAMILY).fill(false), ...Array(MAX_ACCESS_TOKENS_PER_FAMILY).fill(true)]);
    // Still one device, until the newest token's expiry (its refresh token's is later: that one).
    const devices = await new DeviceTokens(node(1).pairgate.stores.db).listForUser(user.id, clock.now());
    expect(devices).toEqual([expect.objectContaining({ id: family, clientId: 'cli', scope: 'read write' })]);
  });

  it('issues at once in one family, on every node, leave no more than the cap, the newest among them', async () => {
    const user = await createUser(node(0), `cap-race-${nodes.length}`);
    const family = `race-family-${nodes.length}`;
    const issue = (i: number) => new DeviceTokens(node(i).pairgate.stores.db).issue({ clientId: 'cli', registration: undefined, userId: user.id, scope: '', grantId: family, ttlMs: 3_600_000 }, clock.now() + i);
    for (let round = 0; round < 3; round++) {
      const issued = await Promise.all(Array.from({ length: 12 }, (_, i) => issue(round * 12 + i)));
      const rows = (await familyRows(family)).map((row) => row.token_hash);
      expect(rows.length).toBeLessThanOrEqual(MAX_ACCESS_TOKENS_PER_FAMILY);
      // Whichever committed last kept its own token: at least one of this round's is live.
      expect(rows.some((hash) => issued.map(hashToken).includes(hash))).toBe(true);
    }
  });
});
