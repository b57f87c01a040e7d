/**
 * Adapters for MLflow's registered-model permission endpoints
 * (`/api/2.0/mlflow/registered-models/permissions/*`, the shapes of MLflow's basic-auth app). The rules
 * are shared/domain/permissions/service.ts.
 */
import * as v from 'valibot';
import { parseMessage, requiredString } from '../../shared/api/schema.js';
import type { GrantSource } from '../../shared/auth/permission-cache.js';
import type { Grant } from '../../shared/auth/permissions.js';
import { actorOf } from '../../shared/domain/permissions/actor.js';
import type { PermissionService } from '../../shared/domain/permissions/service.js';
import { jsonResponse, type Operations } from '../middleware/http-handler.js';

const ModelGrant = v.object({ name: requiredString, username: requiredString });
const ModelGrantWithLevel = v.object({ ...ModelGrant.entries, permission: requiredString });

/** MLflow's RegisteredModelPermission JSON; `user_id` carries the token's name (a Cairn user is a token). */
export function registeredModelPermissionJson(grant: Grant) {
  return { name: grant.resource, user_id: grant.principal, permission: grant.permission };
}

const refOf = (message: { name: string; username: string }) => ({
  kind: 'registered_model' as const,
  resource: message.name,
  principal: message.username,
});

export function registeredModelPermissionOperations(
  permissions: PermissionService,
  grants: GrantSource,
): Operations {
  return {
    async createRegisteredModelPermission(request) {
      const message = parseMessage(ModelGrantWithLevel, request.fields);
      const actor = await actorOf(request, grants);
      const grant = await permissions.create(actor, refOf(message), message.permission);
      return jsonResponse({ registered_model_permission: registeredModelPermissionJson(grant) });
    },
    async getRegisteredModelPermission(request) {
      const message = parseMessage(ModelGrant, request.fields);
      const grant = await permissions.get(await actorOf(request, grants), refOf(message));
      return jsonResponse({ registered_model_permission: registeredModelPermissionJson(grant) });
    },
    async updateRegisteredModelPermission(request) {
      const message = parseMessage(ModelGrantWithLevel, request.fields);
      await permissions.update(await actorOf(request, grants), refOf(message), message.permission);
      return jsonResponse({});
    },
    async deleteRegisteredModelPermission(request) {
      const message = parseMessage(ModelGrant, request.fields);
      await permissions.delete(await actorOf(request, grants), refOf(message));
      return jsonResponse({});
    },
  };
}
