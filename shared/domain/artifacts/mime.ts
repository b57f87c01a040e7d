/**
 * How MLflow's server labels an artifact it sends (`mlflow/utils/mime_type_utils.py` and werkzeug's
 * `send_file`): text-like extensions and the MLmodel/MLproject files as `text/plain`, the rest by
 * extension, anything unknown as bytes; always as an attachment, so a stored page or image never runs as
 * part of a page of the server's origin (or the bucket's).
 */

/** MLflow's list: read as text whatever their real type (JavaScript included: it must never execute). */
const TEXT_EXTENSIONS = new Set([
  'txt',
  'log',
  'err',
  'cfg',
  'conf',
  'cnf',
  'cf',
  'ini',
  'properties',
  'prop',
  'hocon',
  'toml',
  'yaml',
  'yml',
  'xml',
  'json',
  'js',
  'py',
  'py3',
  'csv',
  'tsv',
  'md',
  'rst',
  'MLmodel',
  'mlproject',
]);

/** What Python's `mimetypes.guess_type` answers for the extensions artifacts commonly have. */
const BY_EXTENSION: Record<string, string> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  bmp: 'image/bmp',
  webp: 'image/webp',
  tif: 'image/tiff',
  tiff: 'image/tiff',
  ico: 'image/vnd.microsoft.icon',
  svg: 'image/svg+xml',
  html: 'text/html',
  htm: 'text/html',
  css: 'text/css',
  pdf: 'application/pdf',
  zip: 'application/zip',
  tar: 'application/x-tar',
  wav: 'audio/x-wav',
  mp3: 'audio/mpeg',
  mp4: 'video/mp4',
  webm: 'video/webm',
  ipynb: 'application/json',
  h5: 'application/x-hdf5',
};

/** The file's MIME type as MLflow's server reports it. */
export function guessMimeType(fileName: string): string {
  const dot = fileName.lastIndexOf('.');
  // Python's splitext: a leading dot (`.env`) is no extension, and a name without one is looked up whole.
  const extension = dot > 0 ? fileName.slice(dot + 1) : fileName;
  if (TEXT_EXTENSIONS.has(extension)) return 'text/plain';
  return BY_EXTENSION[extension.toLowerCase()] ?? 'application/octet-stream';
}

/** RFC 7230 token characters: such a value needs no quotes (werkzeug's `quote_header_value`). */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * `Content-Disposition: attachment` naming the file as werkzeug does: `filename=<name>` (quoted when it
 * holds more than token characters), plus `filename*` in UTF-8 when the name is not ASCII.
 */
export function attachmentDisposition(fileName: string): string {
  const quoted = (value: string) =>
    TOKEN.test(value) ? value : `"${value.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
  if (/^[\x20-\x7e]*$/.test(fileName)) return `attachment; filename=${quoted(fileName)}`;
  const simple = fileName.normalize('NFKD').replace(/[^\x20-\x7e]/g, '');
  const encoded = encodeURIComponent(fileName).replace(
    /['()*]/g,
    (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `attachment; filename=${quoted(simple || 'download')}; filename*=UTF-8''${encoded}`;
}
