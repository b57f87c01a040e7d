/**
 * Stands in for `@smithy/core/event-streams` in the Lambda bundles (an esbuild alias in
 * infra/constructs/bundling.ts). Event streams serve operations such as S3 SelectObjectContent, which
 * Cairn never calls; the SDK's protocol base class loads the codec with a dynamic import, which makes
 * esbuild wrap (and keep) it and much of what it touches: ~27 KB of each bundle. The clients still
 * construct (they resolve an event stream marshaller at start-up); an event stream operation would fail.
 */
const unavailable = (): never => {
  throw new Error('Event streams are not bundled (infra/lambda/no-event-streams.ts)');
};

export const resolveEventStreamSerdeConfig = <T extends object>(input: T): T => input;
export const eventStreamSerdeProvider = () => ({ serialize: unavailable, deserialize: unavailable });

export class EventStreamSerde {
  constructor() {
    unavailable();
  }
}
