/**
 * Which preview a file gets, from its name and size. Pure: unit-tested.
 *
 * HTML and SVG are their own kinds because they are never rendered in the app's origin: they are shown as
 * source, and rendered only on request in a sandboxed frame without scripts or same-origin access.
 */

export type PreviewKind =
  | 'text'
  | 'json'
  | 'yaml'
  | 'mlmodel'
  | 'csv'
  | 'tsv'
  | 'image'
  | 'html'
  | 'svg'
  /** No extension we know: offer size, download, and "show as text". */
  | 'unknown'
  | 'binary';

/** The most of a text file fetched for a preview (a Range request); a bigger file is shown truncated. */
export const TEXT_PREVIEW_BYTES = 1024 * 1024;
/** Images bigger than this are not loaded inline (a person downloads them instead). */
export const IMAGE_PREVIEW_BYTES = 20 * 1024 * 1024;
/** Rows of a CSV/TSV shown as a table. */
export const TABLE_PREVIEW_ROWS = 200;

const TEXT = new Set([
  'txt',
  'log',
  'py',
  'md',
  'markdown',
  'rst',
  'cfg',
  'ini',
  'toml',
  'conf',
  'sh',
  'r',
  'sql',
  'js',
  'ts',
  'java',
  'scala',
  'go',
  'rs',
  'c',
  'h',
  'cpp',
  'ipynb',
  'xml',
  'properties',
  'env',
  'out',
  'err',
]);
const IMAGES = new Set(['png', 'jpg', 'jpeg', 'gif', 'webp']);
const BINARY = new Set([
  'pkl',
  'pickle',
  'joblib',
  'bin',
  'pt',
  'pth',
  'onnx',
  'h5',
  'hdf5',
  'npy',
  'npz',
  'parquet',
  'zip',
  'gz',
  'tgz',
  'tar',
  'whl',
  'so',
  'safetensors',
  'ckpt',
  'pb',
  'tflite',
  'pdf',
  'avro',
  'feather',
  'arrow',
]);
/** Well-known files without a telling extension. */
const BY_NAME: Record<string, PreviewKind> = {
  mlmodel: 'mlmodel',
  mlproject: 'yaml',
  dockerfile: 'text',
  license: 'text',
  readme: 'text',
  makefile: 'text',
};

export function extensionOf(name: string): string {
  const base = name.slice(name.lastIndexOf('/') + 1);
  const dot = base.lastIndexOf('.');
  return dot <= 0 ? '' : base.slice(dot + 1).toLowerCase();
}

/** The preview for a file named `name` (a path or a base name) of `size` bytes (undefined if unknown). */
export function previewKind(name: string, size?: number): PreviewKind {
  const base = name.slice(name.lastIndexOf('/') + 1);
  const byName = BY_NAME[base.toLowerCase()];
  if (byName) return byName;
  const ext = extensionOf(base);
  if (IMAGES.has(ext)) return size !== undefined && size > IMAGE_PREVIEW_BYTES ? 'binary' : 'image';
  if (ext === 'svg') return 'svg';
  if (ext === 'html' || ext === 'htm') return 'html';
  // A truncated JSON document cannot be parsed: past the limit it is shown as plain text.
  if (ext === 'json') return size !== undefined && size > TEXT_PREVIEW_BYTES ? 'text' : 'json';
  if (ext === 'yaml' || ext === 'yml') return 'yaml';
  if (ext === 'csv') return 'csv';
  if (ext === 'tsv') return 'tsv';
  if (TEXT.has(ext)) return 'text';
  if (BINARY.has(ext)) return 'binary';
  return 'unknown';
}

/** Whether a preview of this kind reads the file's bytes as text. */
export function isTextual(kind: PreviewKind): boolean {
  return kind !== 'image' && kind !== 'binary' && kind !== 'unknown';
}
