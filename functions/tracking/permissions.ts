/**
 * Adapters for MLflow's experiment permission endpoints (`/api/2.0/mlflow/experiments/permissions/*`, the
 * shapes of MLflow's basic-auth app) and Cairn's permission reads for the web UI
 * (`/api/2.0/cairn/permissions/{mine,list}`). The rules are shared/domain/permissions/service.ts.
 */
import * as v from 'valibot';
import { parseMessage, requiredString } from '../../shared/api/schema.js';
import type { GrantSource } from '../../shared/auth/permission-cache.js';
import type { Grant } from '../../shared/auth/permissions.js';
import { actorOf } from '../../shared/domain/permissions/actor.js';
import {
  type PermissionService,
  parseResourceKind,
  SCOPE_DEFAULTS,
} from '../../shared/domain/permissions/service.js';
import { jsonResponse, type Operations } from '../middleware/http-handler.js';

/** MLflow's clients send the id as a string; a JSON number is taken as its decimal form. */
const experimentId = v.union([
  v.pipe(v.number(), v.integer(), v.minValue(0), v.transform(String)),
  requiredString,
]);
const ExperimentGrant = v.object({ experiment_id: experimentId, username: requiredString });
const ExperimentGrantWithLevel = v.object({ ...ExperimentGrant.entries, permission: requiredString });
const ResourceQuery = v.object({ kind: requiredString, resource: requiredString });

/**
 * MLflow's ExperimentPermission JSON. `user_id` is MLflow's numeric user id there; a Cairn user is a
 * token, identified by its name, so it carries the name.
 */
export function experimentPermissionJson(grant: Grant) {
  return { experiment_id: grant.resource, user_id: grant.principal, permission: grant.permission };
}

const refOf = (message: { experiment_id: string; username: string }) => ({
  kind: 'experiment' as const,
  resource: message.experiment_id,
  principal: message.username,
});

export function experimentPermissionOperations(
  permissions: PermissionService,
  grants: GrantSource,
): Operations {
  return {
    async createExperimentPermission(request) {
      const message = parseMessage(ExperimentGrantWithLevel, request.fields);
      const actor = await actorOf(request, grants);
      const grant = await permissions.create(actor, refOf(message), message.permission);
      return jsonResponse({ experiment_permission: experimentPermissionJson(grant) });
    },
    async getExperimentPermission(request) {
      const message = parseMessage(ExperimentGrant, request.fields);
      const grant = await permissions.get(await actorOf(request, grants), refOf(message));
      return jsonResponse({ experiment_permission: experimentPermissionJson(grant) });
    },
    async updateExperimentPermission(request) {
      const message = parseMessage(ExperimentGrantWithLevel, request.fields);
      await permissions.update(await actorOf(request, grants), refOf(message), message.permission);
      return jsonResponse({});
    },
    async deleteExperimentPermission(request) {
      const message = parseMessage(ExperimentGrant, request.fields);
      await permissions.delete(await actorOf(request, grants), refOf(message));
      return jsonResponse({});
    },

    /** The caller's own level on one resource (any token): what the web UI offers. */
    async getMyPermission(request) {
      const message = parseMessage(ResourceQuery, request.fields);
      const kind = parseResourceKind('kind', message.kind);
      const actor = await actorOf(request, grants);
      return jsonResponse({
        permission: {
          kind,
          resource: message.resource,
          permission: await permissions.levelOf(actor, kind, message.resource),
        },
      });
    },

    /** Every grant on one resource (MANAGE there), and the defaults every other token holds. */
    async listResourcePermissions(request) {
      const message = parseMessage(ResourceQuery, request.fields);
      const kind = parseResourceKind('kind', message.kind);
      const actor = await actorOf(request, grants);
      const found = await permissions.grantsOn(actor, kind, message.resource);
      return jsonResponse({
        kind,
        resource: message.resource,
        permissions: found.map((grant) => ({
          principal: grant.principal,
          username: grant.principal,
          permission: grant.permission,
        })),
        defaults: SCOPE_DEFAULTS,
        note: 'Every token without a grant here holds its scope default: read → READ, write → EDIT, admin → MANAGE; admin tokens hold MANAGE whatever a grant says.',
      });
    },
  };
}
