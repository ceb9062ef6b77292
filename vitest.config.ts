import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ['default', './test/helpers/summary-reporter.ts'],
    pool: 'forks',
    // Two cores on the CI machines: more workers only add contention.
    maxWorkers: 2,
  },
});
