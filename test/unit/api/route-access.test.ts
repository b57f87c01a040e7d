/**
 * Issue 16: the route table says, per route, which experiment or registered model a route touches and the
 * level it needs there (`access`), or that it is a search filtered by what the caller may read
 * (`filters`). A route added without either fails here rather than shipping unchecked: the exemptions are
 * listed by operation, each with its reason.
 */
import { describe, expect, it } from 'vitest';
import { ROUTES, routeByKey } from '../../../shared/api/routes.js';
import { isPermissionLevel, RESOURCE_KINDS } from '../../../shared/auth/permissions.js';

/** Non-public routes that touch no single experiment or registered model, and why. */
const EXEMPT: Record<string, string> = {
  // The resource does not exist yet: the scope ('write') decides, and the creator then holds MANAGE.
  createExperiment: 'creates a new experiment',
  createRegisteredModel: 'creates a new registered model',
  // About the server or the caller, not about any resource.
  version: "the server's MLflow version",
  whoami: "the caller's own token",
  // The resource's kind is a query field, so no route-level access can name it: the caller's own level
  // (any token may ask), and the grants on it, for which the permission service itself asks MANAGE.
  getMyPermission: "the caller's own level on a resource",
  listResourcePermissions: 'MANAGE checked by the permission service (the kind is in the query)',
  // Registry webhooks hear every registry event and make the server call a URL of the caller's choosing:
  // admin scope only, as MLflow's auth has them; no grant on one model may open them.
  createWebhook: 'admin scope: a webhook hears every registered model',
  listWebhooks: 'admin scope: a webhook hears every registered model',
  getWebhook: 'admin scope: a webhook hears every registered model',
  updateWebhook: 'admin scope: a webhook hears every registered model',
  deleteWebhook: 'admin scope: a webhook hears every registered model',
  testWebhook: 'admin scope: a webhook hears every registered model',
};

describe('route table access declarations', () => {
  it('declares access or filtering on every non-public route that is not exempt', () => {
    const undeclared = ROUTES.filter(
      (route) =>
        route.permission !== 'public' &&
        route.access === undefined &&
        route.filters === undefined &&
        !Object.hasOwn(EXEMPT, route.operation),
    ).map((route) => route.routeKey);
    expect(undeclared).toEqual([]);
  });

  it('keeps the exemption list to routes that exist and declare nothing', () => {
    for (const operation of Object.keys(EXEMPT)) {
      const routes = ROUTES.filter((route) => route.operation === operation);
      expect(routes.length, operation).toBeGreaterThan(0);
      for (const route of routes) {
        expect(route.access, route.routeKey).toBeUndefined();
        expect(route.filters, route.routeKey).toBeUndefined();
      }
    }
  });

  it('declares nothing on public routes (nobody to check)', () => {
    const declared = ROUTES.filter(
      (route) => route.permission === 'public' && (route.access || route.filters),
    );
    expect(declared.map((route) => route.routeKey)).toEqual([]);
  });

  it('names only known kinds and levels, and never both access and filtering', () => {
    for (const route of ROUTES) {
      if (route.access) {
        expect(RESOURCE_KINDS, route.routeKey).toContain(route.access.kind);
        expect(isPermissionLevel(route.access.needs), route.routeKey).toBe(true);
        // NO_PERMISSIONS would let a hidden resource through: no route may need "nothing".
        expect(route.access.needs, route.routeKey).not.toBe('NO_PERMISSIONS');
        // A registered model is named by its name only (MLflow keys model permissions by name).
        if (route.access.kind === 'registered_model') expect(route.access.from).toBe('name');
      }
      if (route.filters) {
        expect(RESOURCE_KINDS, route.routeKey).toContain(route.filters);
        expect(route.access, route.routeKey).toBeUndefined();
      }
    }
  });

  it('reads with READ, writes with at least EDIT (a read-scope route never needs more than READ)', () => {
    for (const route of ROUTES) {
      if (!route.access) continue;
      if (route.permission === 'read') expect(route.access.needs, route.routeKey).toBe('READ');
      else expect(['EDIT', 'MANAGE'], route.routeKey).toContain(route.access.needs);
    }
  });

  it('needs MANAGE to delete or restore an experiment or delete a registered model, as MLflow', () => {
    const needs = (key: string) => routeByKey(key)?.access?.needs;
    expect(needs('POST /api/2.0/mlflow/experiments/delete')).toBe('MANAGE');
    expect(needs('POST /api/2.0/mlflow/experiments/restore')).toBe('MANAGE');
    expect(needs('DELETE /api/2.0/mlflow/registered-models/delete')).toBe('MANAGE');
    expect(needs('POST /api/2.0/mlflow/runs/log-metric')).toBe('EDIT');
    expect(needs('GET /api/2.0/mlflow/runs/get')).toBe('READ');
    expect(routeByKey('POST /api/2.0/mlflow/runs/search')?.filters).toBe('experiment');
    expect(routeByKey('GET /api/2.0/mlflow/registered-models/search')?.filters).toBe('registered_model');
  });

  it('checks artifacts by the run, logged model or path that names them', () => {
    const from = (key: string) => routeByKey(key)?.access;
    expect(from('PUT /api/2.0/mlflow-artifacts/artifacts/{path+}')).toEqual({
      kind: 'experiment',
      from: 'artifact_path',
      needs: 'EDIT',
    });
    expect(from('GET /get-artifact')).toEqual({ kind: 'experiment', from: 'run_id', needs: 'READ' });
    expect(from('GET /model-versions/get-artifact')).toEqual({
      kind: 'registered_model',
      from: 'name',
      needs: 'READ',
    });
  });
});
