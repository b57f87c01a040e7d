/**
 * Forced interleavings for store races: a document client that runs a hook before each command it sends
 * (`proxied`), a one-shot gate, and `holding`, a client whose first matching command (once armed) waits until
 * released, so that another writer can run in between. Two repositories on two such clients stand for two
 * processes, each with its own kept items.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/** A gate: `arrived` resolves once `reached()` is called, `opened` once `open()` is. */
export function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  let reached!: () => void;
  const arrived = new Promise<void>((resolve) => {
    reached = resolve;
  });
  return { open, opened, reached, arrived };
}

/** `doc`, with `onSend` awaited before each command is sent (`send` sends another command unhooked). */
export function proxied(
  doc: DynamoDBDocumentClient,
  onSend: (command: unknown, send: (command: unknown) => Promise<unknown>) => Promise<void>,
): DynamoDBDocumentClient {
  return new Proxy(doc, {
    get(target, property, receiver) {
      if (property !== 'send') return Reflect.get(target, property, receiver);
      return async (command: unknown) => {
        await onSend(command, (other) => target.send(other as never));
        return target.send(command as never);
      };
    },
  }) as DynamoDBDocumentClient;
}

/**
 * `doc`, holding the first command matching `match` after it is armed (armed from the start unless
 * `armed: false`) until `release()`; `held` resolves once that command waits.
 */
export function holding(
  doc: DynamoDBDocumentClient,
  match: (command: unknown) => boolean,
  options: { armed?: boolean } = {},
) {
  const hold = gate();
  let armed = options.armed ?? true;
  return {
    doc: proxied(doc, async (command) => {
      if (!armed || !match(command)) return;
      armed = false;
      hold.reached();
      await hold.opened;
    }),
    held: hold.arrived,
    release: hold.open,
    arm: () => {
      armed = true;
    },
  };
}
