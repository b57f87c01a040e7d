/**
 * The caller's standing on the experiment or registered model a page shows: asked once per page from
 * `permissions/mine`, shown as a badge, and used to hide the actions the level does not allow.
 */

import { permissionsApi } from './api-permissions.js';
import { useLoad } from './hooks.js';
import {
  defaultLevelOf,
  isLevel,
  type Level,
  levelMeaning,
  type ResourceKind,
  type Standing,
} from './permissions.js';
import { useSession } from './session.js';
import '../components/permissions.css';

export interface LoadedStanding extends Standing {
  /** Where the level came from: the server's answer, or the scope's default when it could not be asked. */
  source: 'server' | 'scope' | 'pending' | 'auth-off';
  /** Asks again: after the caller changed its own grant here. */
  reload: () => void;
}

/**
 * Admins hold MANAGE everywhere and the local server without `--auth` has no permissions, so neither asks.
 * A failed question (an older server without the endpoint) falls back to the scope's default level, which
 * is what the UI offered before issue 16; the server still refuses what the caller may not do.
 */
export function useStanding(kind: ResourceKind, resource: string | undefined): LoadedStanding {
  const session = useSession();
  const authOn = session.auth !== false;
  const asks = authOn && session.scope !== 'admin' && resource !== undefined;
  const loaded = useLoad(
    async (signal): Promise<Level | undefined> => {
      if (!asks || resource === undefined) return undefined;
      const answer = await permissionsApi.mine(kind, resource, signal);
      const level = answer.permission?.permission;
      return isLevel(level) ? level : undefined;
    },
    [asks, kind, resource],
  );
  const { reload } = loaded;
  const { scope } = session;
  if (!authOn) return { auth: false, scope, level: 'MANAGE', source: 'auth-off', reload };
  if (scope === 'admin') return { auth: true, scope, level: 'MANAGE', source: 'server', reload };
  if (loaded.data !== undefined) return { auth: true, scope, level: loaded.data, source: 'server', reload };
  if (loaded.loading) return { auth: true, scope, level: undefined, source: 'pending', reload };
  return { auth: true, scope, level: defaultLevelOf(scope), source: 'scope', reload };
}

const KIND_NOUN: Record<ResourceKind, string> = { experiment: 'experiment', registered_model: 'model' };

/** The caller's level on the page's resource; nothing without `--auth` (no permissions there). */
export function LevelBadge(props: { standing: LoadedStanding; kind: ResourceKind }) {
  const { standing } = props;
  if (!standing.auth || standing.level === undefined) return null;
  const noun = KIND_NOUN[props.kind];
  const guessed = standing.source === 'scope' ? ' (from the token’s scope; the server did not say)' : '';
  return (
    <span
      class={`level-badge level-${standing.level}`}
      title={`${levelMeaning(standing.level)} on this ${noun}${guessed}`}
    >
      <span class="visually-hidden">Your permission on this {noun}: </span>
      {standing.level}
    </span>
  );
}
