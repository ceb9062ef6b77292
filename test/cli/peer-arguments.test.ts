import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { TrustedPeerStore } from '../../src/doors/lan/trusted-peers.js';
import { ensureBuilt, runCli } from '../helpers/cli.js';

/**
 * Naming a trusted peer on the command line: an id that starts with "-" (1 in 64 of those made
 * before new ids avoided it) was commander's bare "unknown option", and a name several peers share
 * silently named the first of them, so `peers remove laptop` could revoke the wrong laptop.
 */
describe('pairgate peers remove / lan connect <peer>', () => {
  let dir: string;
  beforeAll(async () => {
    ensureBuilt();
    dir = mkdtempSync(join(tmpdir(), 'pairgate-peer-arguments-'));
    const store = new TrustedPeerStore(dir);
    await store.save({ deviceId: '-7N2HIah_3n8s_-xU-83QA', name: 'old', keySha256: `k0${'z'.repeat(41)}`, addresses: [] });
    await store.save({ deviceId: 'AbCdEf1111111111111111', name: 'laptop', keySha256: `k1${'a'.repeat(41)}`, addresses: [] });
    await store.save({ deviceId: 'AbCdEf2222222222222222', name: 'laptop', keySha256: `k2${'b'.repeat(41)}`, addresses: [] });
  }, 120_000);

  it('an id that starts with "-": the usage error says to put it after --, exit 2; after -- it is removed', async () => {
    const refused = await runCli(['peers', 'remove', '-7N2HIah', '--config-dir', dir]);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toContain("pairgate: Unknown option '-7N2HIah'. [unknown_option]\n(an id that starts with - goes after --: pairgate peers remove -- -7N2HIah)\n");
    const connect = await runCli(['lan', 'connect', '-7N2HIah', '--config-dir', dir]);
    expect(connect.status).toBe(2);
    expect(connect.stderr).toContain('(an id that starts with - goes after --: pairgate lan connect -- -7N2HIah)');
    // Not on a command that takes no id: its unknown option stays commander's own words.
    const other = await runCli(['peers', 'list', '-7N2HIah', '--config-dir', dir]);
    expect(other.status).toBe(2);
    expect(other.stderr).not.toContain('goes after --');

    const removed = await runCli(['peers', 'remove', '--config-dir', dir, '--json', '--', '-7N2HIah']);
    expect(removed).toMatchObject({ status: 0, stderr: '' });
    expect((JSON.parse(removed.stdout) as { removed: { deviceId: string } }).removed.deviceId).toBe('-7N2HIah_3n8s_-xU-83QA');
  }, 60_000);

  it('a name two peers share: refused with both ids, lan_ambiguous_peer, exit 2, nothing removed', async () => {
    const refused = await runCli(['peers', 'remove', 'laptop', '--config-dir', dir]);
    expect(refused).toEqual({
      status: 2,
      stdout: '',
      stderr: expect.stringMatching(/^pairgate: "laptop" names 2 trusted peers: "laptop" \(id AbCdEf\d{16}\), "laptop" \(id AbCdEf\d{16}\)\. Name the one you mean by its device id .*\[lan_ambiguous_peer\]\n$/) as unknown as string,
    });
    expect(new TrustedPeerStore(dir).list().filter((p) => p.name === 'laptop')).toHaveLength(2);
    const connect = await runCli(['lan', 'connect', 'laptop', '--config-dir', dir]);
    expect(connect.status).toBe(2);
    expect(connect.stderr).toContain('[lan_ambiguous_peer]');
    const byId = await runCli(['peers', 'remove', 'AbCdEf2222222222222222', '--config-dir', dir]);
    expect(byId).toMatchObject({ status: 0, stdout: 'Removed "laptop" (id AbCdEf2222222222222222).\n' });
  }, 60_000);
});

describe('pairgate peers list and remove: names stored by an older version', () => {
  it('shows a name stored by an older version, holding what names may no longer hold, without its controls', async () => {
    ensureBuilt();
    const dir = mkdtempSync(join(tmpdir(), 'pairgate-peer-names-'));
    await new TrustedPeerStore(dir).save({ deviceId: 'AbCdEf3333333333333333', name: 'ev\u200fil\u2028x\u001b[31mred', keySha256: `k3${'c'.repeat(41)}`, addresses: [] });
    const listed = await runCli(['peers', 'list', '--config-dir', dir]);
    expect(listed.status).toBe(0);
    expect(listed.stdout).toMatch(/^ev il xred {2}id AbCdEf3333333333333333 {2}key /);
    expect(listed.stdout.trim().split('\n')).toHaveLength(1);
  }, 60_000);

  it('says when a peer was last seen as every command says a time: local, with how long ago, not UTC ISO', async () => {
    ensureBuilt();
    const dir = mkdtempSync(join(tmpdir(), 'pairgate-peer-seen-'));
    // 10:00 UTC is 15:30 in Asia/Kolkata (UTC+05:30, no daylight saving).
    await new TrustedPeerStore(dir).save({ deviceId: 'AbCdEf5555555555555555', name: 'attic', keySha256: `k5${'e'.repeat(41)}`, addresses: [] }, new Date('2021-03-04T10:00:00.000Z'));
    const listed = await runCli(['peers', 'list', '--config-dir', dir], { TZ: 'Asia/Kolkata' });
    expect(listed.status, listed.stderr).toBe(0);
    expect(listed.stdout).toMatch(/ {2}last seen 2021-03-04 15:30:00 \(\d+ days ago\)\n$/);
    const json = await runCli(['peers', 'list', '--json', '--config-dir', dir], { TZ: 'Asia/Kolkata' });
    expect((JSON.parse(json.stdout) as { peers: { lastSeenAt: string }[] }).peers[0]!.lastSeenAt).toBe('2021-03-04T10:00:00.000Z');
  }, 60_000);

  it('peers remove says the name it removed without its controls, as the list shows it', async () => {
    ensureBuilt();
    const dir = mkdtempSync(join(tmpdir(), 'pairgate-peer-names-'));
    await new TrustedPeerStore(dir).save({ deviceId: 'AbCdEf4444444444444444', name: 'ev\u200fil\u2028x\u001b[31mred', keySha256: `k4${'d'.repeat(41)}`, addresses: [] });
    const removed = await runCli(['peers', 'remove', 'AbCdEf4444444444444444', '--config-dir', dir]);
    expect(removed).toMatchObject({ status: 0, stdout: 'Removed "ev il xred" (id AbCdEf4444444444444444).\n' });
  }, 60_000);
});
