import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    allowOnly: false,
    passWithNoTests: false,
    testTimeout: 20_000,
  },
});
