/**
 * The caller's standing on the experiment or registered model a page shows: asked once per page from
 * `permissions/mine`, shown as a badge, and used to hide the actions the level does not allow.
 */

import { permissionsApi } from './api-permissions.js';
import { useLoad } from './hooks.js';
import {
  asksLevel,
  isLevel,
  type Level,
  levelMeaning,
  type ResourceKind,
  type Standing,
  type StandingSource,
  standingOf,
} from './permissions.js';
import { useSession } from './session.js';
import '../components/permissions.css';

export interface LoadedStanding extends Standing {
  source: StandingSource;
  /** Asks again: after the caller changed its own grant here. */
  reload: () => void;
}

/** Asked once per page; lib/permissions.ts's standingOf decides from the answer (or its absence). */
export function useStanding(kind: ResourceKind, resource: string | undefined): LoadedStanding {
  const session = useSession();
  const asks = asksLevel(session) && resource !== undefined;
  const loaded = useLoad(
    async (signal): Promise<Level | undefined> => {
      if (!asks || resource === undefined) return undefined;
      const answer = await permissionsApi.mine(kind, resource, signal);
      const level = answer.permission?.permission;
      return isLevel(level) ? level : undefined;
    },
    [asks, kind, resource],
  );
  return { ...standingOf(session, { level: loaded.data, loading: loaded.loading }), reload: loaded.reload };
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
