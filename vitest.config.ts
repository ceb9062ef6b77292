import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // expect.poll's own 1 s is short for a page in Chromium or a child process on a loaded two-core
    // machine; a condition that is wrong stays wrong for 10 s too, only its failure comes later.
    expect: { poll: { timeout: 10_000 } },
    reporters: ['default', './test/helpers/summary-reporter.ts'],
    pool: 'forks',
    // Two cores on the CI machines: more workers only add contention.
    maxWorkers: 2,
  },
});
