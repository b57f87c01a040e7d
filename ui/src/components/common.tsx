/** Building blocks every page uses: links, loading and error states, page headers, tabs. */
import type { ComponentChildren } from 'preact';
import { ApiError } from '../lib/api.js';
import { formatHash, type Route } from '../lib/route.js';

export function Link(props: { to: Route; children: ComponentChildren; class?: string; title?: string }) {
  return (
    <a href={formatHash(props.to)} class={props.class} title={props.title}>
      {props.children}
    </a>
  );
}

export function navigate(route: Route): void {
  window.location.hash = formatHash(route);
}

export function Loading(props: { label?: string }) {
  return (
    <p class="muted" role="status" aria-live="polite">
      {props.label ?? 'Loading…'}
    </p>
  );
}

/** An error answer as a person can read it: MLflow's error code and message; 403 says what is missing. */
/**
 * A form's two kinds of trouble under it: `problem`, what the page itself found wrong with the input, and
 * `refused`, the server's refusal of the request (its message as the server worded it).
 */
export function FormAlerts(props: { problem?: string | undefined; refused?: Error | undefined }) {
  return (
    <>
      {props.problem && (
        <p class="error-text" role="alert">
          {props.problem}
        </p>
      )}
      {props.refused && (
        <p class="error-text refusal" role="alert">
          {props.refused.message}
        </p>
      )}
    </>
  );
}

export function ErrorBox(props: { error: Error; onRetry?: () => void }) {
  const { error } = props;
  const code = error instanceof ApiError ? error.errorCode : undefined;
  const status = error instanceof ApiError ? error.status : undefined;
  return (
    <div class="error-box" role="alert">
      <strong>
        {status === 403 ? 'Not allowed' : status === 404 ? 'Not found' : 'Something went wrong'}
        {code ? ` (${code})` : ''}
      </strong>
      <p>{error.message}</p>
      {props.onRetry && (
        <button type="button" onClick={props.onRetry}>
          Retry
        </button>
      )}
    </div>
  );
}

export function PageHeader(props: {
  title: ComponentChildren;
  crumbs?: ComponentChildren;
  actions?: ComponentChildren;
}) {
  return (
    <header class="page-header">
      {props.crumbs && (
        <nav aria-label="Breadcrumb" class="crumbs">
          {props.crumbs}
        </nav>
      )}
      <div class="page-title">
        <h1>{props.title}</h1>
        {props.actions && <div class="actions">{props.actions}</div>}
      </div>
    </header>
  );
}

export function Tabs<T extends string>(props: {
  tabs: readonly { id: T; label: string; to: Route }[];
  active: T;
}) {
  return (
    <nav class="tabs" aria-label="Sections">
      {props.tabs.map((tab) => (
        <a
          key={tab.id}
          href={formatHash(tab.to)}
          class={tab.id === props.active ? 'tab active' : 'tab'}
          aria-current={tab.id === props.active ? 'page' : undefined}
        >
          {tab.label}
        </a>
      ))}
    </nav>
  );
}

/** Key/value pairs (params, tags) as a two-column table. */
export function KeyValueTable(props: {
  rows: readonly { key: string; value: ComponentChildren }[];
  caption: string;
}) {
  if (props.rows.length === 0) return <p class="muted">No {props.caption.toLowerCase()}.</p>;
  return (
    <table class="kv">
      <caption class="visually-hidden">{props.caption}</caption>
      <tbody>
        {props.rows.map((row) => (
          <tr key={row.key}>
            <th scope="row">{row.key}</th>
            <td>{row.value}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
