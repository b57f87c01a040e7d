import type { IncomingMessage } from 'node:http';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { buildEvent } from '../../../local/front.js';

function request(headers: Record<string, string>): IncomingMessage {
  return {
    method: 'POST',
    url: '/v1/traces',
    httpVersion: '1.1',
    headers: { host: 'localhost', ...headers },
    socket: {},
  } as unknown as IncomingMessage;
}

describe('the event the local front builds', () => {
  it('passes a JSON body as text', () => {
    const body = Buffer.from('{"resourceSpans":[]}');
    const { event } = buildEvent(request({ 'content-type': 'application/json' }), body);
    expect(event.isBase64Encoded).toBe(false);
    expect(event.body).toBe('{"resourceSpans":[]}');
  });

  it('passes UTF-8 text as text, whatever its characters', () => {
    const text = '{"name":"ü 名前 😀"}';
    const { event } = buildEvent(
      request({ 'content-type': 'application/json; charset=utf-8' }),
      Buffer.from(text),
    );
    expect(event.isBase64Encoded).toBe(false);
    expect(event.body).toBe(text);
  });

  it('passes a text body that is not UTF-8 as base64, byte for byte', () => {
    const body = Buffer.from('caf\xe9;na\xefve\n', 'latin1');
    const { event } = buildEvent(request({ 'content-type': 'text/csv' }), body);
    expect(event.isBase64Encoded).toBe(true);
    expect(Buffer.from(event.body as string, 'base64').equals(body)).toBe(true);
  });

  it('passes an encoded JSON body as base64, byte for byte', () => {
    const body = gzipSync('{"resourceSpans":[]}');
    const { event } = buildEvent(
      request({ 'content-type': 'application/json', 'content-encoding': 'gzip' }),
      body,
    );
    expect(event.isBase64Encoded).toBe(true);
    expect(Buffer.from(event.body as string, 'base64').equals(body)).toBe(true);
  });
});
