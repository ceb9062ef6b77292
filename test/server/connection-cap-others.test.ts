import { describe, expect, it } from 'vitest';
import { allDoors } from '../../src/doors/index.js';
import { loadConfig } from '../../src/server/config.js';
import { connectionCap, httpConnectionCap, MIN_HTTP_CONNECTIONS } from '../../src/server/connection-cap.js';
import { descriptorsOfOthers } from '../../src/server/start.js';

const configOf = (env: Record<string, string>) => loadConfig(allDoors.flatMap((door) => (door.configSchema ? [door.configSchema] : [])), { env });

/**
 * The HTTP listener's connection cap leaves room for what the rest of the process may open as it
 * runs: the DNS door's listeners at their caps and a PostgreSQL pool at its size. Without, at a hard
 * limit near 1024, a full DNS TCP listener and update API (512 connections) could take the
 * descriptors the cap meant to keep free.
 */
describe('descriptors kept for the rest of the process', () => {
  it('are none on the embedded default (no DNS zone, SQLite)', () => {
    expect(descriptorsOfOthers(configOf({}), allDoors)).toBe(0);
  });

  it('count the DNS TCP listener and the update API at their caps when the DNS door serves', () => {
    const dns = { PAIRGATE_DNS_ZONE: 'box.example.test' };
    expect(descriptorsOfOthers(configOf(dns), allDoors)).toBe(256 + 256);
    expect(descriptorsOfOthers(configOf({ ...dns, PAIRGATE_DNS_MAX_TCP_CONNECTIONS: '100', PAIRGATE_DNS_UPDATE_MAX_CONNECTIONS: '50' }), allDoors)).toBe(150);
    // The update API off: its connections are none.
    expect(descriptorsOfOthers(configOf({ ...dns, PAIRGATE_DNS_UPDATE_PORT: '-1' }), allDoors)).toBe(256);
  });

  it('count a PostgreSQL pool at its size', () => {
    expect(descriptorsOfOthers(configOf({ PAIRGATE_DATABASE_URL: 'postgres://127.0.0.1/test', PAIRGATE_DATABASE_POOL_SIZE: '40' }), allDoors)).toBe(40);
  });

  it('are taken from the free descriptors before the listener\'s cap and its reserve', () => {
    expect(connectionCap(1024, 32, 512)).toBe(1024 - 32 - 512 - 32);
    expect(connectionCap(1024, 32, 0)).toBe(connectionCap(1024, 32));
    expect(connectionCap(600, 32, 600)).toBe(1);
  });

  it('leave the HTTP listener at least 64 connections, and say what to change when they would leave fewer', () => {
    // Room enough: the shared cap as it is, no word.
    expect(httpConnectionCap(1024, 32, 512)).toEqual({ cap: 1024 - 32 - 512 - 32 });
    // DNS caps set near the limit (600 + 400 of 1024): the listener kept 64, not 1, and the warning names the settings.
    const squeezed = httpConnectionCap(1024, 32, 1000);
    expect(squeezed.cap).toBe(MIN_HTTP_CONNECTIONS);
    expect(squeezed.warning).toBe('the open-file limit (1024: the hard limit, ulimit -Hn or LimitNOFILE=) leaves the HTTP listener 1 connection(s) once the DNS listeners and the database pool have room for theirs (1000 in all); it keeps 64. '
      + 'Raise the limit, or lower PAIRGATE_DNS_MAX_TCP_CONNECTIONS, PAIRGATE_DNS_UPDATE_MAX_CONNECTIONS or PAIRGATE_DATABASE_POOL_SIZE.');
    // A limit too low for 64 even alone: what it leaves.
    expect(httpConnectionCap(100, 32, 500).cap).toBe(connectionCap(100, 32));
    // Nothing else holds descriptors: the plain cap, however small, and no word about others.
    expect(httpConnectionCap(100, 32, 0)).toEqual({ cap: connectionCap(100, 32) });
  });
});
