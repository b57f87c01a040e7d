/**
 * Modal dialogs for the write actions (create, rename, delete, restore). The native <dialog> with
 * showModal() gives focus trapping, Escape to close and an inert page behind it for free.
 */
import type { ComponentChildren } from 'preact';
import { useEffect, useId, useRef, useState } from 'preact/hooks';
import { ErrorBox } from '../components/common.js';
import { type ActionFailure, actionFailure } from '../lib/messages.js';

export function Modal(props: { title: string; onClose: () => void; children: ComponentChildren }) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
    return () => dialog?.close();
  }, []);
  return (
    <dialog ref={ref} class="modal" aria-labelledby={titleId} onClose={props.onClose}>
      <h2 id={titleId}>{props.title}</h2>
      {props.children}
    </dialog>
  );
}

/** Asks before a destructive action; the action's error (e.g. 403) is shown in the dialog. */
export function ConfirmDialog(props: {
  title: string;
  message: ComponentChildren;
  confirmLabel: string;
  danger?: boolean;
  onConfirm: () => Promise<void>;
  onClose: () => void;
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error>();
  return (
    <Modal title={props.title} onClose={props.onClose}>
      <div class="modal-body">{props.message}</div>
      {error && <ErrorBox error={error} />}
      <div class="modal-actions">
        <button type="button" onClick={props.onClose} disabled={busy}>
          Cancel
        </button>
        <button
          type="button"
          class={props.danger ? 'primary danger-fill' : 'primary'}
          disabled={busy}
          onClick={async () => {
            setBusy(true);
            setError(undefined);
            try {
              await props.onConfirm();
              props.onClose();
            } catch (caught) {
              setError(caught instanceof Error ? caught : new Error(String(caught)));
              setBusy(false);
            }
          }}
        >
          {busy ? 'Working…' : props.confirmLabel}
        </button>
      </div>
    </Modal>
  );
}

/**
 * One text field and a submit button (create, rename). The server decides what a valid name is: its
 * 400 message is shown under the field, so the rules live in one place.
 */
export function NameDialog(props: {
  title: string;
  label: string;
  initial?: string;
  submitLabel: string;
  onSubmit: (value: string) => Promise<void>;
  onClose: () => void;
  /** What the action is, for a refusal: "rename this experiment". */
  action?: string;
}) {
  const [value, setValue] = useState(props.initial ?? '');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ActionFailure>();
  const inputId = useId();
  const errorId = useId();
  return (
    <Modal title={props.title} onClose={props.onClose}>
      <form
        class="modal-form"
        onSubmit={async (event) => {
          event.preventDefault();
          setBusy(true);
          setError(undefined);
          try {
            await props.onSubmit(value);
            props.onClose();
          } catch (caught) {
            setError(actionFailure(caught, props.action ?? props.submitLabel.toLowerCase()));
            setBusy(false);
          }
        }}
      >
        <label for={inputId}>{props.label}</label>
        <input
          id={inputId}
          value={value}
          autoComplete="off"
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? errorId : undefined}
          onInput={(event) => setValue(event.currentTarget.value)}
        />
        {error && (
          <p id={errorId} class="error-text" role="alert">
            {error.text}
            {error.detail && <span class="muted small error-detail"> ({error.detail})</span>}
          </p>
        )}
        <div class="modal-actions">
          <button type="button" onClick={props.onClose} disabled={busy}>
            Cancel
          </button>
          <button type="submit" class="primary" disabled={busy}>
            {busy ? 'Saving…' : props.submitLabel}
          </button>
        </div>
      </form>
    </Modal>
  );
}
