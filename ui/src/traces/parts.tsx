/** Pieces the traces tab and the trace page share: state badges and the bounded value viewer. */
import { useMemo, useState } from 'preact/hooks';
import { displayValue, SHOWN_CHARS, type SpanStatus, stateLabel, type TraceState } from './model.js';
import './traces.css';

/** A state in colour and in words (colour alone says nothing to a screen reader or a colour-blind eye). */
export function StateBadge(props: { state: TraceState | SpanStatus }) {
  const { state } = props;
  return <span class={`trace-state trace-state-${state}`}>{stateLabel(state)}</span>;
}

/**
 * A value (span inputs, outputs, a long attribute): pretty JSON, cut at a few thousand characters with
 * "Show all", so a 2 MB input costs the page no more than a small one until someone asks for all of it.
 */
export function ValueView(props: { value: string; label: string }) {
  const [all, setAll] = useState(false);
  const shown = useMemo(
    () => displayValue(props.value, all ? Number.POSITIVE_INFINITY : undefined),
    [props.value, all],
  );
  return (
    <figure class="value-view">
      <figcaption class="visually-hidden">{props.label}</figcaption>
      {/* A whole long value is not wrapped: wrapping 2 MB costs Chromium seconds of layout, one line does not. */}
      <pre class={all && shown.total > SHOWN_CHARS ? 'value-text value-long' : 'value-text'}>
        {shown.text}
        {shown.truncated && '…'}
      </pre>
      {shown.truncated && (
        <p class="small muted value-more">
          Showing {shown.text.length.toLocaleString()} of {shown.total.toLocaleString()} characters.{' '}
          <button type="button" class="link-button" onClick={() => setAll(true)}>
            Show all
          </button>
        </p>
      )}
    </figure>
  );
}
