/**
 * A stand-in X-Ray daemon for tests: a UDP socket on 127.0.0.1 that keeps every datagram, checks the
 * daemon's header line on each, and parses the segment document after it. The header is read as JSON,
 * as the daemon reads it: the X-Ray SDK writes it without the spaces AWS's documentation shows.
 */
import { createSocket } from 'node:dgram';
import type { AddressInfo } from 'node:net';

/** A datagram's header line, or undefined when its first line is not `{"format": "json", "version": 1}`. */
function documentAfterHeader(text: string): string | undefined {
  const newline = text.indexOf('\n');
  if (newline < 0) return undefined;
  try {
    const header = JSON.parse(text.slice(0, newline)) as { format?: unknown; version?: unknown };
    return header.format === 'json' && header.version === 1 ? text.slice(newline + 1) : undefined;
  } catch {
    return undefined;
  }
}

export interface XrayDocument {
  type?: string;
  name: string;
  id: string;
  trace_id: string;
  parent_id: string;
  start_time: number;
  end_time?: number;
  in_progress?: boolean;
  namespace?: string;
  aws?: Record<string, unknown>;
  http?: { response?: { status?: number; content_length?: number } };
  error?: boolean;
  fault?: boolean;
  throttle?: boolean;
  cause?: { exceptions: { message: string; type: string; remote: boolean }[] };
  annotations?: Record<string, unknown>;
  metadata?: Record<string, unknown>;
}

export interface XrayDaemon {
  /** For AWS_XRAY_DAEMON_ADDRESS. */
  address: string;
  documents: XrayDocument[];
  /** Datagrams whose first line was not the daemon's JSON header. */
  malformed: string[];
  /** Resolves once `count` documents with this trace id have arrived (the test's timeout bounds it). */
  waitFor(traceId: string, count: number): Promise<XrayDocument[]>;
  close(): Promise<void>;
}

export async function startXrayDaemon(): Promise<XrayDaemon> {
  const socket = createSocket('udp4');
  const documents: XrayDocument[] = [];
  const malformed: string[] = [];
  const waiters = new Set<() => void>();
  socket.on('message', (message) => {
    const text = message.toString('utf8');
    const document = documentAfterHeader(text);
    if (document === undefined) malformed.push(text);
    else documents.push(JSON.parse(document) as XrayDocument);
    for (const wake of waiters) wake();
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { port } = socket.address() as AddressInfo;
  const ofTrace = (traceId: string) => documents.filter((document) => document.trace_id === traceId);
  return {
    address: `127.0.0.1:${port}`,
    documents,
    malformed,
    waitFor: (traceId, count) =>
      new Promise((resolve) => {
        const check = () => {
          const found = ofTrace(traceId);
          if (found.length < count) return;
          waiters.delete(check);
          resolve(found);
        };
        waiters.add(check);
        check();
      }),
    close: () => new Promise((resolve) => socket.close(() => resolve())),
  };
}
