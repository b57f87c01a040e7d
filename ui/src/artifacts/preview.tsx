/**
 * The preview of one artifact. Bytes come from a presigned URL (same origin locally, S3 on AWS) and are
 * never interpreted as markup in the app's origin: HTML and SVG show as source, and render only on request
 * in an `<iframe sandbox="">` (no scripts, an opaque origin).
 */
import { useState } from 'preact/hooks';
import { ErrorBox, Loading } from '../components/common.js';
import { formatBytes } from '../lib/format.js';
import { useLoad } from '../lib/hooks.js';
import { fetchText, presign, type TextPreview } from './api-artifacts.js';
import { parseDelimited } from './csv.js';
import { summarizeMLmodel } from './mlmodel.js';
import { breadcrumbs, presignedPath } from './paths.js';
import {
  isTextual,
  type PreviewKind,
  previewKind,
  TABLE_PREVIEW_ROWS,
  TEXT_PREVIEW_BYTES,
} from './preview-kind.js';

interface Loaded {
  url: string;
  size?: number;
  text?: TextPreview;
}

function Truncated(props: { text: TextPreview }) {
  if (!props.text.truncated) return null;
  return (
    <p class="muted small" role="note">
      Truncated: showing the first {formatBytes(TEXT_PREVIEW_BYTES)}
      {props.text.size !== undefined ? ` of ${formatBytes(props.text.size)}` : ''}. Download the file for all
      of it.
    </p>
  );
}

function TextBlock(props: { text: string; label: string }) {
  return (
    <section aria-label={props.label}>
      <pre class="artifact-text">{props.text}</pre>
    </section>
  );
}

function JsonPreview(props: { text: TextPreview; name: string }) {
  let pretty: string | undefined;
  try {
    pretty = JSON.stringify(JSON.parse(props.text.text), null, 2);
  } catch {
    pretty = undefined;
  }
  return (
    <>
      {pretty === undefined && <p class="muted small">Not valid JSON; shown as text.</p>}
      <TextBlock text={pretty ?? props.text.text} label={props.name} />
    </>
  );
}

function TablePreview(props: { text: TextPreview; delimiter: string; name: string }) {
  const { rows, complete } = parseDelimited(
    props.text.text,
    props.delimiter,
    TABLE_PREVIEW_ROWS + 1,
    props.text.truncated,
  );
  const [header = [], ...body] = rows;
  const width = Math.max(header.length, ...body.map((row) => row.length));
  const columns = Array.from({ length: width }, (_, i) => header[i] ?? '');
  return (
    <>
      <p class="muted small">
        {complete ? `${body.length} rows` : `First ${body.length} rows`}, {width} columns
      </p>
      <div class="artifact-table-wrap">
        <table class="grid artifact-table">
          <caption class="visually-hidden">{props.name}</caption>
          <thead>
            <tr>
              {columns.map((column, i) => (
                <th key={i} scope="col">
                  {column}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {body.map((row, r) => (
              <tr key={r}>
                {columns.map((_, i) => (
                  <td key={i}>{row[i] ?? ''}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}

function MLmodelPreview(props: { text: TextPreview; name: string }) {
  const summary = summarizeMLmodel(props.text.text);
  return (
    <>
      <dl class="mlmodel-summary">
        <dt>Flavors</dt>
        <dd>{summary.flavors.length > 0 ? summary.flavors.join(', ') : '—'}</dd>
        {summary.inputs && (
          <>
            <dt>Inputs</dt>
            <dd>{summary.inputs.join(', ')}</dd>
          </>
        )}
        {summary.outputs && (
          <>
            <dt>Outputs</dt>
            <dd>{summary.outputs.join(', ')}</dd>
          </>
        )}
        {!summary.inputs && !summary.outputs && (
          <>
            <dt>Signature</dt>
            <dd>none</dd>
          </>
        )}
      </dl>
      <TextBlock text={props.text.text} label={props.name} />
    </>
  );
}

/** Source by default; a frame with an empty sandbox (no scripts, opaque origin) when asked for. */
function MarkupPreview(props: { text: TextPreview; name: string; kind: 'html' | 'svg' }) {
  const [render, setRender] = useState(false);
  return (
    <>
      <div class="run-toolbar">
        <button type="button" aria-pressed={render} onClick={() => setRender(!render)}>
          {render ? 'Show source' : 'Render sandboxed'}
        </button>
        <span class="muted small">
          {props.kind.toUpperCase()} is never rendered in this page; the sandboxed frame runs no scripts.
        </span>
      </div>
      {render ? (
        <iframe
          class="artifact-frame"
          sandbox=""
          srcdoc={props.text.text}
          title={`${props.name} (sandboxed)`}
        />
      ) : (
        <TextBlock text={props.text.text} label={props.name} />
      )}
    </>
  );
}

function Body(props: { kind: PreviewKind; loaded: Loaded; name: string; onShowText: () => void }) {
  const { kind, loaded, name } = props;
  const text = loaded.text;
  if (kind === 'image') {
    return (
      <div class="artifact-image">
        <img src={loaded.url} alt={name} />
      </div>
    );
  }
  if (!text) {
    return (
      <div class="artifact-binary">
        <p>
          No preview for this file type{loaded.size !== undefined ? ` (${formatBytes(loaded.size)})` : ''}.
        </p>
        {kind === 'unknown' && (
          <button type="button" onClick={props.onShowText}>
            Show as text
          </button>
        )}
      </div>
    );
  }
  if (text.text === '' && !text.truncated) return <p class="muted">This file is empty.</p>;
  const body = (() => {
    switch (kind) {
      case 'json':
        return <JsonPreview text={text} name={name} />;
      case 'csv':
        return <TablePreview text={text} delimiter="," name={name} />;
      case 'tsv':
        return <TablePreview text={text} delimiter={'\t'} name={name} />;
      case 'mlmodel':
        return <MLmodelPreview text={text} name={name} />;
      case 'html':
      case 'svg':
        return <MarkupPreview text={text} name={name} kind={kind} />;
      default:
        return <TextBlock text={text.text} label={name} />;
    }
  })();
  return (
    <>
      <Truncated text={text} />
      {body}
    </>
  );
}

export function Preview(props: {
  root: string;
  path: string;
  size?: number;
  hrefOf?: (path: string) => string;
  /** Given instead of `hrefOf` when the selection is not in the URL: crumbs are then buttons. */
  onSelect?: (path: string) => void;
}) {
  const [asText, setAsText] = useState(false);
  const detected = previewKind(props.path, props.size);
  const kind: PreviewKind = asText && (detected === 'unknown' || detected === 'binary') ? 'text' : detected;
  const endpoint = presignedPath(props.root, props.path);
  const loaded = useLoad(
    async (signal): Promise<Loaded> => {
      const { url, file_size: fileSize } = await presign(endpoint, signal);
      const size = fileSize === undefined ? props.size : Number(fileSize);
      const text = isTextual(kind) ? await fetchText(url, TEXT_PREVIEW_BYTES, signal, size) : undefined;
      return { url, ...(size === undefined ? {} : { size }), ...(text ? { text } : {}) };
    },
    [endpoint, kind],
  );
  const [downloadError, setDownloadError] = useState<Error>();

  // A fresh URL per click: presigned URLs expire (five minutes), and a page may stay open longer.
  const download = async () => {
    setDownloadError(undefined);
    try {
      window.location.assign((await presign(endpoint)).url);
    } catch (error) {
      setDownloadError(error instanceof Error ? error : new Error(String(error)));
    }
  };

  const crumbs = breadcrumbs(props.path);
  const name = crumbs[crumbs.length - 1]?.name ?? props.path;
  const size = loaded.data?.size ?? props.size;
  return (
    <div class="preview">
      <header class="preview-header">
        <nav aria-label="Artifact path" class="crumbs">
          {crumbs.map((crumb, i) =>
            i === crumbs.length - 1 ? (
              <span key={crumb.path} aria-current="page">
                {crumb.name}
              </span>
            ) : props.onSelect ? (
              <button
                key={crumb.path}
                type="button"
                class="link-button"
                onClick={() => props.onSelect?.(crumb.path)}
              >
                {crumb.name}
              </button>
            ) : (
              <a key={crumb.path} href={props.hrefOf?.(crumb.path)}>
                {crumb.name}
              </a>
            ),
          )}
        </nav>
        <div class="preview-actions">
          {size !== undefined && <span class="muted small">{formatBytes(size)}</span>}
          <button type="button" onClick={() => void download()}>
            Download
          </button>
        </div>
      </header>
      {downloadError && <ErrorBox error={downloadError} />}
      {loaded.error ? (
        <ErrorBox error={loaded.error} onRetry={loaded.reload} />
      ) : !loaded.data || loaded.loading ? (
        <Loading label={`Loading ${name}…`} />
      ) : (
        <Body kind={kind} loaded={loaded.data} name={name} onShowText={() => setAsText(true)} />
      )}
    </div>
  );
}
