import { beforeAll, describe, expect, it } from 'vitest';
import { confirmPairing } from '../../../src/sdk/support.js';
import { ensureBuilt, runCli } from '../../helpers/cli.js';
import { json, postJson, useSupportServers } from './helpers.js';

beforeAll(ensureBuilt, 120_000);

const AVATAR = 'https://img.example/avatar.png';

describe('a pairing code decided on already, asked for by an agent (JSON) and by pairgate join', () => {
  // Each look-up of a spent code counts as a miss of this address: room for the ones below.
  const servers = useSupportServers({ PAIRGATE_CODE_MISSES_PER_HOUR: '100' });

  it('declined: still the Plexus 404 "Code not found", with code_declined; join says it was declined, not to check the code', async () => {
    const created = await servers.sdk.createSession({ id: 'spent-declined', supporterName: 'Thorsten', supporterAvatar: AVATAR });
    const code = created.PairingCode!;
    expect((await postJson(`${servers.origin.url}/pairing/${code}/confirm`, { Decision: 'decline' })).status).toBe(403);

    const answer = await fetch(`${servers.origin.url}/pairing/${code}`);
    expect(answer.status).toBe(404);
    expect(await json(answer)).toEqual({ Error: 'Not Found', Description: 'Code not found', Code: 'code_declined' });

    const result = await runCli(['join', code, '--relay', `${servers.relay.url}`]);
    expect(result.status, result.stderr).toBe(2);
    expect(result.stderr).toBe('pairgate: This code was declined, so nobody was given access, and it works no more. If you do want help, ask your supporter for a new code. [code_declined]\n');
  });

  it('confirmed: code_used; join says it was used, once only', async () => {
    const created = await servers.sdk.createSession({ id: 'spent-used', supporterName: 'Thorsten', supporterAvatar: AVATAR });
    const code = created.PairingCode!;
    await confirmPairing(`${servers.origin.url}/pairing/${code}`);

    const answer = await fetch(`${servers.origin.url}/pairing/${code}`);
    expect(answer.status).toBe(404);
    expect(await json(answer)).toEqual({ Error: 'Not Found', Description: 'Code not found', Code: 'code_used' });
    // A second confirmation (an agent that lost the race) is told the same, not to check the code.
    const again = await postJson(`${servers.origin.url}/pairing/${code}/confirm`, { Decision: 'accept' });
    expect(again.status).toBe(404);
    expect(await json(again)).toEqual({ Error: 'Not Found', Description: 'Code not found', Code: 'code_used' });

    const result = await runCli(['join', code.toUpperCase(), '--relay', `${servers.relay.url}`]);
    expect(result.status, result.stderr).toBe(2);
    expect(result.stderr).toBe('pairgate: This code was confirmed already, and a code works only once. If you still need help, ask your supporter for a new code. [code_used]\n');
  });

  it('a code never handed out stays code_not_found, and join still says to check it', async () => {
    const answer = await fetch(`${servers.origin.url}/pairing/zzzzzz`);
    expect(answer.status).toBe(404);
    expect(await json(answer)).toEqual({ Error: 'Not Found', Description: 'Code not found', Code: 'code_not_found' });
    const result = await runCli(['join', 'zzzzzz', '--relay', `${servers.relay.url}`]);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/^pairgate: No session has this code, or it has expired\. Check the code/);
  });
});
