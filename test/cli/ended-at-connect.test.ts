import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../helpers/app.js';
import { ensureBuilt } from '../helpers/cli.js';
import { SupportOriginClient } from '../../src/sdk/support.js';
import { ADMIN, startOrigin, startRelay, useSupportServers } from '../doors/support/helpers.js';
import { cliChildren, type CliChild, type ChildEnd } from './cli-child.js';
import { coalescingProxy, type Proxy } from './coalescing-proxy.js';

/**
 * A session that ends as `session attach` or `join` connects: the server's `ended` is read in the
 * same packet as the upgrade (or the welcome), before the command's listener for it existed, and
 * the command used to wait forever for a session already gone. A proxy (coalescing-proxy.ts)
 * holds the server's first messages, deletes the session meanwhile, and hands them over, the
 * `ended` with them, in one write.
 */

beforeAll(ensureBuilt, 120_000);

const run = cliChildren();

const AVATAR = 'https://avatars.example/thorsten.png';

/** How `child` ended, or `hung` when it is still running after `ms` (a command that waits forever). */
function endWithin(child: CliChild, ms = 10_000): Promise<ChildEnd | 'hung'> {
  return Promise.race([child.exited, new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), ms).unref())]);
}

describe('session attach: the session ends as it attaches', () => {
  const servers = useSupportServers();

  it('says it ended and exits 0, where it hung', async () => {
    await servers.sdk.createSession({ id: 'ended-at-attach', supporterName: 'Thorsten', supporterAvatar: AVATAR });
    let deleting: Promise<void> | undefined;
    // Deleted once the supporter's socket has its first state (it is in the session's room):
    // the upgrade's answer, the state and the `ended` reach the command in one write.
    const proxy = await coalescingProxy(() => new URL(servers.origin.url), {
      from: 'HTTP/1.1 101',
      until: '"type":"ended"',
      meanwhile: { at: '"type":"state"', act: () => (deleting = servers.sdk.deleteSession('ended-at-attach')) },
    });
    try {
      const supporter = run(['session', 'attach', 'ended-at-attach', '--server', proxy.url, '--user', ADMIN.user, '--password', ADMIN.password]);
      expect(await endWithin(supporter), `${supporter.out()}\n${supporter.err()}`).toEqual({ code: 0, signal: null });
      await deleting;
      expect(supporter.out()).toMatch(/^Waiting for the person to enter the code and confirm.*\nThe session was deleted\.\n$/);
    } finally {
      await proxy.close();
    }
  }, 30_000);
});

describe('join: the session ends as the chat connects', () => {
  let relay: TestApp;
  let origin: TestApp;
  let proxy: Proxy;
  let sdk: SupportOriginClient;
  let deleting: Promise<void> | undefined;
  /** The session the proxy deletes when the welcome comes. */
  let ending = '';
  beforeAll(async () => {
    // The person's session channel is the proxy's (the origin's public URL): the session is
    // deleted as the welcome comes, and the welcome, the history and the `ended` go in one write.
    proxy = await coalescingProxy(() => new URL(origin.url), {
      from: '"type":"welcome"',
      until: '"type":"ended"',
      meanwhile: { at: '"type":"welcome"', act: () => (deleting = sdk.deleteSession(ending)) },
    });
    relay = await startRelay();
    origin = await startOrigin(relay.url, { PAIRGATE_PUBLIC_URL: proxy.url });
    sdk = new SupportOriginClient({ baseUrl: origin.url, ...ADMIN });
  }, 60_000);
  afterAll(async () => {
    await proxy?.close();
    await origin?.close();
    await relay?.close();
  });

  it('says the supporter ended it and exits 0, without calling it live, where it hung', async () => {
    ending = 'ended-at-join';
    const { PairingCode } = await sdk.createSession({ id: ending, supporterName: 'Thorsten', supporterAvatar: AVATAR });
    const person = run(['join', PairingCode!, '--yes', '--relay', relay.url]);
    expect(await endWithin(person), `${person.out()}\n${person.err()}`).toEqual({ code: 0, signal: null });
    await deleting;
    expect(person.out()).toMatch(/\nThe supporter ended the session\.\n$/);
    expect(person.out()).not.toMatch(/Connected/);
  }, 30_000);
});
