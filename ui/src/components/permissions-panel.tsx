/**
 * The "Permissions" section of an experiment or registered model, for MANAGE holders (issue 16): the
 * grants on it, a form to grant a token's user a level, a level picker per grant to change it, and Revoke.
 * Grants go through MLflow's permission endpoints; a refusal (unknown user, bad level, no longer allowed)
 * is shown beside the control that caused it and the list is read again after every change.
 */
import { useId, useState } from 'preact/hooks';
import { permissionsApi } from '../lib/api-permissions.js';
import { useLoad } from '../lib/hooks.js';
import { selfLoweringWarning } from '../lib/messages.js';
import { grantProblem, grantRows, LEVELS, type Level, type ResourceKind } from '../lib/permissions.js';
import { useSession } from '../lib/session.js';
import { useAction } from '../registry/parts.js';
import { ErrorBox, FormAlerts, Loading } from './common.js';
import './permissions.css';

const KIND_NOUN: Record<ResourceKind, string> = { experiment: 'experiment', registered_model: 'model' };

function LevelSelect(props: {
  value: Level;
  /** An accessible name, unless a <label for={id}> gives it one. */
  label?: string;
  id?: string;
  disabled?: boolean;
  onChange: (level: Level) => void;
}) {
  return (
    <select
      id={props.id}
      aria-label={props.label}
      value={props.value}
      disabled={props.disabled}
      onChange={(event) => props.onChange(event.currentTarget.value as Level)}
    >
      {LEVELS.map((level) => (
        <option key={level} value={level}>
          {level}
        </option>
      ))}
    </select>
  );
}

/**
 * `onChanged` hears which user's grant changed: the page asks its own level again when it was the
 * caller's (a MANAGE holder who lowers itself loses this section and the actions with it).
 */
export function PermissionsPanel(props: {
  kind: ResourceKind;
  resource: string;
  onChanged?: (user: string) => void;
}) {
  const { kind, resource } = props;
  const noun = KIND_NOUN[kind];
  const session = useSession();
  const loaded = useLoad((signal) => permissionsApi.list(kind, resource, signal), [kind, resource]);
  const rows = grantRows(loaded.data?.permissions);
  const [user, setUser] = useState('');
  const [level, setLevel] = useState<Level>('READ');
  const [problem, setProblem] = useState<string | undefined>(undefined);
  const levelId = useId();
  const adding = useAction();
  const changing = useAction();
  // Bumped after every change: a refused change redraws the row's picker with the level the server kept
  // (a controlled <select> whose value prop did not change would otherwise keep showing the refused one).
  const [attempts, setAttempts] = useState(0);

  return (
    <section class="panel permissions-panel" aria-labelledby="permissions-title">
      <h2 id="permissions-title">Permissions</h2>
      <p class="muted small">
        Tokens without a grant here hold their scope's level (read → READ, write → EDIT, admin → MANAGE).
        NO_PERMISSIONS hides this {noun} from a token.
      </p>
      {loaded.error && <ErrorBox error={loaded.error} onRetry={loaded.reload} />}
      {loaded.loading && !loaded.data && <Loading label="Loading permissions…" />}
      {loaded.data && rows.length === 0 && <p class="muted">No grants on this {noun}.</p>}
      {rows.length > 0 && (
        <table class="grid compact" aria-label="Grants">
          <thead>
            <tr>
              <th scope="col">User</th>
              <th scope="col">Permission</th>
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {rows.map((row) => (
              <tr key={row.user}>
                <td class="mono">{row.user}</td>
                <td>
                  <LevelSelect
                    key={`${row.level}:${attempts}`}
                    value={row.level}
                    label={`Permission of ${row.user}`}
                    disabled={changing.busy}
                    onChange={async (next) => {
                      if (next === row.level) return;
                      const warning = selfLoweringWarning(session, row.user, next, noun);
                      if (warning && !window.confirm(warning)) {
                        setAttempts((count) => count + 1);
                        return;
                      }
                      await changing.run(() => permissionsApi.change(kind, resource, row.user, next));
                      setAttempts((count) => count + 1);
                      loaded.reload();
                      props.onChanged?.(row.user);
                    }}
                  />
                </td>
                <td>
                  <button
                    type="button"
                    class="link-button danger"
                    disabled={changing.busy}
                    onClick={async () => {
                      const question =
                        selfLoweringWarning(session, row.user, undefined, noun) ??
                        `Revoke ${row.user}'s ${row.level} on this ${noun}?`;
                      if (!window.confirm(question)) return;
                      await changing.run(() => permissionsApi.revoke(kind, resource, row.user));
                      loaded.reload();
                      props.onChanged?.(row.user);
                    }}
                  >
                    Revoke<span class="visually-hidden"> {row.user}</span>
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <FormAlerts refused={changing.error} />
      <form
        class="row inline-form"
        aria-label="Grant a permission"
        onSubmit={async (event) => {
          event.preventDefault();
          const name = user.trim();
          const found = grantProblem(name, level);
          setProblem(found);
          if (found) return;
          // A user who already holds a grant here gets it changed: MLflow's create refuses a second one.
          const existing = rows.some((row) => row.user === name);
          const warning = existing ? selfLoweringWarning(session, name, level, noun) : undefined;
          if (warning && !window.confirm(warning)) return;
          const ok = await adding.run(() =>
            existing
              ? permissionsApi.change(kind, resource, name, level)
              : permissionsApi.grant(kind, resource, name, level),
          );
          if (ok) setUser('');
          loaded.reload();
          props.onChanged?.(name);
        }}
      >
        <label>
          User{' '}
          <input
            value={user}
            autoComplete="off"
            spellcheck={false}
            onInput={(event) => setUser(event.currentTarget.value)}
          />
        </label>
        <label for={levelId}>Permission</label>
        <LevelSelect id={levelId} value={level} onChange={setLevel} />
        <button type="submit" disabled={adding.busy}>
          Grant
        </button>
      </form>
      <FormAlerts problem={problem} refused={adding.error} />
    </section>
  );
}
