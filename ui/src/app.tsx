/**
 * The app shell: the header (navigation, who is signed in), the token dialog, and the page the hash route
 * names. Under `--auth` and on AWS the API answers 401 without a token; the shell then asks for one once
 * and keeps it in sessionStorage (lib/api.ts), never in the URL.
 */
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ErrorBox, Loading } from './components/common.js';
import { ApiError, api, getToken, setToken, UNAUTHORIZED_EVENT, type Whoami } from './lib/api.js';
import { useRoute } from './lib/hooks.js';
import type { Route } from './lib/route.js';
import { SessionContext, sessionOf } from './lib/session.js';
import { ComparePage } from './pages/compare.js';
import { ExperimentPage } from './pages/experiment.js';
import { ExperimentsPage } from './pages/experiments.js';
import { LoggedModelPage } from './pages/logged-model.js';
import { ModelPage } from './pages/model.js';
import { ModelsPage } from './pages/models.js';
import { RunPage } from './pages/run.js';
import { VersionPage } from './pages/version.js';
import { TracePage } from './traces/trace-page.js';

function Page(props: { route: Route }) {
  const { route } = props;
  switch (route.page) {
    case 'experiments':
      return <ExperimentsPage />;
    case 'experiment':
      return (
        <ExperimentPage
          key={route.experimentId}
          experimentId={route.experimentId}
          tab={route.tab}
          filter={route.filter}
        />
      );
    case 'trace':
      return (
        <TracePage
          key={route.traceId}
          experimentId={route.experimentId}
          traceId={route.traceId}
          spanId={route.spanId}
        />
      );
    case 'run':
      return (
        <RunPage
          key={route.runId}
          experimentId={route.experimentId}
          runId={route.runId}
          tab={route.tab}
          artifactPath={route.artifactPath}
        />
      );
    case 'logged-model':
      return (
        <LoggedModelPage key={route.modelId} experimentId={route.experimentId} modelId={route.modelId} />
      );
    case 'compare':
      return (
        <ComparePage
          experimentIds={route.experimentIds}
          runIds={route.runIds}
          metricKeys={route.metricKeys}
        />
      );
    case 'models':
      return <ModelsPage />;
    case 'model':
      return <ModelPage key={route.name} name={route.name} />;
    case 'version':
      return <VersionPage key={`${route.name}/${route.version}`} name={route.name} version={route.version} />;
    case 'not-found':
      return <ErrorBox error={new ApiError(404, 'NOT_FOUND', `No page at ${route.path}.`)} />;
  }
}

/** Asks for a token; shown when the server answers 401. The value never leaves this tab's storage. */
function TokenDialog(props: { message?: string; onToken: (token: string) => void }) {
  const [value, setValue] = useState('');
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => input.current?.focus(), []);
  return (
    <div class="token-screen">
      <form
        class="token-form"
        aria-labelledby="token-title"
        onSubmit={(event) => {
          event.preventDefault();
          if (value.trim() !== '') props.onToken(value.trim());
        }}
      >
        <h1 id="token-title">Sign in to Cairn</h1>
        <p>
          This server needs an access token: paste the whole token, starting with <code>cairn_</code>. Ask its
          administrator for one, or create one for the server's data directory with{' '}
          <code>npx cairn token create --name you --scope read --data-dir DIR</code> (on AWS,{' '}
          <code>--stack NAME</code> instead of <code>--data-dir</code>).
        </p>
        {props.message && (
          <p class="error-text" role="alert">
            {props.message}
          </p>
        )}
        <label for="token-input">Access token</label>
        <input
          id="token-input"
          ref={input}
          type="password"
          autoComplete="off"
          spellcheck={false}
          value={value}
          onInput={(event) => setValue(event.currentTarget.value)}
        />
        <button type="submit" class="primary">
          Sign in
        </button>
        <p class="muted small">
          The token is kept in this browser tab only (sessionStorage), never in a link or cookie.
        </p>
      </form>
    </div>
  );
}

type Auth =
  | { state: 'checking' }
  | { state: 'signed-in'; whoami: Whoami }
  | { state: 'needs-token'; message?: string }
  | { state: 'failed'; error: Error };

export function App() {
  const route = useRoute();
  const [auth, setAuth] = useState<Auth>({ state: 'checking' });

  const check = useCallback(async () => {
    try {
      setAuth({ state: 'signed-in', whoami: await api.whoami() });
    } catch (error) {
      const hadToken = getToken() !== null;
      // The gateway answers a token it refuses (unknown, malformed, expired) with 403, not 401; whoami
      // needs only read scope, so a 403 here means the token itself was refused: ask for another one
      // rather than leave an error whose Retry would resend the same token.
      if (error instanceof ApiError && (error.status === 401 || (error.status === 403 && hadToken))) {
        setToken(null);
        setAuth({
          state: 'needs-token',
          message: hadToken ? 'That token was not accepted (unknown, revoked or expired).' : undefined,
        });
      } else {
        setAuth({ state: 'failed', error: error instanceof Error ? error : new Error(String(error)) });
      }
    }
  }, []);

  useEffect(() => {
    void check();
    const onUnauthorized = () => {
      setToken(null);
      setAuth({ state: 'needs-token', message: 'The server no longer accepts this token. Sign in again.' });
    };
    window.addEventListener(UNAUTHORIZED_EVENT, onUnauthorized);
    return () => window.removeEventListener(UNAUTHORIZED_EVENT, onUnauthorized);
  }, [check]);

  if (auth.state === 'checking') return <Loading label="Connecting…" />;
  if (auth.state === 'needs-token') {
    return (
      <TokenDialog
        message={auth.message}
        onToken={(token) => {
          setToken(token);
          void check();
        }}
      />
    );
  }
  if (auth.state === 'failed') return <ErrorBox error={auth.error} onRetry={() => void check()} />;

  const session = sessionOf(auth.whoami);
  const section =
    route.page === 'models' || route.page === 'model' || route.page === 'version' ? 'models' : 'experiments';
  return (
    <SessionContext.Provider value={session}>
      <button
        type="button"
        class="skip-link"
        // A button, not a `#main` link: the fragment is the router's, and would open a "No page" route.
        onClick={() => document.getElementById('main')?.focus()}
      >
        Skip to content
      </button>
      <header class="app-header">
        <a class="brand" href="#/experiments">
          Cairn
        </a>
        <nav aria-label="Main">
          <a href="#/experiments" aria-current={section === 'experiments' ? 'page' : undefined}>
            Experiments
          </a>
          <a href="#/models" aria-current={section === 'models' ? 'page' : undefined}>
            Models
          </a>
        </nav>
        <section class="who" aria-label="Signed in as">
          <span class="who-name">{session.name}</span>
          <span class={`scope scope-${session.scope}`}>{session.scope}</span>
          {session.auth !== false && (
            <button
              type="button"
              class="link-button"
              onClick={() => {
                setToken(null);
                setAuth({ state: 'needs-token' });
              }}
            >
              Sign out
            </button>
          )}
        </section>
      </header>
      <main id="main" tabIndex={-1}>
        <Page route={route} />
      </main>
    </SessionContext.Provider>
  );
}
