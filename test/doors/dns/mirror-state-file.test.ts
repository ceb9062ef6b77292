import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MirrorRecords } from '../../../src/doors/dns/mirror-records.js';
import { recorder } from './dns-helpers.js';

/**
 * The box's mirror-state.json was read as whatever JSON it held: only text that is not JSON was
 * taken for damage. `null` made `box announce --zone` fail with a TypeError, and an `active` that
 * is no index of a mirror name (-1, a fraction, a string) published `undefined.<fp>.<zone>`. JSON
 * of another shape is damage too now: the rotation starts over.
 */

const fingerprint = 'g'.repeat(52);
const zone = 'box.example.test';

function stateFileHolding(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'pairgate-mirror-state-')), 'mirror-state.json');
  writeFileSync(file, text);
  return file;
}

describe('MirrorRecords reads its state file', () => {
  const shapes: [string, string][] = [
    ['null', 'null'],
    ['a number', '7'],
    ['an array', '[]'],
    ['a negative active', '{"ip": null, "active": -1}'],
    ['an active past the last mirror', '{"ip": "192.168.1.5", "active": 2}'],
    ['a fractional active', '{"ip": "192.168.1.5", "active": 0.5}'],
    ['a string active', '{"ip": "192.168.1.5", "active": "a"}'],
    ['no active', '{"ip": "192.168.1.5"}'],
    ['an ip that is a number', '{"ip": 42, "active": 1}'],
    ['an ip that is no address', '{"ip": "box.local", "active": 1}'],
    ['no ip', '{"active": 1}'],
  ];
  it.each(shapes)('holding %s, starts the rotation over: publishes the first mirror, and keeps a good state', async (_shape, text) => {
    const stateFile = stateFileHolding(text);
    const client = recorder();
    const mirrors = new MirrorRecords(client, { fingerprint, zone, stateFile });
    expect(mirrors.currentName).toBe(`a.${fingerprint}.${zone}`);
    await expect(mirrors.publish('192.168.1.77')).resolves.toEqual({ name: `a.${fingerprint}.${zone}`, changed: true });
    expect(client.names).toEqual([`a.${fingerprint}.${zone}`, `local.${fingerprint}.${zone}`]);
    expect(JSON.parse(readFileSync(stateFile, 'utf8'))).toEqual({ ip: '192.168.1.77', active: 0 });
  });

  it('holding a good state, goes on from it (the check above refuses no good state)', async () => {
    const stateFile = stateFileHolding('{"ip": "192.168.1.5", "active": 0}');
    const client = recorder();
    await expect(new MirrorRecords(client, { fingerprint, zone, stateFile }).publish('192.168.1.77')).resolves.toEqual({ name: `b.${fingerprint}.${zone}`, changed: true });
    expect(JSON.parse(readFileSync(stateFile, 'utf8'))).toEqual({ ip: '192.168.1.77', active: 1 });
    const again = recorder();
    await expect(new MirrorRecords(again, { fingerprint, zone, stateFile }).publish('192.168.1.77')).resolves.toEqual({ name: `b.${fingerprint}.${zone}`, changed: false });
    expect(again.names).toEqual([`b.${fingerprint}.${zone}`, `local.${fingerprint}.${zone}`]);
  });
});
