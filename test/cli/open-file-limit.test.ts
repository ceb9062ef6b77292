import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CLI, ensureBuilt } from '../helpers/node-process.js';
import { missingProgram } from '../helpers/system.js';

const skip = missingProgram('prlimit', 'starting the CLI under a low open-file limit');

/**
 * Under a low open-file limit Node's module loader runs out of descriptors while it loads the
 * server and says "Cannot find package" of a package that is there, or EMFILE: the CLI adds what
 * is really wrong and what to do.
 */
describe.skipIf(Boolean(skip))(`pairgate serve under a low open-file limit (prlimit)${skip ? ` (skipped: ${skip})` : ''}`, () => {
  beforeAll(() => ensureBuilt());

  it('says the limit is too low to load pairgate, and how to raise it, instead of only a missing package', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'pairgate-few-files-'));
    try {
      const run = spawnSync('prlimit', ['--nofile=128:128', 'node', CLI, 'serve', '--port', '0', '--data-dir', dataDir], { encoding: 'utf8', timeout: 30_000 });
      expect(run.status).toBe(1);
      const lines = run.stderr.trim().split('\n');
      // Node's own words first (they name the file it could not open), then the cause.
      expect(lines[0]).toMatch(/^pairgate: (Cannot find package|EMFILE)/);
      expect(lines[1]).toBe('pairgate: this process may hold only 128 open files at once (the hard limit: ulimit -Hn, or LimitNOFILE= in a systemd unit), too few to load pairgate: raise it to 1024 or more and start again.');
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
