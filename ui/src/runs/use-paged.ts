/**
 * A list read page by page with next_page_token (experiments, runs). A change of query aborts whatever
 * is in flight and reads page 1 again; until it answers, the old items stay on screen, and if it fails
 * (a 400 for a bad filter) they stay with the error beside them. "More" always continues the query
 * whose items are shown, never a half-applied new one.
 */
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';

export interface Page<T> {
  items: T[];
  next?: string | undefined;
}

export type FetchPage<T> = (token: string | undefined, signal: AbortSignal) => Promise<Page<T>>;

export interface Paged<T> {
  items: T[];
  /** A token for more, when the shown query has more. */
  next: string | undefined;
  loading: boolean;
  /** Page 1 of the current query has not answered yet; the items (if any) belong to the previous one. */
  stale: boolean;
  /** Page 1 has never answered for this list. */
  initial: boolean;
  error: Error | undefined;
  /** The error came from reading page 1 of a new query (so it concerns the query, e.g. its filter). */
  queryError: boolean;
  loadMore: () => void;
  reload: () => void;
}

interface State<T> {
  items: T[];
  next: string | undefined;
  loading: boolean;
  stale: boolean;
  initial: boolean;
  error: Error | undefined;
  queryError: boolean;
}

const asError = (error: unknown) => (error instanceof Error ? error : new Error(String(error)));
const aborted = (error: unknown) => error instanceof DOMException && error.name === 'AbortError';

export function usePaged<T>(fetchPage: FetchPage<T>, deps: readonly unknown[]): Paged<T> {
  const [state, setState] = useState<State<T>>({
    items: [],
    next: undefined,
    loading: true,
    stale: true,
    initial: true,
    error: undefined,
    queryError: false,
  });
  const [generation, setGeneration] = useState(0);
  const stateRef = useRef(state);
  stateRef.current = state;
  const inflight = useRef<AbortController | undefined>(undefined);
  // The fetcher of the query whose items are shown: "more" continues it.
  const shown = useRef<FetchPage<T> | undefined>(undefined);

  useEffect(() => {
    inflight.current?.abort();
    const controller = new AbortController();
    inflight.current = controller;
    setState((previous) => ({
      ...previous,
      loading: true,
      stale: true,
      error: undefined,
      queryError: false,
    }));
    fetchPage(undefined, controller.signal).then(
      (page) => {
        if (controller.signal.aborted) return;
        shown.current = fetchPage;
        setState({
          items: page.items,
          next: page.next || undefined,
          loading: false,
          stale: false,
          initial: false,
          error: undefined,
          queryError: false,
        });
      },
      (error: unknown) => {
        if (controller.signal.aborted || aborted(error)) return;
        setState((previous) => ({
          ...previous,
          loading: false,
          stale: false,
          error: asError(error),
          queryError: true,
        }));
      },
    );
    return () => controller.abort();
  }, [...deps, generation]);

  const loadMore = useCallback(() => {
    const current = stateRef.current;
    const fetcher = shown.current;
    if (current.loading || !current.next || !fetcher) return;
    const controller = new AbortController();
    inflight.current = controller;
    const token = current.next;
    // Marked at once: a second scroll event before the next render must not fetch the same page again.
    stateRef.current = { ...current, loading: true };
    setState((previous) => ({ ...previous, loading: true, error: undefined, queryError: false }));
    fetcher(token, controller.signal).then(
      (page) => {
        if (controller.signal.aborted) return;
        setState((previous) => ({
          ...previous,
          items: previous.items.concat(page.items),
          next: page.next || undefined,
          loading: false,
        }));
      },
      (error: unknown) => {
        if (controller.signal.aborted || aborted(error)) return;
        setState((previous) => ({ ...previous, loading: false, error: asError(error), queryError: false }));
      },
    );
  }, []);

  const reload = useCallback(() => setGeneration((value) => value + 1), []);
  return { ...state, loadMore, reload };
}
