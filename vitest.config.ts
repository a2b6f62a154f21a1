import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 300_000,
    // Native work uses every core; running test files in parallel on 2 cores only slows each down.
    fileParallelism: false,
    pool: 'forks',
  },
});
