/**
 * Words the pages show where permissions shape what a caller sees or may do: pure, unit-tested in
 * test/unit/ui/messages.test.ts.
 */
import { defaultLevelOf, type Level, levelAllows, type Scope } from './permissions.js';

interface Who {
  name: string;
  scope: Scope;
  /** False on the local server without `--auth`. */
  auth?: boolean;
}

/**
 * The registered models page with nothing to list. Under `--auth` an empty list may be models hidden
 * from this token (NO_PERMISSIONS), so "none yet" would be untrue; admins see every model.
 */
export function emptyModelsMessage(query: string, who: Who): string {
  if (query.trim() !== '') return `No model name contains “${query.trim()}”.`;
  return who.auth !== false && who.scope !== 'admin'
    ? 'No registered models you can see.'
    : 'No registered models yet.';
}

/** What a dialog shows for a failed action: a short sentence, and the server's words as detail. */
export interface ActionFailure {
  text: string;
  detail?: string;
}

export function actionFailure(error: unknown, action: string): ActionFailure {
  const message = error instanceof Error ? error.message : String(error);
  // By its status, not `instanceof ApiError`: api.ts needs the DOM, and this stays testable without one.
  if (error instanceof Error && (error as { status?: unknown }).status === 403) {
    return {
      text: `You may not ${action}: your token does not hold the permission it needs.`,
      detail: message,
    };
  }
  return { text: message };
}

/**
 * Asked before the caller lowers or revokes its own grant below MANAGE: it then loses the Permissions
 * section and cannot undo it (another MANAGE holder or an admin must). `next` undefined is a revoke, after
 * which the scope's default applies. Nothing to ask for someone else's grant, a change that keeps MANAGE,
 * or an admin (MANAGE whatever a grant says).
 */
export function selfLoweringWarning(
  who: Who,
  user: string,
  next: Level | undefined,
  noun: string,
): string | undefined {
  if (user !== who.name || who.scope === 'admin' || who.auth === false) return undefined;
  const after = next ?? defaultLevelOf(who.scope);
  if (levelAllows(after, 'MANAGE')) return undefined;
  const change = next === undefined ? 'Revoke your own grant' : `Lower your own permission to ${next}`;
  return `${change} on this ${noun}? You will hold ${after} here and can no longer manage its permissions; only another MANAGE holder or an admin can give it back.`;
}
