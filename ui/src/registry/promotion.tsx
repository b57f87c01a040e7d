/**
 * Cairn's promotion policies (one condition per alias or stage, admin tokens edit them) and their audit
 * trail (every promotion decided, newest first), as sections of the model and version pages.
 */
import { useCallback, useEffect, useState } from 'preact/hooks';
import { ErrorBox, Link, Loading } from '../components/common.js';
import { formatTime } from '../lib/format.js';
import { useLoad } from '../lib/hooks.js';
import { useSession } from '../lib/session.js';
import { registryApi } from './api-registry.js';
import {
  appendEntries,
  auditRow,
  type PolicyJson,
  type PromotionJson,
  STAGES,
  sortPolicies,
  type TargetKind,
  targetLabel,
  targetOf,
  validatePolicyForm,
} from './logic.js';
import { RunLink, useAction } from './parts.js';

function PolicyFormView(props: {
  model: string;
  initial?: PolicyJson;
  onDone: () => void;
  onCancel: () => void;
}) {
  const initialTarget = props.initial ? targetOf(props.initial) : undefined;
  const [kind, setKind] = useState<TargetKind>(initialTarget?.kind ?? 'alias');
  const [target, setTarget] = useState(initialTarget?.name ?? '');
  const [condition, setCondition] = useState(props.initial?.condition ?? '');
  const [errors, setErrors] = useState<{ target?: string; condition?: string }>({});
  const action = useAction();
  const editing = initialTarget !== undefined;
  const idPrefix = `policy-${editing ? 'edit' : 'new'}`;
  return (
    <form
      class="policy-form"
      aria-label={editing ? `Edit the policy of ${targetLabel(initialTarget)}` : 'New promotion policy'}
      onSubmit={async (event) => {
        event.preventDefault();
        const checked = validatePolicyForm({ kind, target, condition });
        if (!checked.ok) {
          setErrors(checked.errors);
          return;
        }
        setErrors({});
        if (await action.run(() => registryApi.setPolicy(props.model, checked.target, checked.condition))) {
          props.onDone();
        }
      }}
    >
      <div class="row">
        <label>
          Guards{' '}
          <select
            value={kind}
            disabled={editing}
            onChange={(event) => {
              const next = event.currentTarget.value as TargetKind;
              setKind(next);
              setTarget(next === 'stage' ? 'Production' : '');
            }}
          >
            <option value="alias">an alias</option>
            <option value="stage">a stage</option>
          </select>
        </label>
        {kind === 'stage' ? (
          <label>
            Guarded stage{' '}
            <select
              value={target}
              disabled={editing}
              onChange={(event) => setTarget(event.currentTarget.value)}
            >
              {STAGES.map((stage) => (
                <option key={stage} value={stage}>
                  {stage}
                </option>
              ))}
            </select>
          </label>
        ) : (
          <label>
            Guarded alias{' '}
            <input
              value={target}
              disabled={editing}
              placeholder="champion"
              aria-invalid={errors.target ? true : undefined}
              aria-describedby={errors.target ? `${idPrefix}-target-error` : undefined}
              onInput={(event) => setTarget(event.currentTarget.value)}
            />
          </label>
        )}
      </div>
      {errors.target && (
        <p class="error-text" id={`${idPrefix}-target-error`} role="alert">
          {errors.target}
        </p>
      )}
      <label class="stacked">
        Condition (runs search grammar, met by the version's source run)
        <textarea
          rows={2}
          class="mono"
          value={condition}
          placeholder="metrics.accuracy >= 0.9 AND tags.data_version = 'v3'"
          aria-invalid={errors.condition ? true : undefined}
          onInput={(event) => setCondition(event.currentTarget.value)}
        />
      </label>
      {errors.condition && (
        <p class="error-text" role="alert">
          {errors.condition}
        </p>
      )}
      {action.error && (
        <p class="error-text server-message" role="alert">
          {action.error.message}
        </p>
      )}
      <div class="row">
        <button type="submit" class="primary" disabled={action.busy}>
          Save policy
        </button>
        <button type="button" onClick={props.onCancel} disabled={action.busy}>
          Cancel
        </button>
      </div>
    </form>
  );
}

/**
 * The model's promotion policies; `canEdit` callers (lib/permissions.ts: admin tokens today) add, edit and
 * delete them. Without `canEdit` the scope decides, as before issue 16.
 */
export function PoliciesSection(props: { model: string; canEdit?: boolean }) {
  const session = useSession();
  const canEdit = props.canEdit ?? session.isAdmin;
  const loaded = useLoad(() => registryApi.getPolicies(props.model), [props.model]);
  const [editing, setEditing] = useState<PolicyJson | 'new' | undefined>(undefined);
  const action = useAction();
  const policies = sortPolicies(loaded.data?.policies ?? []);
  const changed = () => {
    setEditing(undefined);
    loaded.reload();
  };
  return (
    <section class="panel" aria-labelledby="policies-title">
      <div class="section-title">
        <h2 id="policies-title">Promotion policies</h2>
        {canEdit && editing === undefined && (
          <button type="button" onClick={() => setEditing('new')}>
            Add policy
          </button>
        )}
      </div>
      <p class="muted small">
        A version gets a guarded alias or stage only when its source run meets the condition; every decision
        is recorded in the audit trail below.
      </p>
      {loaded.error && <ErrorBox error={loaded.error} onRetry={loaded.reload} />}
      {loaded.data?.legacy_policies_pending && (
        <p class="error-text" role="alert">
          This model has policies stored by an earlier Cairn version under its name: its promotions are
          refused until an operator runs <code>cairn policy migrate</code>.
        </p>
      )}
      {loaded.loading && !loaded.data ? (
        <Loading />
      ) : policies.length === 0 ? (
        <p class="muted">No policies: anyone who may edit this model (EDIT) may set any alias or stage.</p>
      ) : (
        <table class="grid">
          <thead>
            <tr>
              <th scope="col">Target</th>
              <th scope="col">Condition</th>
              <th scope="col">Last updated</th>
              {canEdit && (
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              )}
            </tr>
          </thead>
          <tbody>
            {policies.map((policy) => {
              const target = targetOf(policy);
              const label = targetLabel(target);
              return (
                <tr key={`${target.kind}:${target.name}`}>
                  <td>
                    <span class="muted small">{target.kind}</span> <strong>{label}</strong>
                  </td>
                  <td>
                    <code class="condition">{policy.condition}</code>
                  </td>
                  <td>{formatTime(policy.last_updated_timestamp)}</td>
                  {canEdit && (
                    <td class="nowrap">
                      <button type="button" class="link-button" onClick={() => setEditing(policy)}>
                        Edit<span class="visually-hidden"> policy of {label}</span>
                      </button>
                      <button
                        type="button"
                        class="link-button danger"
                        disabled={action.busy}
                        onClick={async () => {
                          if (!window.confirm(`Delete the promotion policy of ${label}?`)) return;
                          if (await action.run(() => registryApi.deletePolicy(props.model, target)))
                            changed();
                        }}
                      >
                        Delete<span class="visually-hidden"> policy of {label}</span>
                      </button>
                    </td>
                  )}
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {action.error && <ErrorBox error={action.error} />}
      {canEdit && editing !== undefined && (
        <PolicyFormView
          key={editing === 'new' ? 'new' : `${targetOf(editing).kind}:${targetOf(editing).name}`}
          model={props.model}
          initial={editing === 'new' ? undefined : editing}
          onDone={changed}
          onCancel={() => setEditing(undefined)}
        />
      )}
    </section>
  );
}

const AUDIT_PAGE = 50;
/** A version's entries are picked out of the model's trail: at most this many pages per "load more". */
const VERSION_SCAN_PAGES = 10;

/**
 * The audit trail, newest first, with "load more". For one version the model's trail is read page by page
 * and filtered (the endpoint lists by model), stopping once a page's worth is found.
 */
export function AuditSection(props: { model: string; version?: string; refreshKey?: number }) {
  const [entries, setEntries] = useState<PromotionJson[]>([]);
  const [token, setToken] = useState<string | undefined>(undefined);
  const [done, setDone] = useState(false);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<Error | undefined>(undefined);

  const load = useCallback(
    async (from: string | undefined, shown: PromotionJson[]) => {
      setLoading(true);
      setError(undefined);
      try {
        let next = from;
        let collected = shown;
        let found = 0;
        for (let pages = 0; pages < VERSION_SCAN_PAGES; pages++) {
          const page = await registryApi.listPromotions(props.model, AUDIT_PAGE, next);
          const matching = (page.promotions ?? []).filter(
            (entry) => props.version === undefined || String(entry.version) === props.version,
          );
          collected = appendEntries(collected, matching);
          found += matching.length;
          next = page.next_page_token;
          if (!next || props.version === undefined || found >= AUDIT_PAGE) break;
        }
        setEntries(collected);
        setToken(next);
        setDone(!next);
      } catch (caught) {
        setError(caught instanceof Error ? caught : new Error(String(caught)));
      } finally {
        setLoading(false);
      }
    },
    [props.model, props.version],
  );

  useEffect(() => {
    setEntries([]);
    setToken(undefined);
    setDone(false);
    void load(undefined, []);
  }, [load, props.refreshKey]);

  const rows = entries.map(auditRow);
  return (
    <section class="panel" aria-labelledby="audit-title">
      <h2 id="audit-title">Audit trail</h2>
      {rows.length === 0 && !loading && !error && (
        <p class="muted">
          No promotions recorded{props.version === undefined ? '' : ' for this version'} yet.
        </p>
      )}
      {rows.length > 0 && (
        <table class="grid audit">
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Who</th>
              {props.version === undefined && <th scope="col">Version</th>}
              <th scope="col">Target</th>
              <th scope="col">Outcome</th>
              <th scope="col">Reason</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((row) => (
              <tr key={row.id}>
                <td class="nowrap">{formatTime(row.timestamp)}</td>
                <td>{row.who || <span class="muted">unknown</span>}</td>
                {props.version === undefined && (
                  <td>
                    <Link to={{ page: 'version', name: props.model, version: row.version }}>
                      Version {row.version}
                    </Link>
                  </td>
                )}
                <td>{row.target}</td>
                <td>
                  <span class={row.allowed ? 'outcome allowed' : 'outcome refused'}>
                    {row.allowed ? 'Allowed' : 'Refused'}
                  </span>
                </td>
                <td class="wrap">
                  {row.reason}
                  {row.runId && (
                    <>
                      {' '}
                      <span class="muted small">
                        (run <RunLink runId={row.runId} />)
                      </span>
                    </>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {error && <ErrorBox error={error} onRetry={() => void load(token, entries)} />}
      {loading && <Loading />}
      {!done && !loading && !error && (
        <button type="button" onClick={() => void load(token, entries)}>
          Load more
        </button>
      )}
    </section>
  );
}
