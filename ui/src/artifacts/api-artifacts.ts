/** Artifact bytes for previews: the presigned-download endpoint, then the object store itself. */
import { get } from '../lib/api.js';
import { TEXT_PREVIEW_BYTES } from './preview-kind.js';

export interface Presigned {
  url: string;
  file_size?: number | string;
}

/** `{url, file_size}` for a file; `path` comes from paths.ts `presignedPath`. */
export function presign(path: string, signal?: AbortSignal): Promise<Presigned> {
  return get<Presigned>(path, undefined, signal);
}

export interface TextPreview {
  text: string;
  /** Whether the file is longer than what was read. */
  truncated: boolean;
  /** The file's size in bytes, when the store said. */
  size?: number;
}

/**
 * The first `limit` bytes of `url` as UTF-8, with a Range header so a large file is not downloaded whole.
 * No Authorization header: the URL is presigned (and may point at S3, which must not see the token).
 */
export async function fetchText(
  url: string,
  limit = TEXT_PREVIEW_BYTES,
  signal?: AbortSignal,
  knownSize?: number,
): Promise<TextPreview> {
  // A Range on an empty object is unsatisfiable (S3 answers 416; the local store drops the connection).
  if (knownSize === 0) return { text: '', truncated: false, size: 0 };
  const response = await fetch(url, {
    headers: { range: `bytes=0-${limit - 1}` },
    credentials: 'omit',
    signal,
  });
  if (response.status === 416) return { text: '', truncated: false, size: 0 };
  if (!response.ok) throw new Error(`The artifact store answered ${response.status} ${response.statusText}`);
  const range = response.headers.get('content-range');
  const total = range
    ? Number(range.split('/')[1])
    : Number(response.headers.get('content-length') ?? Number.NaN);
  let bytes = new Uint8Array(await response.arrayBuffer());
  // A store that ignores Range sends everything (200); cut it here.
  if (bytes.length > limit) bytes = bytes.subarray(0, limit);
  const size = Number.isFinite(total) ? total : undefined;
  const truncated =
    size !== undefined ? size > bytes.length : response.status === 206 && bytes.length >= limit;
  // `fatal: false` shows a character cut at the limit as U+FFFD instead of failing the preview.
  const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
  return { text, truncated, ...(size === undefined ? {} : { size }) };
}
