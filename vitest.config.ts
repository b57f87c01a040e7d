import { defineConfig } from 'vitest/config';

/**
 * Test tiers, each a project: `unit` (pure logic, no network), `integration` (real HTTP to the local
 * server on the real stand-ins, fresh state per file), `contract` (the stock client's recorded traffic
 * replayed), `infra` (the synthesized CDK template), `browser` (the UI in headless Chromium;
 * `npm run test:browser`), and `fidelity` (the data-access and integration
 * tests again, on Amazon's DynamoDB Local instead of dynalite; `npm run test:fidelity`).
 */
export default defineConfig({
  test: {
    // Console output of a test is printed only when that test fails: a passing suite prints results only.
    silent: 'passed-only',
    // The pinned SDK's notice that its later releases need Node 22 would otherwise print in every worker.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          // A guard against hangs, not a timing: a run's writes now keep value entries too, and the heaviest
          // tests (1,000-file listings, 200 MB uploads, property tests) took 20–30 s on a loaded 2-core machine.
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'contract',
          include: ['test/contract/**/*.test.ts'],
          testTimeout: 30_000,
          hookTimeout: 30_000,
        },
      },
      {
        extends: true,
        test: {
          // Regression tests of the security findings (issue 11): real HTTP to the local server.
          name: 'security',
          include: ['test/security/**/*.test.ts'],
          testTimeout: 30_000,
          hookTimeout: 30_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'infra',
          include: ['test/infra/**/*.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      {
        extends: true,
        test: {
          // The UI in headless Chromium on the real local server (`npm run test:browser`; not in `npm test`,
          // which must run without a browser installed).
          name: 'browser',
          include: ['test/browser/**/*.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'fidelity',
          include: ['test/integration/**/*.test.ts', 'test/contract/**/*.test.ts'],
          // These exercise the HTTP front, the CLI process and dynalite itself, not data access.
          exclude: [
            'test/integration/front.test.ts',
            'test/integration/server-lifecycle.test.ts',
            'test/integration/dynalite-iterators.test.ts',
          ],
          globalSetup: ['test/helpers/dynamodb-local-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
          // One JVM serves every file (a table per file); keep its load modest on a 2-core machine.
          maxWorkers: 2,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
