/**
 * `cairn doctor --url` as a user runs it, against the local server without auth (as `npm start` runs it):
 * every check passes but the token check, which is skipped, and the table lists every step in order.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CairnCli } from '../helpers/cli.js';
import { DOCTOR_STEPS, doctorSteps } from '../helpers/doctor.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const cli = new CairnCli();
let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  cli.killAll();
  await server?.close();
});

it('passes every check on a server without auth, skipping only the token check', async () => {
  // A trailing slash, as a URL copied from a browser has.
  const result = await cli.run(['doctor', '--url', `${server.url}/`]);
  expect(result.code, result.stdout + result.stderr).toBe(0);
  const table = doctorSteps(result.stdout);
  expect([...table.keys()]).toEqual(DOCTOR_STEPS);
  for (const [name, step] of table) {
    expect(step.mark, step.line).toBe(name === 'refuses requests without a token' ? '-' : '✓');
  }
  expect(table.get('download through the 307')?.line).toContain('2 files, bytes equal');
  expect(table.get('multipart upload')?.line).toContain('in 2 parts');
  expect(result.stdout).toContain('All checks passed.');
}, 120_000);
