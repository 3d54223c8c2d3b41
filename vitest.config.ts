import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // native handles (libdatachannel, libopus) live in worker processes, not threads
    pool: 'forks',
  },
});
