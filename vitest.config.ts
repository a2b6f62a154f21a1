import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    // Limits guard against hangs, never measure speed (that is `npm run bench`): on a shared machine
    // (2 cores, other work running) a test that trains takes 5-10 times its idle duration. The heaviest
    // tests name HEAVY_TEST_MS (test/helpers/limits.ts) and run their child processes without blocking
    // the worker (test/helpers/processes.ts), which keeps vitest's worker RPC answering meanwhile.
    testTimeout: 600_000,
    hookTimeout: 900_000,
    // Native work uses every core; running test files in parallel on 2 cores only slows each down.
    // Each file runs in its own forked process.
    fileParallelism: false,
    pool: 'forks',
  },
});
