import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// One project per kind of test, so each can be run alone (`npm run test:unit`, …) and the slow ones
// that start real servers never run in parallel with each other on a 2-core machine.
export default defineConfig({
  // The package's own name, as examples/ import it, is its source (tsconfig.json's paths say the same).
  resolve: { alias: { 'simple-supply-chain': fileURLToPath(new URL('./charts/index.ts', import.meta.url)) } },
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/charts/**/*.test.ts', 'examples/**/*.test.ts', 'controller/src/**/*.test.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          testTimeout: 180_000,
          hookTimeout: 300_000,
          fileParallelism: false,
        },
      },
      {
        extends: true,
        test: {
          name: 'resilience',
          include: ['test/resilience/**/*.test.ts'],
          testTimeout: 180_000,
          hookTimeout: 300_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
