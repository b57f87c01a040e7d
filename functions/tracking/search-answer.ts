/**
 * Search answers that must fit a Lambda response (6 MB). The domain's search pipeline sizes the page
 * (shared/domain/search/pipeline.ts) with the measure made here: each item is serialized once, measured
 * as Lambda returns it, and the answer is joined from the same strings.
 */
import { JSON_HEADERS } from '../../shared/api/http.js';

/**
 * Lambda limits the response envelope, in which the body is a JSON string escaped once more (a `"` in
 * a tag takes 4 bytes there, a control character 7): an item costs the UTF-8 bytes of its JSON escaped
 * again, less the two quotes, plus `separatorBytes` (the runs search counts the comma, the logged
 * model search does not; each keeps its measure so that its pages end where they always did).
 */
export function searchSerializer<T extends object>(toJson: (item: T) => unknown, separatorBytes: number) {
  const serialized = new Map<T, string>();
  const json = (item: T): string => {
    let text = serialized.get(item);
    if (text === undefined) {
      text = JSON.stringify(toJson(item));
      serialized.set(item, text);
    }
    return text;
  };
  return { json, sizeOf: (item: T) => Buffer.byteLength(JSON.stringify(json(item))) - 2 + separatorBytes };
}

/** `{"<field>":[...],"next_page_token":"..."}`, either part left out when empty, as MLflow answers. */
export function searchAnswer(field: string, items: readonly string[], nextPageToken: string | undefined) {
  const parts = [
    ...(items.length > 0 ? [`"${field}":[${items.join(',')}]`] : []),
    ...(nextPageToken ? [`"next_page_token":${JSON.stringify(nextPageToken)}`] : []),
  ];
  return { statusCode: 200, headers: { ...JSON_HEADERS }, body: `{${parts.join(',')}}` };
}
