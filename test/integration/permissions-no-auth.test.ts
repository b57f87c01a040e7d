/**
 * The permission reads on the local server without --auth: nobody is authenticated, every caller may do
 * everything (as every other route there), and the reads say so rather than refuse.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Api } from '../helpers/http.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
let api: Api;

beforeAll(async () => {
  server = await startTestServer();
  api = new Api(server.url);
});

afterAll(async () => {
  await server?.close();
});

describe('permission reads without --auth', () => {
  it("answers MANAGE as the caller's level, and lists a resource's grants", async () => {
    const created = await api.post('experiments/create', { name: 'open-experiment' });
    expect(created.status, created.text).toBe(200);
    const id = created.body.experiment_id as string;
    const mine = await api.request('GET', `/api/2.0/cairn/permissions/mine?kind=experiment&resource=${id}`);
    expect(mine.status, mine.text).toBe(200);
    expect(mine.body).toEqual({ permission: { kind: 'experiment', resource: id, permission: 'MANAGE' } });
    const list = await api.request('GET', `/api/2.0/cairn/permissions/list?kind=experiment&resource=${id}`);
    expect(list.status, list.text).toBe(200);
    // Nobody created it as a principal: no creator grant.
    expect(list.body.permissions).toEqual([]);
  });

  it('still refuses a grant to a principal that is no token', async () => {
    const answer = await api.post('experiments/permissions/create', {
      experiment_id: '0',
      username: 'nobody',
      permission: 'READ',
    });
    expect(answer.status, answer.text).toBe(404);
    expect(answer.body.error_code).toBe('RESOURCE_DOES_NOT_EXIST');
  });
});
